/// Attempts per hour over a recent period: what the console's chart draws.
public struct DeliveryActivity: Sendable, Equatable {
    /// One hour: attempts that delivered, and attempts that did not (retried or given up).
    public struct Hour: Sendable, Equatable {
        public var start: Milliseconds
        public var delivered: Int
        public var failed: Int
    }

    /// Oldest first, one per hour, the last ending at the time asked for.
    public var hours: [Hour]
}

extension OutboxStore {
    /// Attempts per hour over the `hours` hours before `now`, read through the attempts'
    /// start-time index.
    public func deliveryActivity(hours: Int = 24, now: Milliseconds = Timestamp.now()) throws -> DeliveryActivity {
        let hourLength: Milliseconds = 3_600_000
        let start = now - Milliseconds(hours) * hourLength
        var buckets = (0..<hours).map { DeliveryActivity.Hour(start: start + Milliseconds($0) * hourLength, delivered: 0, failed: 0) }
        for (bucket, outcome, count) in try database.query(
            """
            SELECT (started_at - ?) / \(hourLength), outcome, count(*) FROM attempts
            WHERE started_at >= ? AND started_at < ? GROUP BY 1, 2
            """, [.integer(start), .integer(start), .integer(now)], row: { ($0.int64(0), $0.text(1), Int($0.int64(2))) })
        {
            guard bucket >= 0, bucket < Int64(hours) else { continue }
            if AttemptRecord.Outcome(rawValue: outcome) == .delivered {
                buckets[Int(bucket)].delivered += count
            } else {
                buckets[Int(bucket)].failed += count
            }
        }
        return DeliveryActivity(hours: buckets)
    }
}
