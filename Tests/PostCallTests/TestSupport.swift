import Foundation
import XCTest

@testable import PostCall

/// The repository's `Tests/` folder.
let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

/// The `postcall` executable built next to the test bundle.
let postcallExecutable: URL = {
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [bundleDirectory, bundleDirectory.deletingLastPathComponent()] {
        let url = candidate.appendingPathComponent("postcall")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return bundleDirectory.appendingPathComponent("postcall")
}()

/// A fresh directory for one test's database and logs, removed afterwards.
final class Scratch {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("postcall-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var databasePath: String { directory.appendingPathComponent("outbox.db").path }
    /// The outbox, its attempt log and their write-ahead logs: where call data could linger.
    var databaseFiles: [String] {
        let attemptLog = Database.attemptLogPath(ofOutbox: databasePath)
        return [databasePath, databasePath + "-wal", attemptLog, attemptLog + "-wal"]
    }
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// What a finished command printed.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `postcall` with `arguments` to completion.
@discardableResult
func postcall(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
    try runProcess(postcallExecutable.path, arguments, environment: environment)
}

func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    // A command that should exit but runs on (a worker that ignored bad input) is stopped, so the
    // test fails instead of hanging.
    let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
    defer { watchdog.cancel() }
    // Read both pipes before waiting, so a chatty process cannot fill a pipe and stall.
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
        stderr: String(decoding: err, as: UTF8.self))
}

/// A `postcall worker` process.
final class WorkerProcess {
    let process = Process()
    let logPath: String

    init(database: String, logPath: String, arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.logPath = logPath
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: logPath])
        }
        process.executableURL = postcallExecutable
        process.arguments = ["worker", "--db", database] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Sends SIGTERM and waits; returns the exit status.
    func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// A request as the test HTTP server received it.
struct RecordedRequest: Decodable {
    var method: String
    var target: String
    var headers: [[String]]
    var body: String

    func header(_ name: String) -> String? {
        headers.first { $0[0].lowercased() == name.lowercased() }?[1]
    }

    func headerCount(_ name: String) -> Int {
        headers.filter { $0[0].lowercased() == name.lowercased() }.count
    }
}

/// A server from `Tests/Fixtures` on 127.0.0.1: by default the recording HTTP server
/// (`http_recorder.py`); `soap_server.py` is the spyne SOAP server.
final class TestHTTPServer {
    let process = Process()
    let logPath: String
    let port: Int

    /// `arguments` go to the script after its log and lifetime.
    init(scratch: Scratch, script: String = "http_recorder.py", arguments: [String] = []) throws {
        logPath = scratch.path("server-\(UUID().uuidString).jsonl")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", testsDirectory.appendingPathComponent("Fixtures/\(script)").path, "--log", logPath, "--lifetime", "900"]
            + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        var portText = ""
        while !portText.hasSuffix("\n") {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            guard !byte.isEmpty else { break }
            portText += String(decoding: byte, as: UTF8.self)
        }
        guard let port = Int(portText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw PostCallError(.invalidInput, "test HTTP server did not start (printed \(portText.debugDescription))")
        }
        self.port = port
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The server's log lines as JSON objects.
    func logEntries() throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func requests() throws -> [RecordedRequest] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try JSONDecoder().decode(RecordedRequest.self, from: Data($0.utf8)) }
    }
}

/// Waits until every listed event reached a final state (`delivered` or `dead`), or fails the
/// test after `limit` seconds. The limit only guards against a hang; no test asserts on speed.
@discardableResult
func waitForFinalStates(
    _ store: OutboxStore, ids: [Int64], limit: TimeInterval = 60, file: StaticString = #filePath, line: UInt = #line
) throws -> [Int64: EventSummary] {
    let deadline = Date().addingTimeInterval(limit)
    while true {
        var events: [Int64: EventSummary] = [:]
        for id in ids { events[id] = try store.event(id: id) }
        if events.values.allSatisfy({ $0.state == .delivered || $0.state == .dead }) { return events }
        if Date() > deadline {
            XCTFail("events not final after \(limit) s: \(events.values.filter { $0.state != .delivered && $0.state != .dead }.map(\.id))", file: file, line: line)
            return events
        }
        Thread.sleep(forTimeInterval: 0.05)
    }
}

