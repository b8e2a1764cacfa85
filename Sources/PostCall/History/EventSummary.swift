/// An event as `history` and `show` report it. The JSON keys are part of the outside interface.
public struct EventSummary: Codable, Sendable, Equatable {
    public var id: Int64
    public var webservice: String
    public var callID: String
    public var reason: String
    public var state: String
    public var attempts: Int
    public var createdAt: String
    public var deliveredAt: String?
    public var nextAttemptAt: String?
    public var lastError: String?

    enum CodingKeys: String, CodingKey {
        case id, webservice, reason, state, attempts
        case callID = "call_id"
        case createdAt = "created_at"
        case deliveredAt = "delivered_at"
        case nextAttemptAt = "next_attempt_at"
        case lastError = "last_error"
    }

    public func encode(to encoder: any Encoder) throws {
        // Absent values are written as null, so every key is always present for programs.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(webservice, forKey: .webservice)
        try container.encode(callID, forKey: .callID)
        try container.encode(reason, forKey: .reason)
        try container.encode(state, forKey: .state)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(deliveredAt, forKey: .deliveredAt)
        try container.encode(nextAttemptAt, forKey: .nextAttemptAt)
        try container.encode(lastError, forKey: .lastError)
    }
}

/// One attempt in `show`'s `attempt_log`.
public struct AttemptSummary: Codable, Sendable, Equatable {
    public var attempt: Int
    public var startedAt: String
    public var durationMilliseconds: Int64
    public var worker: String
    public var httpStatus: Int?
    public var outcome: String
    public var error: String?
    /// `nil` for a private webservice, whose requests are never kept.
    public var request: ExchangeSummary?
    public var response: ExchangeSummary?

    enum CodingKeys: String, CodingKey {
        case attempt, worker, outcome, error, request, response
        case startedAt = "started_at"
        case durationMilliseconds = "duration_ms"
        case httpStatus = "http_status"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(durationMilliseconds, forKey: .durationMilliseconds)
        try container.encode(worker, forKey: .worker)
        try container.encode(httpStatus, forKey: .httpStatus)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(error, forKey: .error)
        try container.encodeIfPresent(request, forKey: .request)
        try container.encodeIfPresent(response, forKey: .response)
    }
}

/// What `history` (and `retry` by filter) selects. Every field narrows the result; `nil` means any.
public struct HistoryFilter: Sendable {
    public var callID: String?
    public var webservice: String?
    public var state: String?
    public var since: Milliseconds?
    public var until: Milliseconds?
    public var limit: Int

    public init(
        callID: String? = nil, webservice: String? = nil, state: String? = nil, since: Milliseconds? = nil,
        until: Milliseconds? = nil, limit: Int = 50
    ) {
        self.callID = callID
        self.webservice = webservice
        self.state = state
        self.since = since
        self.until = until
        self.limit = limit
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
            clauses.append(OutboxStore.states.first { $0 == state }.map { "state = '\($0)'" } ?? "0")
        }
        if let since {
            clauses.append("created_at >= ?")
            values.append(.integer(since))
        }
        if let until {
            clauses.append("created_at < ?")
            values.append(.integer(until))
        }
        return (clauses.isEmpty ? "1" : clauses.joined(separator: " AND "), values)
    }

    /// Newest first. For the short-lived states the order is written `+created_at` so SQLite
    /// reads their small partial index and sorts, instead of walking all history by creation time.
    var newestFirst: String {
        state == "pending" || state == "in_flight" ? "+created_at DESC, id DESC" : "created_at DESC, id DESC"
    }
}
