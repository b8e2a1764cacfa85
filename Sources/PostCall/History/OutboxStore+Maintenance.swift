import Glibc

/// What `postcall retry` did.
public struct RequeueResult: Sendable, Equatable {
    /// Events now pending and due.
    public var requeued: [Int64] = []
    /// Ids that name no event.
    public var notFound: [Int64] = []
    /// Events being delivered right now; left alone.
    public var inFlight: [Int64] = []
    /// Delivered or dead events of a private webservice: their variables were erased, so
    /// sending them again would send empty values.
    public var erased: [Int64] = []
}

extension OutboxStore {
    /// Rows changed per transaction by `retry` and `prune`, so the IVR never waits long for the lock.
    static let maintenanceBatch = 1000

    /// Makes events pending and due now, with a fresh retry budget (attempts and age count again
    /// from now). Works for dead, pending and delivered events (a replay); refuses in-flight
    /// events and private ones whose data was erased.
    public func requeue(ids: [Int64], now: Milliseconds = Timestamp.now()) throws -> RequeueResult {
        var result = RequeueResult()
        for batchStart in stride(from: 0, to: ids.count, by: Self.maintenanceBatch) {
            let batch = ids[batchStart..<min(ids.count, batchStart + Self.maintenanceBatch)]
            try database.writeTransaction {
                for id in batch {
                    let rows = try database.query(
                        """
                        SELECT outbox.state, coalesce(webservices.private, 0) FROM outbox
                        LEFT JOIN webservices ON webservices.name = outbox.webservice WHERE outbox.id = ?
                        """, [.integer(id)]
                    ) { (EventState(rawValue: $0.text(0)), $0.int64(1) != 0) }
                    guard let (state, isPrivate) = rows.first else {
                        result.notFound.append(id)
                        continue
                    }
                    if state == .inFlight {
                        result.inFlight.append(id)
                    } else if isPrivate && (state == .delivered || state == .dead) {
                        result.erased.append(id)
                    } else {
                        try makeDue(id: id, now: now)
                        result.requeued.append(id)
                    }
                }
            }
        }
        return result
    }

    /// Requeues every event matching `filter` (which must name a state), in batches.
    public func requeue(matching filter: HistoryFilter, now: Milliseconds = Timestamp.now()) throws -> RequeueResult {
        guard let state = filter.state, state != .inFlight else {
            throw PostCallError(
                .invalidInput, "retry by filter needs --state pending, dead or delivered (in-flight events are being delivered)")
        }
        let (condition, values) = filter.condition()
        var result = RequeueResult()
        var lastID: Int64 = 0
        while true {
            let ids = try database.query(
                "SELECT id FROM outbox WHERE \(condition) AND id > ? ORDER BY id LIMIT ?",
                values + [.integer(lastID), .integer(Int64(Self.maintenanceBatch))]
            ) { $0.int64(0) }
            guard let last = ids.last else { break }
            lastID = last
            let batch = try requeue(ids: ids, now: now)
            result.requeued += batch.requeued
            result.inFlight += batch.inFlight
            result.erased += batch.erased
        }
        return result
    }

    private func makeDue(id: Int64, now: Milliseconds) throws {
        try database.run(
            """
            UPDATE outbox SET state = 'pending', next_attempt_at = ?2, retry_base_attempt = attempts, retry_base_at = ?2,
                              delivered_at = NULL, lease_owner = NULL, lease_expires_at = NULL,
                              lost_leases = 0, crash_strikes = 0, lease_solo = 0
            WHERE id = ?1
            """, [.integer(id), .integer(now)])
    }

    /// Deletes delivered events created before `cutoff`, with their attempts, in batches of
    /// ``maintenanceBatch`` rows per transaction. Dead and waiting events are never pruned.
    /// `pruned` gets each batch once it is committed (to delete its files). Returns the number of
    /// events deleted.
    public func pruneDelivered(
        before cutoff: Milliseconds, pauseMicroseconds: UInt32 = 10_000, pruned: ([StoredEvent]) throws -> Void = { _ in }
    ) throws -> Int {
        var deleted = 0
        while true {
            let batch = try database.writeTransaction {
                let events = try database.query(
                    "SELECT \(Self.storedEventColumns) FROM outbox WHERE state = 'delivered' AND created_at < ? ORDER BY created_at LIMIT ?",
                    [.integer(cutoff), .integer(Int64(Self.maintenanceBatch))], row: Self.storedEvent)
                guard !events.isEmpty else { return events }
                let list: SQLValue = .text(Self.jsonArray(events.map(\.id)))
                // On SQLite the attempts are another file, whose commit follows the outbox's: a
                // crash between the two can leave attempts of pruned events, which the history
                // no longer reaches. Never the reverse.
                try database.run("DELETE FROM attempts WHERE event_id \(dialect.inIDs("?"))", [list])
                try database.run("DELETE FROM outbox WHERE id \(dialect.inIDs("?"))", [list])
                return events
            }
            try pruned(batch)
            deleted += batch.count
            if batch.count < Self.maintenanceBatch { return deleted }
            usleep(pauseMicroseconds)
        }
    }
}