/// Waits until `condition` holds, polling, or fails after `limit` seconds.
func waitUntil(_ limit: TimeInterval = 30, file: StaticString = #filePath, line: UInt = #line, _ condition: () throws -> Bool) rethrows {
    let deadline = Date().addingTimeInterval(limit)
    while try !condition() {
        if Date() > deadline {
            XCTFail("condition not met after \(limit) s", file: file, line: line)
            return
        }
        Thread.sleep(forTimeInterval: 0.05)
    }
}

/// The outbox a test runs against.
enum TestBackend: String, CaseIterable {
    case sqlite, postgres
}

/// A test with its own scratch directory, outbox and recording HTTP server on 127.0.0.1.
///
/// Each test's body runs in ``onEachBackend(_:)``: on a SQLite file, then on a PostgreSQL
/// database of its own (``PostgresTestServer``), with a fresh scratch directory and server each
/// time. A failure names the backend it happened on. (XCTest on Linux neither discovers
/// inherited test methods nor lets a test case run twice, hence the loop in the body.)
class EndToEndTestCase: XCTestCase {
    var scratch: Scratch!
    var server: TestHTTPServer!
    var store: OutboxStore!
    private(set) var backend: TestBackend = .sqlite
    /// What `--db` takes for this test's outbox: the SQLite file's path or the PostgreSQL URI.
    private(set) var db = ""

    /// Runs `body` once per backend, each time on a fresh outbox, scratch directory and server.
    func onEachBackend(_ body: () throws -> Void) throws {
        for backend in TestBackend.allCases { try on(backend, body) }
    }

    /// Runs `body` on a fresh outbox of `backend`, with a fresh scratch directory and server.
    func on(_ backend: TestBackend, _ body: () throws -> Void) throws {
        self.backend = backend
        try prepare()
        defer { release() }
        try body()
    }

    override func recordFailure(withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool) {
        super.recordFailure(withDescription: "[\(backend)] \(description)", inFile: filePath, atLine: lineNumber, expected: expected)
    }

    private func prepare() throws {
        scratch = try Scratch()
        server = try TestHTTPServer(scratch: scratch)
        try prepareServers()
        switch backend {
        case .sqlite:
            db = scratch.databasePath
        case .postgres:
            db = try PostgresTestServer.shared.get().createDatabase()
            try PostgresConnection(uri: db).migrate()
        }
        store = try OutboxStore(location: OutboxLocation(db), create: true)
    }

    /// Starts the servers a test case needs besides the recording one, for each backend's run.
    func prepareServers() throws {}

    private func release() {
        store = nil
        server = nil
        scratch = nil
    }

    override func tearDown() { release() }

    /// Runs `postcall` against this test's outbox.
    func run(_ arguments: [String]) throws -> CommandResult {
        try postcall(arguments + ["--db", db])
    }

    /// `postcall webservice set ARGUMENTS`, which must succeed.
    func set(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(["webservice", "set"] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
    }

    /// A second, empty outbox on the same backend.
    func anotherOutbox() throws -> OutboxStore {
        switch backend {
        case .sqlite:
            return try OutboxStore(path: scratch.path("other-\(UUID().uuidString).db"))
        case .postgres:
            let uri = try PostgresTestServer.shared.get().createDatabase()
            try PostgresConnection(uri: uri).migrate()
            return try OutboxStore(location: .postgres(uri: uri))
        }
    }

    /// Inserts a row as the IVR does, with the database's own command-line client (sqlite3 or
    /// psql), not through postcall.
    func insertAsTheIVR(_ sql: String) throws -> CommandResult {
        switch backend {
        case .sqlite: try runProcess("/usr/bin/sqlite3", [db, sql])
        case .postgres: try psql(db, sql)
        }
    }
}

/// A real PostgreSQL server for the fleet store's tests, started once per test run from Debian's
/// packages in a temporary folder, as an unprivileged user (`nobody` when the tests run as root),
/// listening on 127.0.0.1 only. Each test gets a database of its own.
final class PostgresTestServer: @unchecked Sendable {
    static let shared: Result<PostgresTestServer, any Error> = Result { try PostgresTestServer() }

