import FoundationEssentials

extension OutboxStore {
    /// Events matching `filter`, newest first.
    public func events(matching filter: HistoryFilter) throws -> [EventSummary] {
        let values = filter.condition().values
        return try database.query(
            Self.historySQL(filter),
            values + [.integer(Int64(max(0, filter.limit)))], row: Self.decodeEvent)
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
