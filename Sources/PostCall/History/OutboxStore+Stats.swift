/// What `postcall stats` reports. The JSON keys are stable.
public struct OutboxStats: Codable, Sendable {
    public struct WebserviceCounts: Codable, Sendable {
        public var name: String
        public var pending: Int
        public var inFlight: Int
        public var delivered: Int
        public var dead: Int
        public var consecutiveFailures: Int
        /// Set while the circuit breaker holds the webservice's events back.
        public var pausedUntil: String?

        enum CodingKeys: String, CodingKey {
            case name, pending, delivered, dead
            case inFlight = "in_flight"
            case consecutiveFailures = "consecutive_failures"
            case pausedUntil = "paused_until"
        }
    }

    public struct Window: Codable, Sendable {
        public var window: String
        public var attempts: Int
        public var delivered: Int
        public var retried: Int
        public var failed: Int
        public var deliveriesPerMinute: Double
        /// Failed attempts (retried or given up) over all attempts, 0 when there were none.
        public var failureRate: Double

        enum CodingKeys: String, CodingKey {
            case window, attempts, delivered, retried, failed
            case deliveriesPerMinute = "deliveries_per_minute"
            case failureRate = "failure_rate"
        }
    }

    public struct Lease: Codable, Sendable {
        public var worker: String
        public var inFlight: Int
        public var earliestExpiry: String

        enum CodingKeys: String, CodingKey {
            case worker
            case inFlight = "in_flight"
            case earliestExpiry = "earliest_expiry"
        }
    }

    /// This outbox's id: the first half of every Idempotency-Key it sends.
    public var outboxID: String
    public var states: [String: Int]
    public var webservices: [WebserviceCounts]
    public var windows: [Window]
    public var oldestPendingAgeSeconds: Double?
    public var leases: [Lease]
    /// Uploaded files that events still to be delivered (or retried) wait with, and their bytes.
    public var filesWaiting: Int = 0
    public var filesWaitingBytes: Int64 = 0

    enum CodingKeys: String, CodingKey {
        case states, webservices, windows, leases
        case outboxID = "outbox_id"
        case filesWaiting = "files_waiting"
        case filesWaitingBytes = "files_waiting_bytes"
        case oldestPendingAgeSeconds = "oldest_pending_age_seconds"
    }
}

