
/// When to try a transiently failed event again, and when to give up.
///
/// Exponential backoff with full jitter: after the n-th failed attempt the event waits a random
/// time between 1 s and `firstDelay × multiplier^(n-1)`, capped at `maximumDelay` (by default
/// 10 s, 30 s, 90 s, 4.5 min, 13.5 min, 40 min, 2 h, then 4 h). Jitter spreads the retries of
/// events that failed together, so a receiver coming back from an outage is not hit by a wave.
///
/// An event is given up (`dead`) once it has had the webservice's `maxAttempts` attempts *and*
/// is older than its `maxAge` (defaults 12 and 24 h): whichever comes later, so neither a burst of
/// quick failures nor a slow schedule gives up early.
public struct RetryPolicy: Sendable, Equatable {
    public var firstDelay: Milliseconds
    public var multiplier: Double
    public var maximumDelay: Milliseconds
    /// A receiver's `Retry-After` is honoured up to this long.
    public var maximumRetryAfter: Milliseconds

    public init(
        firstDelay: Milliseconds = 10_000, multiplier: Double = 3, maximumDelay: Milliseconds = 4 * 3_600_000,
        maximumRetryAfter: Milliseconds = 3_600_000
    ) {
        self.firstDelay = firstDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// The longest wait after failed attempt number `attempt` (1-based), before jitter.
    public func ceiling(afterAttempt attempt: Int) -> Milliseconds {
        var exponential = Double(firstDelay)
        for _ in 1..<max(1, attempt) where exponential < Double(maximumDelay) { exponential *= multiplier }
        return Milliseconds(min(exponential, Double(maximumDelay)))
    }

    /// The wait after failed attempt number `attempt`. A `Retry-After` longer than the drawn wait
    /// is honoured, up to `maximumRetryAfter`.
    public func delay<Generator: RandomNumberGenerator>(
        afterAttempt attempt: Int, retryAfter: Milliseconds? = nil, using generator: inout Generator
    ) -> Milliseconds {
        let ceiling = ceiling(afterAttempt: attempt)
        let floor = min(1_000, ceiling)
        let jittered = Milliseconds.random(in: floor...ceiling, using: &generator)
        guard let retryAfter, retryAfter > 0 else { return jittered }
        return max(jittered, min(retryAfter, maximumRetryAfter))
    }

    /// ``delay(afterAttempt:retryAfter:using:)`` with the system's random generator.
    public func delay(afterAttempt attempt: Int, retryAfter: Milliseconds? = nil) -> Milliseconds {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, retryAfter: retryAfter, using: &generator)
    }

    /// Whether an event that failed transiently may be tried again: `attempt` counts the attempts
    /// of the current budget, `startedAt` is when that budget began (the event's creation, or its
    /// last manual retry).
    public func mayRetry(attempt: Int, startedAt: Milliseconds, now: Milliseconds, webservice: Webservice) -> Bool {
        attempt < webservice.maxAttempts || now - startedAt < webservice.maxAgeMilliseconds
    }

    /// Parses `Retry-After`: delay-seconds or an HTTP date. A malformed value is ignored.
    public static func retryAfter(_ value: String, now: Milliseconds) -> Milliseconds? {
        let trimmed = value.trimmingWhitespace()
        if let seconds = Milliseconds(trimmed) { return seconds >= 0 ? seconds * 1000 : nil }
        // IMF-fixdate, e.g. `Tue, 25 Nov 2025 14:01:30 GMT`.
        let fields = trimmed.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard fields.count == 6, fields[5] == "GMT", let day = Int(fields[1]),
            let month = months.firstIndex(of: String(fields[2])), let year = Int(fields[3])
        else { return nil }
        let clock = fields[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3,
            let time = Timestamp.utcMilliseconds(
                year: year, month: month + 1, day: day, hour: clock[0], minute: clock[1], second: clock[2])
        else { return nil }
        return max(0, time - now)
    }
}
