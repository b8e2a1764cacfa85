import ArgumentParser
import Foundation
import PostCall

@main
struct PostCallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postcall",
        abstract: "Delivers IVR post-call webservices from a SQLite outbox, durably.",
        subcommands: [
            MigrateCommand.self, WebserviceCommand.self, EnqueueCommand.self, WorkerCommand.self, HistoryCommand.self,
            ShowCommand.self, RetryCommand.self, StatsCommand.self, PruneCommand.self, HealthCommand.self, WSDLCommand.self,
        ])

    /// Runs the command, mapping failures onto the documented exit codes: 1 when the operation
    /// failed, 2 for bad usage or bad input.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as PostCallError {
            FileHandle.standardError.write(Data("postcall: \(error.message)\n".utf8))
            Foundation.exit(error.isBadInput ? 2 : 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success || code == .failure {
                exit(withError: error)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}

/// `--db`, shared by every subcommand.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The SQLite database file (env: POSTCALL_DB; default: postcall.db).")
    var db: String = environment("POSTCALL_DB") ?? "postcall.db"

    func openStore() throws -> OutboxStore { try OutboxStore(path: db) }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Create or upgrade the database schema.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let store = try database.openStore()
        print("database \(database.db) is at schema version \(try store.database.schemaVersion)")
    }
}

struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue", abstract: "Insert a termination event, as the IVR does with SQL; prints its id.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The webservice to deliver to.") var name: String
    @Option(name: .customLong("call-id"), help: "The call's id.") var callID: String
    @Option(help: "hangup or exit.") var reason: String = "hangup"
    @Option(name: .customLong("var"), help: "A variable, name=value (repeatable; wins over --vars-json).")
    var variables: [String] = []
    @Option(name: .customLong("vars-json"), help: "Variables as a JSON object.") var variablesJSON: String?

    func run() throws {
        var merged: [String: Any] = [:]
        if let variablesJSON {
            guard let object = try? JSONSerialization.jsonObject(with: Data(variablesJSON.utf8)) as? [String: Any] else {
                throw PostCallError(.invalidInput, "--vars-json must be a JSON object, e.g. '{\"q1\":\"5\"}'")
            }
            merged = object
        }
        for assignment in variables {
            let (name, value) = try splitAssignment(assignment, option: "--var")
            merged[name] = value
        }
        let json = try JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys])
        let id = try database.openStore().enqueue(
            webservice: name, callID: callID, reason: reason, variablesJSON: String(decoding: json, as: UTF8.self))
        print(id)
    }
}

/// Splits `name=value` at the first `=`.
func splitAssignment(_ text: String, option: String) throws -> (String, String) {
    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
        throw PostCallError(.invalidInput, "\(option) \(text.debugDescription) must look like name=value")
    }
    return (String(text[..<equals]), String(text[text.index(after: equals)...]))
}

/// Encodes a value as pretty, key-sorted JSON for programs.
func printJSON<Value: Encodable>(_ value: Value) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
