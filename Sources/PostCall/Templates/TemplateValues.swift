import Foundation

/// The values a template can use: the event's variables and the built-ins.
///
/// Built-ins (`call_id`, `reason`, `event_id`, `created_at`, `attempt`) take precedence over a
/// variable of the same name, so they always mean what the documentation says.
public struct TemplateValues: Sendable {
    public static let builtInNames: Set<String> = ["call_id", "reason", "event_id", "created_at", "attempt"]

    private var variables: [String: String]
    private var builtIns: [String: String]

    public init(variables: [String: String], callID: String, reason: String, eventID: Int64, createdAt: Milliseconds, attempt: Int) {
        self.variables = variables
        self.builtIns = [
            "call_id": callID, "reason": reason, "event_id": String(eventID),
            "created_at": Timestamp.rfc3339(createdAt).replacingOccurrences(of: ".000Z", with: "Z"),
            "attempt": String(attempt),
        ]
    }

    /// The value of `name`; a missing variable is the empty string.
    public subscript(name: String) -> String { builtIns[name] ?? variables[name] ?? "" }

    /// Decodes an event's `variables` column: a JSON object of scalars. Integers keep their digits,
    /// booleans become `true`/`false`, null the empty string.
    public static func decodeVariables(_ json: String) throws -> [String: String] {
        do {
            return try JSONDecoder().decode([String: ScalarText].self, from: Data(json.utf8)).mapValues(\.text)
        } catch {
            throw PostCallError(
                .invalidInput, "variables are not a JSON object of strings, numbers, booleans and null")
        }
    }

    /// A JSON scalar as the text a template inserts.
    private struct ScalarText: Decodable {
        let text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                text = ""
            } else if let flag = try? container.decode(Bool.self) {
                text = flag ? "true" : "false"
            } else if let string = try? container.decode(String.self) {
                text = string
            } else if let integer = try? container.decode(Int64.self) {
                text = String(integer)
            } else {
                text = String(try container.decode(Double.self))
            }
        }
    }
}
