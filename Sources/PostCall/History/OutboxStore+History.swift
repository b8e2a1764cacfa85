import FoundationEssentials

extension OutboxStore {
    /// Events matching `filter`, newest first.
    public func events(matching filter: HistoryFilter) throws -> [EventSummary] {
        let values = filter.condition().values
        return try database.query(
            Self.historySQL(filter),
            values + [.integer(Int64(max(0, filter.limit)))], row: Self.decodeEvent)
    }

    /// One page of events matching `filter` (`filter.limit` of them), newest first, and the
    /// cursor of the next page if there is one.
    public func historyPage(matching filter: HistoryFilter) throws -> HistoryPage {
        var probe = filter
        probe.limit = max(1, filter.limit) + 1
        var events = try self.events(matching: probe)
        guard events.count > max(1, filter.limit) else { return HistoryPage(events: events, next: nil) }
        events.removeLast()
        let last = events[events.count - 1]
        guard let createdAt = Timestamp.parseWhen(last.createdAt) else {
            throw PostCallError(.database, "event \(last.id) has an unreadable creation time \(last.createdAt.debugDescription)")
        }
        return HistoryPage(events: events, next: HistoryCursor(createdAt: createdAt, id: last.id))
    }

    /// How many events match `filter` (its limit and cursor aside).
    public func countEvents(matching filter: HistoryFilter) throws -> Int {
        var whole = filter
        whole.after = nil
        let (condition, values) = whole.condition()
        return Int(try database.query("SELECT count(*) FROM outbox WHERE \(condition)", values) { $0.int64(0) }.first ?? 0)
    }

    static func historySQL(_ filter: HistoryFilter) -> String {
        selectEvent + " WHERE \(filter.condition().sql) ORDER BY \(filter.newestFirst) LIMIT ?"
    }

    /// The event with this id, or `nil`.
    public func event(id: Int64) throws -> EventSummary? {
        try database.query(Self.selectEvent + " WHERE id = ?", [.integer(id)], row: Self.decodeEvent).first
    }

    /// Every recorded attempt of an event, oldest first.
    public func attempts(eventID: Int64) throws -> [AttemptSummary] {
        let decoder = JSONDecoder()
        return try database.query(
            """
            SELECT attempt, started_at, duration_ms, worker, http_status, outcome, error, request, response
            FROM attempts WHERE event_id = ? ORDER BY attempt
            """, [.integer(eventID)]
        ) { row in
            AttemptSummary(
                attempt: Int(row.int64(0)), startedAt: Timestamp.rfc3339(row.int64(1)),
                durationMilliseconds: row.int64(2), worker: row.text(3), httpStatus: row.optionalInt64(4).map(Int.init),
                outcome: AttemptRecord.Outcome(rawValue: row.text(5)) ?? .failed, error: row.optionalText(6),
                request: row.optionalText(7).flatMap { try? decoder.decode(ExchangeSummary.self, from: Data($0.utf8)) },
                response: row.optionalText(8).flatMap { try? decoder.decode(ExchangeSummary.self, from: Data($0.utf8)) })
        }
    }

    private static let selectEvent = """
        SELECT id, webservice, call_id, reason, state, attempts, created_at, delivered_at,
               CASE WHEN state = 'pending' THEN next_attempt_at END, last_error
        FROM outbox
        """

    private static func decodeEvent(_ row: any SQLRow) throws -> EventSummary {
        guard let state = EventState(rawValue: row.text(4)) else {
            throw PostCallError(.database, "event \(row.int64(0)) has an unknown state \(row.text(4).debugDescription) in the database")
        }
        return EventSummary(
            id: row.int64(0), webservice: row.text(1), callID: row.text(2), reason: row.text(3), state: state,
            attempts: Int(row.int64(5)), createdAt: Timestamp.rfc3339(row.int64(6)),
            deliveredAt: row.optionalInt64(7).map(Timestamp.rfc3339),
            nextAttemptAt: row.optionalInt64(8).map(Timestamp.rfc3339), lastError: row.optionalText(9))
    }
}
