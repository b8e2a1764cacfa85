/// An event with its attempt log: the JSON of `show` and of the console's event API.
public struct EventReport: Encodable, Sendable {
    public let event: EventSummary
    public let attemptLog: [AttemptSummary]

    public init(event: EventSummary, attemptLog: [AttemptSummary]) {
        self.event = event
        self.attemptLog = attemptLog
    }

    public func encode(to encoder: any Encoder) throws {
        // The event's own keys at the top level, as INTERFACE.md gives them, then `attempt_log`.
        try event.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(attemptLog, forKey: Key(stringValue: "attempt_log"))
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
