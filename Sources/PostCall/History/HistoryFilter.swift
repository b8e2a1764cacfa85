/// What `history` (and `retry` by filter) selects. Every field narrows the result; `nil` means any.
public struct HistoryFilter: Sendable {
    public var callID: String?
    public var webservice: String?
    public var state: EventState?
    public var since: Milliseconds?
    public var until: Milliseconds?
    public var limit: Int
    /// Only events older than this one in the newest-first order: the next page of a search.
    public var after: HistoryCursor?

    public init(
        callID: String? = nil, webservice: String? = nil, state: EventState? = nil, since: Milliseconds? = nil,
        until: Milliseconds? = nil, limit: Int = 50, after: HistoryCursor? = nil
    ) {
        self.callID = callID
        self.webservice = webservice
        self.state = state
        self.since = since
        self.until = until
        self.limit = limit
        self.after = after
    }
}

extension HistoryFilter {
    /// The SQL condition for the filters that are set, with their bound values. Only the set
    /// filters appear, so SQLite can pick the index that matches them (call id, webservice,
    /// state, creation time).
    func condition() -> (sql: String, values: [SQLValue]) {
        var clauses: [String] = []
        var values: [SQLValue] = []
        if let callID {
            clauses.append("call_id = ?")
            values.append(.text(callID))
        }
        if let webservice {
            clauses.append("webservice = ?")
            values.append(.text(webservice))
        }
        if let state {
            // Written as a literal from our own list, not bound: SQLite uses a partial index
            // (`WHERE state = 'dead'`) only when it can see the value at prepare time.
            clauses.append("state = '\(state.rawValue)'")
        }
        if let since {
            clauses.append("created_at >= ?")
            values.append(.integer(since))
        }
        if let until {
            clauses.append("created_at < ?")
            values.append(.integer(until))
        }
        if let after {
            // The first clause alone bounds an index range on created_at; the second orders ties.
            clauses.append("created_at <= ? AND (created_at < ? OR id < ?)")
            values += [.integer(after.createdAt), .integer(after.createdAt), .integer(after.id)]
        }
        return (clauses.isEmpty ? "TRUE" : clauses.joined(separator: " AND "), values)
    }

    /// Newest first. For the short-lived states the order is written `+created_at` so SQLite
    /// reads their small partial index and sorts, instead of walking all history by creation time.
    var newestFirst: String {
        state == .pending || state == .inFlight ? "+created_at DESC, id DESC" : "created_at DESC, id DESC"
    }
}
