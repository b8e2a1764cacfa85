import FoundationEssentials

/// The values a template can use: the event's variables and the built-ins.
///
/// Built-ins (`call_id`, `reason`, `event_id`, `event_key`, `created_at`, `attempt`) take
/// precedence over a variable of the same name, so they always mean what the documentation says.
public struct TemplateValues: Sendable {

    private let variables: [String: String]
    private let callID: String
    private let reason: String
    private let eventID: Int64
    private let createdAt: Milliseconds
    private let attempt: Int
    /// `<outbox id>-<event id>`: the Idempotency-Key, unique across every outbox.
    public let eventKey: String

    public init(
        variables: [String: String], callID: String, reason: String, eventID: Int64, outboxID: String,
        createdAt: Milliseconds, attempt: Int
    ) {
        self.eventKey = outboxID + "-" + String(eventID)
        self.variables = variables
        self.callID = callID
        self.reason = reason
        self.eventID = eventID
        self.createdAt = createdAt
        self.attempt = attempt
    }

    /// The value of `name`; a missing variable is the empty string.
    public subscript(name: String) -> String {
        switch name {
        case "call_id": callID
        case "reason": reason
        case "event_id": String(eventID)
        case "event_key": eventKey
        case "created_at": Timestamp.rfc3339(createdAt).replacing(".000Z", with: "Z")
        case "attempt": String(attempt)
        default: variables[name] ?? ""
        }
    }

    /// Checks a JSON object of scalars and returns its members in order, each value as JSON text.
    public static func variableMembers(_ json: String) throws -> [(name: String, json: String)] {
        do {
            return try ScalarJSONObject.members(json)
        } catch {
            throw PostCallError(.invalidInput, "variables are not a JSON object of strings, numbers, booleans and null")
        }
    }

    /// Decodes an event's `variables` column: a JSON object of scalars (see ``ScalarJSONObject``).
    public static func decodeVariables(_ json: String) throws -> [String: String] {
        do {
            return try ScalarJSONObject.parse(json)
        } catch {
            throw PostCallError(.invalidInput, "variables are not a JSON object of strings, numbers, booleans and null")
        }
    }
}
