import ArgumentParser
import FoundationEssentials
import Glibc
import PostCall

@main
struct PostCallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postcall",
        abstract: "Delivers IVR post-call webservices from a SQLite or PostgreSQL outbox, durably.",
        version: PostCallVersion.current,
        subcommands: [
            MigrateCommand.self, WebserviceCommand.self, EnqueueCommand.self, WorkerCommand.self, HistoryCommand.self,
            ShowCommand.self, RetryCommand.self, StatsCommand.self, PruneCommand.self, HealthCommand.self, WSDLCommand.self,
            ConsoleCommand.self,
        ])

    /// Runs the command, mapping failures onto the documented exit codes: 1 when the operation
    /// failed, 2 for bad usage or bad input.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as PostCallError {
            printError("postcall: \(error.message)")
            Glibc.exit(error.isBadInput ? 2 : 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success || code == .failure {
                exit(withError: error)
            }
            printError(fullMessage(for: error))
            Glibc.exit(2)
        }
    }
}

/// `--db`, shared by every subcommand.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The SQLite database file, or a PostgreSQL URI postgresql://user@host/db (env: POSTCALL_DB; default: postcall.db).")
    var db: String = environment("POSTCALL_DB") ?? "postcall.db"

    /// The SQLite file or PostgreSQL database `db` names.
    var location: OutboxLocation { OutboxLocation(db) }

    /// Opens the outbox. Only the commands that set it up (`migrate`, `webservice set`, `enqueue`)
    /// create a missing file: for the others a missing file is a mistyped path, and an empty new
    /// outbox would let a worker idle, or `health` say ok, while events pile up elsewhere. A
    /// PostgreSQL schema is created only by `migrate`.
    func openStore(create: Bool = false) throws -> OutboxStore {
        try OutboxStore(location: location, create: create)
    }
}

/// `--files-dir`, for the commands that read or delete uploaded files.
struct FilesOptions: ParsableArguments {
    @Option(
        name: .customLong("files-dir"),
        help: "A folder uploaded files may be read from and deleted in (repeatable; env POSTCALL_FILES_DIR, colon-separated; default: recordings beside the database).")
    var directories: [String] = []

    /// The folders for `outbox`.
    func access(outbox: OutboxLocation) -> FileAccess {
        let given = directories.isEmpty
            ? (environment("POSTCALL_FILES_DIR") ?? "").split(separator: ":").map(String.init) : directories
        return FileAccess(directories: given, outbox: outbox)
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Create or upgrade the database schema.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let connection: any SQLConnection =
            switch database.location {
            case .sqlite(let path): try Database(path: path, create: true)
            case .postgres(let uri): try PostgresConnection(uri: uri)
            }
        try connection.migrate()
        print("database \(connection.description) is at schema version \(try connection.schemaVersion)")
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
        // Members keep their JSON spelling (a number stays a number); a --var replaces a member.
        var members: [(name: String, json: String)] = []
        if let variablesJSON {
            guard let parsed = try? TemplateValues.variableMembers(variablesJSON) else {
                throw PostCallError(
                    .invalidInput, "--vars-json must be a JSON object of strings, numbers, booleans and null, e.g. '{\"q1\":\"5\"}'")
            }
            members = parsed
        }
        for assignment in variables {
            let (name, value) = try splitAssignment(assignment, option: "--var")
            members.removeAll { $0.name == name }
            members.append((name, "\"" + TemplateEncoding.jsonString.encode(value) + "\""))
        }
        let json = "{" + members.map { "\"" + TemplateEncoding.jsonString.encode($0.name) + "\":" + $0.json }.joined(separator: ",") + "}"
        let id = try database.openStore(create: true).enqueue(webservice: name, callID: callID, reason: reason, variablesJSON: json)
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
