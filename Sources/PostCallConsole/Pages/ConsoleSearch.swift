import PostCall

/// The filters of a search, as they travel in a URL query or a form: the same as `postcall
/// history`'s options. Empty fields count as not given, as a browser sends them.
public struct ConsoleSearch: Codable, Sendable, Equatable {
    public var callID: String?
    public var webservice: String?
    public var state: String?
    public var since: String?
    public var until: String?
    public var cursor: String?

    enum CodingKeys: String, CodingKey {
        case webservice, state, since, until, cursor
        case callID = "call_id"
    }

    public init(
        callID: String? = nil, webservice: String? = nil, state: String? = nil, since: String? = nil, until: String? = nil,
        cursor: String? = nil
    ) {
        self.callID = callID
        self.webservice = webservice
        self.state = state
        self.since = since
        self.until = until
        self.cursor = cursor
    }

    /// The history filter, or an error naming the field that is wrong.
    public func filter(limit: Int, now: Milliseconds = Timestamp.now()) throws -> HistoryFilter {
        var state: EventState?
        if let name = Self.given(self.state) {
            guard let parsed = EventState(rawValue: name) else {
                throw PostCallError(
                    .invalidInput,
                    "state \(name.debugDescription) is none of \(EventState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            state = parsed
        }
        var after: HistoryCursor?
        if let token = Self.given(cursor) {
            guard let parsed = HistoryCursor(token: token) else {
                throw PostCallError(.invalidInput, "cursor \(token.debugDescription) is not one this console made; start the search again")
            }
            after = parsed
        }
        return HistoryFilter(
            callID: Self.given(callID), webservice: Self.given(webservice), state: state,
            since: try Self.when(since, "since", now: now), until: try Self.when(until, "until", now: now), limit: limit,
            after: after)
    }

    /// The query string of this search (without `?`), leaving out empty fields.
    public var query: String {
        let fields: [(String, String?)] = [
            ("call_id", callID), ("webservice", webservice), ("state", state), ("since", since), ("until", until),
            ("cursor", cursor),
        ]
        return fields.compactMap { name, value in
            Self.given(value).map { "\(name)=\(TemplateEncoding.formComponent.encode($0))" }
        }.joined(separator: "&")
    }

    /// The same search narrowed to dead events, from its first page: what a retry by search takes.
    public var deadOnly: ConsoleSearch {
        var dead = self
        dead.state = EventState.dead.rawValue
        dead.cursor = nil
        return dead
    }

    static func given(_ value: String?) -> String? {
        guard let trimmed = value?.trimmingWhitespace(), !trimmed.isEmpty else { return nil }
        return trimmed
    }

    private static func when(_ value: String?, _ field: String, now: Milliseconds) throws -> Milliseconds? {
        guard let text = given(value) else { return nil }
        guard let time = Timestamp.parseWhen(text, now: now) else {
            throw PostCallError(.invalidInput, "\(field) \(text.debugDescription) is neither RFC 3339 nor a duration like 90m, 2h, 7d")
        }
        return time
    }
}