extension OutboxStore {
    /// Counts, recent rates, the oldest waiting event and the workers holding leases.
    public func stats(now: Milliseconds = Timestamp.now()) throws -> OutboxStats {
        var perWebservice: [String: OutboxStats.WebserviceCounts] = [:]
        for webservice in try database.query(
            "SELECT name, consecutive_failures, paused_until FROM webservices ORDER BY name",
            row: { ($0.text(0), Int($0.int64(1)), $0.optionalInt64(2)) })
        {
            perWebservice[webservice.0] = OutboxStats.WebserviceCounts(
                name: webservice.0, pending: 0, inFlight: 0, delivered: 0, dead: 0, consecutiveFailures: webservice.1,
                pausedUntil: webservice.2.flatMap { $0 > now ? Timestamp.rfc3339($0) : nil })
        }
        func counts(_ name: String) -> OutboxStats.WebserviceCounts {
            perWebservice[name] ?? OutboxStats.WebserviceCounts(
                name: name, pending: 0, inFlight: 0, delivered: 0, dead: 0, consecutiveFailures: 0, pausedUntil: nil)
        }
        // Delivered events are nearly all of history, and no index has their state: counting them
        // by state would read every row. Instead every event is counted in the webservice index
        // (an index-only scan, a fifth of the time) and the short-lived states in their small
        // partial indexes; delivered is what remains. Under concurrent deliveries the statements
        // see slightly different moments, so that difference is kept from going below zero.
        var totals: [String: Int] = [:]
        for (name, count) in try database.query(
            "SELECT webservice, count(*) FROM outbox \(dialect.indexedBy("outbox_webservice_created")) GROUP BY webservice",
            row: { ($0.text(0), Int($0.int64(1))) })
        {
            totals[name] = count
        }
        let shortLived: [(EventState, String, WritableKeyPath<OutboxStats.WebserviceCounts, Int>)] = [
            (.pending, "outbox_pending_due", \.pending), (.inFlight, "outbox_lease_expiry", \.inFlight), (.dead, "outbox_dead_created", \.dead),
        ]
        for (state, index, field) in shortLived {
            // The state is a literal from our own list: SQLite uses a partial index only for a value it sees.
            for (name, count) in try database.query(
                "SELECT webservice, count(*) FROM outbox \(dialect.indexedBy(index)) WHERE state = '\(state.rawValue)' GROUP BY webservice",
                row: { ($0.text(0), Int($0.int64(1))) })
            {
                var row = counts(name)
                row[keyPath: field] = count
                perWebservice[name] = row
            }
        }
        for (name, total) in totals {
            var row = counts(name)
            row.delivered = max(0, total - row.pending - row.inFlight - row.dead)
            perWebservice[name] = row
        }
        let rows = perWebservice.values
        let states: [String: Int] = [
            EventState.pending.rawValue: rows.map(\.pending).reduce(0, +), EventState.inFlight.rawValue: rows.map(\.inFlight).reduce(0, +),
            EventState.delivered.rawValue: rows.map(\.delivered).reduce(0, +), EventState.dead.rawValue: rows.map(\.dead).reduce(0, +),
        ]

        let windows: [(String, Milliseconds)] = [("5m", 300_000), ("1h", 3_600_000), ("24h", 86_400_000)]
        let rates = try windows.map { label, length in
            var outcomes: [String: Int] = [:]
            for (outcome, count) in try database.query(
                "SELECT outcome, count(*) FROM attempts WHERE started_at >= ? GROUP BY outcome", [.integer(now - length)],
                row: { ($0.text(0), Int($0.int64(1))) })
            {
                outcomes[outcome] = count
            }
            let total = outcomes.values.reduce(0, +)
            let delivered = outcomes["delivered"] ?? 0
            return OutboxStats.Window(
                window: label, attempts: total, delivered: delivered, retried: outcomes["retry"] ?? 0,
                failed: outcomes["failed"] ?? 0, deliveriesPerMinute: Double(delivered) / (Double(length) / 60_000),
                failureRate: total == 0 ? 0 : Double(total - delivered) / Double(total))
        }

        let oldest = try database.query("SELECT min(created_at) FROM outbox WHERE state = 'pending'") { $0.optionalInt64(0) }
            .first ?? nil
        let leases = try database.query(
            """
            SELECT lease_owner, count(*), min(lease_expires_at) FROM outbox WHERE state = 'in_flight'
            GROUP BY lease_owner ORDER BY lease_owner
            """
        ) { OutboxStats.Lease(worker: $0.text(0), inFlight: Int($0.int64(1)), earliestExpiry: Timestamp.rfc3339($0.int64(2))) }

        return OutboxStats(
            outboxID: try outboxID(), states: states, webservices: perWebservice.values.sorted { $0.name < $1.name }, windows: rates,
            oldestPendingAgeSeconds: oldest.map { Double(now - $0) / 1000 }, leases: leases)
    }
}

extension OutboxStore {
    /// The cheap part of ``stats(now:)``: counts of the states that have their own index, for
    /// metrics scraped every few seconds. Delivered rows are not counted: that grows forever.
    public func queueDepths(now: Milliseconds = Timestamp.now()) throws -> (counts: [String: Int], oldestPendingAgeSeconds: Double?) {
        let counts = try database.query(
            """
            SELECT (SELECT count(*) FROM outbox \(dialect.indexedBy("outbox_pending_due")) WHERE state = 'pending'),
                   (SELECT count(*) FROM outbox \(dialect.indexedBy("outbox_lease_expiry")) WHERE state = 'in_flight'),
                   (SELECT count(*) FROM outbox \(dialect.indexedBy("outbox_dead_created")) WHERE state = 'dead'),
                   (SELECT min(created_at) FROM outbox \(dialect.indexedBy("outbox_pending_due")) WHERE state = 'pending')
            """
        ) { row in
            (["pending": Int(row.int64(0)), "in_flight": Int(row.int64(1)), "dead": Int(row.int64(2))], row.optionalInt64(3))
        }.first
        return (counts?.0 ?? [:], counts?.1.map { Double(now - $0) / 1000 })
    }
}

extension OutboxStore {
    /// Writes the health row, proving that the database accepts writes (not locked past the busy
    /// timeout, not read-only, disk not full). Throws the reason otherwise.
    public func checkWritable(now: Milliseconds = Timestamp.now()) throws {
        try database.writeTransaction {
            try database.run(
                "INSERT INTO health (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                [.integer(now)])
        }
    }
}
