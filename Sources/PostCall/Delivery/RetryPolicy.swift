/// When to try a transiently failed event again.
///
/// Exponential backoff with jitter: the n-th retry waits a random time between half and all of
/// `firstDelay × multiplier^(n-1)`, capped at `maximumDelay`. Jitter spreads the retries of many
/// events that failed together (an outage) so the receiver is not hit by a wave when it returns.
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

    /// The wait after failed attempt number `attempt` (1-based).
    public func delay<Generator: RandomNumberGenerator>(
        afterAttempt attempt: Int, retryAfter: Milliseconds? = nil, using generator: inout Generator
    ) -> Milliseconds {
        var exponential = Double(firstDelay)
        for _ in 1..<max(1, attempt) where exponential < Double(maximumDelay) { exponential *= multiplier }
        let ceiling = Milliseconds(min(exponential, Double(maximumDelay)))
        let jittered = ceiling / 2 + Milliseconds.random(in: 0...(ceiling - ceiling / 2), using: &generator)
        guard let retryAfter, retryAfter > 0 else { return jittered }
        return max(jittered, min(retryAfter, maximumRetryAfter))
    }

    /// The wait after failed attempt number `attempt`, with the system's random generator.
    public func delay(afterAttempt attempt: Int, retryAfter: Milliseconds? = nil) -> Milliseconds {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, retryAfter: retryAfter, using: &generator)
    }
}
