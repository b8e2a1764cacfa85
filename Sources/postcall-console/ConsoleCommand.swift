import ArgumentParser
import FoundationEssentials
import Glibc
import Logging
import PostCall
import PostCallConsole

/// `postcall console`: run by `postcall console …`, which hands its arguments over, so the
/// worker's binary carries no HTTP server.
@main
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postcall console",
        abstract: "The support console: delivery history, events, a dashboard and retries in a browser.",
        version: PostCallVersion.current,
        subcommands: [ServeCommand.self, UserCommand.self],
        defaultSubcommand: ServeCommand.self)

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as PostCallError {
            printError("postcall console: \(error.message)")
            Glibc.exit(error.isBadInput ? 2 : 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success || code == .failure { exit(withError: error) }
            printError(fullMessage(for: error))
            Glibc.exit(2)
        }
    }
}

/// `--db` and `--users`, shared by serving and managing users.
struct ConsoleOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The SQLite database file, or a PostgreSQL URI postgresql://user@host/db (env: POSTCALL_DB; default: postcall.db).")
    var db: String = environment("POSTCALL_DB") ?? "postcall.db"

    @Option(
        name: .customLong("users"),
        help: "The console's users file (env POSTCALL_CONSOLE_USERS; default: console-users beside a SQLite outbox; required with PostgreSQL).")
    var users: String?

    var location: OutboxLocation { OutboxLocation(db) }

    func usersFile() throws -> ConsoleUserFile {
        if let path = users ?? environment("POSTCALL_CONSOLE_USERS") { return ConsoleUserFile(path: path) }
        guard let path = location.besideDatabase("console-users") else {
            throw PostCallError(
                .invalidInput, "with a PostgreSQL outbox, name the users file: --users FILE or POSTCALL_CONSOLE_USERS")
        }
        return ConsoleUserFile(path: path)
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the console (the default).",
        discussion: """
            It listens on 127.0.0.1:8080 unless told otherwise. Put TLS in front with a reverse \
            proxy (README, "The support console"), and pass --secure-cookies there.
            """)

    @OptionGroup var options: ConsoleOptions
    @Option(help: "HOST:PORT to listen on (env POSTCALL_CONSOLE_LISTEN; port 0 picks a free one).")
    var listen: String = environment("POSTCALL_CONSOLE_LISTEN") ?? "127.0.0.1:8080"
    @Flag(name: .customLong("secure-cookies"), help: "Mark cookies Secure: the console is reached over HTTPS through a proxy.")
    var secureCookies = false
    @Option(
        name: .customLong("files-dir"),
        help: "Folders of uploaded files, for the files-waiting count (env POSTCALL_FILES_DIR; default: recordings beside the database).")
    var filesDirectories: [String] = []
    @Option(name: .customLong("log-format"), help: "logfmt or json (env POSTCALL_LOG_FORMAT).")
    var logFormat: String = environment("POSTCALL_LOG_FORMAT") ?? "logfmt"

    func validate() throws {
        guard address() != nil else {
            throw ValidationError("--listen \(listen.debugDescription) must be HOST:PORT, such as 127.0.0.1:8080")
        }
        guard LineLogHandler.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be logfmt or json")
        }
    }

    func address() -> (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port)
        else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        let format = LineLogHandler.Format(rawValue: logFormat) ?? .logfmt
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: format, level: .info) }
        let logger = Logger(label: "postcall.console")
        guard let (host, port) = address() else { return }
        let given = filesDirectories.isEmpty
            ? (environment("POSTCALL_FILES_DIR") ?? "").split(separator: ":").map(String.init) : filesDirectories
        let server = try ConsoleServer(
            configuration: .init(
                host: host, port: port, location: options.location, usersFile: try options.usersFile(),
                secureCookies: secureCookies, filesAccess: FileAccess(directories: given, outbox: options.location)),
            logger: logger)
        let outbox = options.location.description
        try await server.run { boundHost, boundPort in
            logger.info("console listening", metadata: ["url": "http://\(boundHost):\(boundPort)/", "outbox": "\(outbox)"])
        }
    }
}