    let port: Int
    private let directory: String
    private var command: [String] = []
    private var server = Process()

    private init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }).last else {
            throw PostCallError(.database, "PostgreSQL is not installed (apt-get install postgresql); deploy/install-packages.sh installs it")
        }
        let binaries = "/usr/lib/postgresql/\(version)/bin"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("postcall-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // PostgreSQL refuses to run as root. setpriv executes the server itself (no process in
        // between), so stopping it is a signal to the server.
        let unprivileged = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] : []
        if getuid() == 0 { _ = try runProcess("/bin/chown", ["nobody:nogroup", directory]) }
        let initdb = unprivileged + ["\(binaries)/initdb", "-D", "\(directory)/data", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]
        let initialised = try runProcess(initdb[0], Array(initdb.dropFirst()))
        guard initialised.status == 0 else { throw PostCallError(.database, "initdb failed: \(initialised.stderr)") }

        port = Int.random(in: 20_000...60_000)
        command = unprivileged + [
            "\(binaries)/postgres", "-D", "\(directory)/data", "-h", "127.0.0.1", "-p", String(port), "-k", directory,
            "-c", "fsync=off", "-c", "max_connections=200",
        ]
        try launch()
        // Stopped (immediate shutdown) when the test process ends, whatever happens to the tests.
        atexit { if case .success(let server) = PostgresTestServer.shared { server.stop() } }
    }

    private func launch() throws {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: command[0])
        server.arguments = Array(command.dropFirst())
        let log = scratchLog(directory)
        server.standardOutput = log
        server.standardError = log
        try server.run()
        self.server = server
        let deadline = Date().addingTimeInterval(30)
        while (try? PostgresConnection(uri: uri(database: "postgres"))) == nil {
            guard server.isRunning, Date() < deadline else {
                let text = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
                throw PostCallError(.database, "PostgreSQL did not start: \(text)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Kills the server as a crash would (immediate shutdown: every connection dropped, no
    /// checkpoint), keeps it down for `downtime` seconds, and starts it again on the same data.
    func crashAndRestart(downtime: TimeInterval) throws {
        kill(server.processIdentifier, SIGQUIT)
        server.waitUntilExit()
        Thread.sleep(forTimeInterval: downtime)
        try launch()
    }

    func stop() {
        let pid = server.processIdentifier
        if server.isRunning { kill(pid, SIGQUIT) }
        // Its folder goes once it is gone (at most 5 s), or it would write into a deleted tree.
        for _ in 0..<500 where kill(pid, 0) == 0 { usleep(10_000) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A new, empty database; its URI.
    func createDatabase() throws -> String {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try PostgresConnection(uri: uri(database: "postgres")).execute("CREATE DATABASE \(name)")
        return uri(database: name)
    }

    func uri(database: String) -> String { "postgresql://postgres@127.0.0.1:\(port)/\(database)" }
}

/// psql against `uri`, as an IVR or an operator would use it: no start-up file, quiet, stopped
/// at the first error, rows printed bare (a `RETURNING id` prints the id alone). `sql` runs one
/// command; `file` a script.
func psql(_ uri: String, _ sql: String) throws -> CommandResult {
    try runProcess("/usr/bin/psql", psqlOptions + [uri, "-c", sql])
}

func psql(_ uri: String, file: String) throws -> CommandResult {
    try runProcess("/usr/bin/psql", psqlOptions + [uri, "-f", file])
}

private let psqlOptions = ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"]

/// A file handle appending to `directory/server.log`.
private func scratchLog(_ directory: String) -> FileHandle {
    let path = directory + "/server.log"
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    return FileHandle(forWritingAtPath: path) ?? FileHandle.nullDevice
}
