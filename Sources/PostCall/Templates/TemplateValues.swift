import FoundationEssentials

/// The values a template can use: the event's variables and the built-ins.
///
/// Built-ins (`call_id`, `reason`, `event_id`, `event_key`, `created_at`, `attempt`) take
/// precedence over a variable of the same name, so they always mean what the documentation says.
public struct TemplateValues: Sendable {

    private let variables: Variables
    private let callID: String
    private let reason: String
    private let eventID: Int64
    private let createdAt: Milliseconds
    private let attempt: Int
    /// `<outbox id>-<event id>`: the Idempotency-Key, unique across every outbox.
    public let eventKey: String

    /// The variables as given, or as the event's JSON, each made into text when a template asks.
    private enum Variables: Sendable {
        case given([String: String])
        case json(ScalarJSONObject)
    }

    public init(
        variables: [String: String], callID: String, reason: String, eventID: Int64, outboxID: String,
        createdAt: Milliseconds, attempt: Int
    ) {
        self.init(
            variables: .given(variables), callID: callID, reason: reason, eventID: eventID, outboxID: outboxID,
            createdAt: createdAt, attempt: attempt)
    }

    /// The values of an event whose `variables` column is `variablesJSON`: checked here (see
    /// ``decodeVariables(_:)`` for what is accepted), each made into text only when a template
    /// uses it.
    public init(
        variablesJSON: String, callID: String, reason: String, eventID: Int64, outboxID: String, createdAt: Milliseconds,
        attempt: Int
    ) throws {
        self.init(
            variables: .json(try Self.checkedVariables(variablesJSON)), callID: callID, reason: reason, eventID: eventID,
            outboxID: outboxID, createdAt: createdAt, attempt: attempt)
    }

    private init(
        variables: Variables, callID: String, reason: String, eventID: Int64, outboxID: String, createdAt: Milliseconds,
        attempt: Int
    ) {
        self.eventKey = Self.eventKey(outboxID: outboxID, eventID: eventID)
        self.variables = variables
        self.callID = callID
        self.reason = reason
        self.eventID = eventID
        self.createdAt = createdAt
        self.attempt = attempt
    }

    /// `<outbox id>-<event id>`, made in one allocation: it is every request's Idempotency-Key,
    /// and two string appends cost 1,200 instructions an event.
    static func eventKey(outboxID: String, eventID: Int64) -> String {
        var outboxID = outboxID
        return outboxID.withUTF8 { prefix in
            let length = prefix.count + 1 + DecimalText.length(of: eventID)
            return String(unsafeUninitializedCapacity: length) { buffer in
                guard let base = buffer.baseAddress else { return 0 }
                if let source = prefix.baseAddress { base.update(from: source, count: prefix.count) }
                base[prefix.count] = UInt8(ascii: "-")
                DecimalText.write(eventID, at: base + prefix.count + 1)
                return length
            }
        }
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
        default: variable(name) ?? ""
        }
    }

    private func variable(_ name: String) -> String? {
        switch variables {
        case .given(let values): values[name]
        case .json(let object): object.text(named: name)
        }
    }

    /// Checks a JSON object of scalars and returns its members in order, each value as JSON text.
    public static func variableMembers(_ json: String) throws -> [(name: String, json: String)] {
        try checkedVariables(json).jsonMembers
    }

    /// Decodes an event's `variables` column: a JSON object of scalars (see ``ScalarJSONObject``).
    public static func decodeVariables(_ json: String) throws -> [String: String] {
        try checkedVariables(json).values
    }

    private static func checkedVariables(_ json: String) throws -> ScalarJSONObject {
        do {
            return try ScalarJSONObject(json)
        } catch {
            throw PostCallError(.invalidInput, "variables are not a JSON object of strings, numbers, booleans and null")
        }
    }
}
