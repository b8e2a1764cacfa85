/// An event as stored: what its templates render from, and its state.
public struct StoredEvent: Sendable, Equatable {
    public var id: Int64
    public var webservice: String
    public var callID: String
    public var reason: String
    public var variablesJSON: String
    public var createdAt: Milliseconds
    public var attempts: Int
    public var state: EventState

    /// The template values of its next (or last) attempt.
    func templateValues(outboxID: String) throws -> TemplateValues {
        try TemplateValues(
            variablesJSON: variablesJSON, callID: callID, reason: reason, eventID: id, outboxID: outboxID,
            createdAt: createdAt, attempt: max(1, attempts))
    }
}

extension StoredEvent {
    /// A claimed entry as stored, in `state`.
    init(_ entry: ClaimedEntry, state: EventState) {
        self.init(
            id: entry.id, webservice: entry.webservice, callID: entry.callID, reason: entry.reason,
            variablesJSON: entry.variablesJSON, createdAt: entry.createdAt, attempts: entry.attempt, state: state)
    }
}

extension OutboxStore {
    static let storedEventColumns = "id, webservice, call_id, reason, variables, created_at, attempts, state"

    static func storedEvent(_ row: any SQLRow) throws -> StoredEvent {
        guard let state = EventState(rawValue: row.text(7)) else {
            throw PostCallError(.database, "event \(row.int64(0)) has an unknown state \(row.text(7).debugDescription) in the database")
        }
        return StoredEvent(
            id: row.int64(0), webservice: row.text(1), callID: row.text(2), reason: row.text(3), variablesJSON: row.text(4),
            createdAt: row.int64(5), attempts: Int(row.int64(6)), state: state)
    }

    /// Every event of a call, by the call id index: the events that may share its files.
    public func events(ofCall callID: String) throws -> [StoredEvent] {
        try database.query(
            "SELECT \(Self.storedEventColumns) FROM outbox WHERE call_id = ?", [.text(callID)], row: Self.storedEvent)
    }

    /// The events, in `states`, of the webservices that upload files: for `stats`.
    public func eventsWithFiles(in states: [EventState]) throws -> [StoredEvent] {
        let list = states.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        return try database.query(
            """
            SELECT \(Self.storedEventColumns) FROM outbox
            WHERE state IN (\(list))
              AND webservice IN (SELECT name FROM webservices WHERE files <> '[]' OR body_file IS NOT NULL)
            """, row: Self.storedEvent)
    }
}
