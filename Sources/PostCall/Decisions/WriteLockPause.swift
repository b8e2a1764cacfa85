/// How long a worker leaves SQLite's write lock free after one of its transactions, so that an
/// IVR insert that found the lock taken has it at its next look.
///
/// SQLite has one write lock per file, and an insert that finds it taken polls: the busy handler
/// of `sqlite3_busy_timeout` (what IVRs use) sleeps 1 ms, then 2, 5, 10, 15 ms and more between
/// looks. The longer a hold, the longer the sleep of an insert that met it from its start: a hold
/// of 4 ms ends while that insert sleeps 5 ms (its looks are at 3 and 8 ms). A pause as long as
/// that sleep means the insert's next look finds the lock free; a fixed 2.1 ms pause left it to
/// meet the worker's next transaction at 8 ms, and the one after at 18 (inserts of 20 to 106 ms
/// while a worker drained to nginx, measured; 9 to 12 ms at most with this pause).
struct WriteLockPause: Sendable, Equatable {
    /// The sleeps of SQLite's default busy handler between looks, in milliseconds.
    static let busyHandlerSleeps: [UInt64] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100]

    /// The shortest pause: longer than the handler's first two sleeps, so an insert that met a
    /// short hold looks again within it (1.5 ms covered only the first: insert p99 6.1 to 9.8 ms).
    let minimumMicroseconds: UInt64
    /// Added to a sleep, for the insert's own wake-up.
    static let marginMicroseconds: UInt64 = 100

    static let worker = WriteLockPause(minimumMicroseconds: 2_100)

    /// The pause after a transaction that held the lock `hold` microseconds: the handler's sleep
    /// that an insert which met the whole hold is in when the hold ends.
    func microseconds(afterHolding hold: UInt64) -> UInt64 {
        var looked: UInt64 = 0
        for sleep in Self.busyHandlerSleeps {
            looked += sleep * 1_000
            if hold < looked { return max(minimumMicroseconds, sleep * 1_000 + Self.marginMicroseconds) }
        }
        return (Self.busyHandlerSleeps.last ?? 0) * 1_000 + Self.marginMicroseconds
    }
}
