/// A worker's view of its database being unavailable (a full disk, a lock held too long, a
/// PostgreSQL server restarting or failing over): when to try again, and when to say so.
///
/// Retries start fast, since most outages are a failover's few seconds, and back off to
/// ``maximumDelay`` so a fleet of workers does not hammer a server that is struggling to start.
struct StoreOutage: Equatable {
    static let firstDelay: Milliseconds = 250
    static let maximumDelay: Milliseconds = 5_000

    /// Failures in a row; 0 when the database answers.
    private(set) var failures = 0
    /// When to try the database again.
    private(set) var retryAt: Milliseconds = 0

    /// Whether the last call to the database failed.
    var isOngoing: Bool { failures > 0 }

    /// Records a failure at `now`; returns `true` for the first of an outage, the one worth an
    /// error in the log (the rest are debug lines).
    mutating func fail(now: Milliseconds) -> Bool {
        let delay = min(Self.maximumDelay, Self.firstDelay << min(failures, 16))
        failures += 1
        retryAt = now + delay
        return failures == 1
    }

    /// Records that the database answered; returns `true` if that ends an outage (worth a notice).
    mutating func recover() -> Bool {
        defer { failures = 0 }
        return failures > 0
    }
}
