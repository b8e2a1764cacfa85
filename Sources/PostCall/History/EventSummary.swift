/// An event as `history` and `show` report it. The JSON keys are part of the outside interface.
public struct EventSummary: Codable, Sendable, Equatable {
    public var id: Int64
    public var webservice: String
    public var callID: String
    public var reason: String
    public var state: EventState
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
    public var outcome: AttemptRecord.Outcome
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
