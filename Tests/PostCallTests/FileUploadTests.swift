import Foundation
import XCTest

@testable import PostCall

/// Files uploaded from disk (issue 12), delivered to werkzeug's server and multipart parser on
/// 127.0.0.1 by real worker processes, on both backends.
final class FileUploadTests: EndToEndTestCase {
    private var receiver: TestHTTPServer!
    /// The folder files are read from: `recordings` beside a SQLite database (the default), given
    /// with `--files-dir` on PostgreSQL (whose default, /var/lib/postcall/recordings, is the host's).
    private var recordings: String!

    override func prepareServers() throws {
        receiver = try TestHTTPServer(scratch: scratch, script: "multipart_server.py")
        recordings = scratch.path("recordings")
        try FileManager.default.createDirectory(atPath: recordings, withIntermediateDirectories: true)
    }

    override func tearDown() {
        receiver = nil
        super.tearDown()
    }

    /// What the commands that read or delete files need besides `--db`.
    private var filesDirectory: [String] { backend == .postgres ? ["--files-dir", recordings] : [] }

    override func run(_ arguments: [String]) throws -> CommandResult {
        try super.run(arguments + (["stats", "prune"].contains(arguments.first) ? filesDirectory : []))
    }

    @discardableResult
    private func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = recordings + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    /// Bytes that break naive multipart handling: CR/LF, a boundary-like line, NUL, high bytes.
    private func recording(size: Int = 300_000) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = Array("RIFF\r\n--------------------------boundary\r\n\0\0".utf8)
        while bytes.count < size { bytes.append(UInt8.random(in: 0...255, using: &generator)) }
        return bytes
    }

    private func sha256(_ bytes: [UInt8]) throws -> String {
        let path = scratch.path("hash-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return String(try runProcess("/usr/bin/sha256sum", [path]).stdout.prefix(64))
    }

    private func deliver(_ ids: [Int64], arguments: [String] = []) throws -> [Int64: EventSummary] {
        let worker = try WorkerProcess(
            database: db, logPath: scratch.path("worker-\(UUID().uuidString).log"), arguments: arguments + filesDirectory)
        let events = try waitForFinalStates(store, ids: ids)
        XCTAssertEqual(worker.stop(), 0, worker.output)
        return events
    }

    private func received() throws -> [[String: Any]] { try receiver.logEntries() }

    private func enqueue(_ webservice: String, call: String, _ variables: [String: String]) throws -> Int64 {
        let json = try String(decoding: JSONSerialization.data(withJSONObject: variables), as: UTF8.self)
        return try store.enqueue(webservice: webservice, callID: call, variablesJSON: json)
    }

    // MARK: What arrives

    func testMultipartFilesArriveByteForByteWithTheirTextParts() throws {
        try onEachBackend {
            let wav = recording()
            let ulaw = recording(size: 4_096)
            let other = recording(size: 10)
            let wavPath = try write("message vocal é 1.wav", wav)
            try write("greeting.ul", ulaw)
            try write("notes.bin", other)
            let tricky = "a&b=c \"quoted\" ü €"
            try set(["voicemail", "--method", "POST", "--url", "\(receiver.baseURL)/vm", "--param", "caller={{ani}}",
                     "--param", "box=7", "--file", "recording={{path}}", "--file", "greeting=greeting.ul",
                     "--file", "notes=\(recordings!)/notes.bin"])
            try set(["replace", "--method", "PUT", "--url", "\(receiver.baseURL)/put", "--file", "recording={{path}}", "--keep-files"])
            // Both webservices get the call's recording; the second keeps it.
            let id = try enqueue("voicemail", call: "c1", ["ani": tricky, "path": wavPath])
            let put = try enqueue("replace", call: "c1", ["path": wavPath])
            let events = try deliver([id, put])
            XCTAssertEqual(events[id]?.state, .delivered, "\(String(describing: events[id]?.lastError))")
            XCTAssertEqual(events[put]?.state, .delivered, "\(String(describing: events[put]?.lastError))")
            XCTAssertTrue(FileManager.default.fileExists(atPath: wavPath), "kept for the event whose webservice keeps files")

            let posted = try XCTUnwrap(try received().first { $0["path"] as? String == "/vm" })
            XCTAssertEqual(posted["method"] as? String, "POST")
            XCTAssertEqual(posted["form"] as? [[String]], [["caller", tricky], ["box", "7"]])
            let files = try XCTUnwrap(posted["files"] as? [[String: Any]])
            XCTAssertEqual(files.count, 3)
            let expected: [(String, String, String, [UInt8])] = [
                ("recording", "message vocal é 1.wav", "audio/wav", wav), ("greeting", "greeting.ul", "audio/basic", ulaw),
                ("notes", "notes.bin", "application/octet-stream", other),
            ]
            for ((field, name, type, bytes), file) in zip(expected, files) {
                XCTAssertEqual(file["field"] as? String, field)
                XCTAssertEqual(file["filename"] as? String, name)
                XCTAssertEqual(file["content_type"] as? String, type)
                XCTAssertEqual(file["size"] as? Int, bytes.count)
                XCTAssertEqual(file["sha256"] as? String, try sha256(bytes), "\(name) must arrive byte for byte")
            }
            // The history names the files, never their bytes.
            let request = try XCTUnwrap(try store.attempts(eventID: id).first?.request)
            XCTAssertEqual(request.files?.map(\.name), ["message vocal é 1.wav", "greeting.ul", "notes.bin"])
            XCTAssertEqual(request.files?.first?.size, Int64(wav.count))
            XCTAssertFalse(request.body.contains("RIFF"))

            let replaced = try XCTUnwrap(try received().first { $0["path"] as? String == "/put" })
            XCTAssertEqual(replaced["method"] as? String, "PUT")
            XCTAssertEqual((replaced["files"] as? [[String: Any]])?.first?["sha256"] as? String, try sha256(wav))
        }
    }

    func testRawBodiesFromATemplateOrAFile() throws {
        try onEachBackend {
            let audio = recording()
            let path = try write("upload.mp3", audio)
            try set(["put-json", "--method", "PUT", "--url", "\(receiver.baseURL)/json", "--header", "Content-Type: application/json",
                     "--body", #"{"call":"{{call_id}}","note":"{{note}}"}"#, "--param", "v=1"])
            try set(["put-file", "--method", "PUT", "--url", "\(receiver.baseURL)/presigned?sig=abc", "--body-file", "{{path}}", "--keep-files"])
            try set(["raw-file", "--method", "POST_RAW", "--url", "\(receiver.baseURL)/raw", "--header", "Content-Type: application/x-custom",
                     "--body-file", "{{path}}", "--param", "call={{call_id}}", "--keep-files"])
            let ids = [
                try enqueue("put-json", call: "c-1", ["note": "say \"hi\""]), try enqueue("put-file", call: "c-2", ["path": path]),
                try enqueue("raw-file", call: "c-3", ["path": path]),
            ]
            let events = try deliver(ids)
            for id in ids { XCTAssertEqual(events[id]?.state, .delivered, "\(String(describing: events[id]?.lastError))") }
            let entries = try received()
            func entry(_ path: String) throws -> [String: Any] { try XCTUnwrap(entries.first { $0["path"] as? String == path }) }
            func header(_ entry: [String: Any], _ name: String) -> String? {
                (entry["headers"] as? [[String]])?.first { $0[0].lowercased() == name.lowercased() }?[1]
            }
            let json = try entry("/json")
            XCTAssertEqual(json["method"] as? String, "PUT")
            XCTAssertEqual(json["body_sha256"] as? String, try sha256(Array(#"{"call":"c-1","note":"say \"hi\""}"#.utf8)))
            XCTAssertEqual(json["query"] as? String, "v=1")
            let file = try entry("/presigned")
            XCTAssertEqual(file["method"] as? String, "PUT")
            XCTAssertEqual(file["body_sha256"] as? String, try sha256(audio))
            XCTAssertEqual(header(file, "Content-Type"), "audio/mpeg")
            let raw = try entry("/raw")
            XCTAssertEqual(raw["method"] as? String, "POST")
            XCTAssertEqual(raw["body_sha256"] as? String, try sha256(audio))
            XCTAssertEqual(header(raw, "Content-Type"), "application/x-custom")
            XCTAssertEqual(raw["query"] as? String, "call=c-3")
        }
    }

    // MARK: What is refused

    func testPathsOutsideTheAllowedFoldersAreRefusedForGood() throws {
        try onEachBackend {
            try write("inside.wav", [1, 2, 3])
            try FileManager.default.createSymbolicLink(atPath: recordings + "/escape.wav", withDestinationPath: "/etc/hostname")
            try FileManager.default.createDirectory(atPath: recordings + "/folder.wav", withIntermediateDirectories: true)
            XCTAssertEqual(try runProcess("/usr/bin/mkfifo", [recordings + "/pipe.wav"]).status, 0)
            try FileManager.default.createSymbolicLink(atPath: recordings + "/zero.wav", withDestinationPath: "/dev/zero")
            try set(["vm", "--method", "POST", "--url", "\(receiver.baseURL)/vm", "--file", "f={{path}}"])
            let databaseFile: [(path: String, error: String)] = [
                ("../outbox.db", "file refused: file outbox.db is outside the folders"),
                ("\(recordings!)/../outbox.db", "file refused: file outbox.db is outside the folders"),
            ]
            let cases: [(path: String, error: String)] = (backend == .sqlite ? databaseFile : []) + [
                ("/etc/passwd", "file refused: file passwd is outside the folders"),
                ("escape.wav", "file refused: file escape.wav is outside the folders"),
                ("zero.wav", "file refused: file zero.wav is outside the folders"),
                ("folder.wav", "file refused: file folder.wav is not a regular file"),
                ("pipe.wav", "file refused: file pipe.wav is not a regular file"),
            ]
            var ids: [Int64: String] = [:]
            for (index, row) in cases.enumerated() { ids[try enqueue("vm", call: "c\(index)", ["path": row.path])] = row.error }
            let events = try deliver(Array(ids.keys))
            for (id, error) in ids {
                XCTAssertEqual(events[id]?.state, .dead)
                XCTAssertEqual(events[id]?.lastError?.hasPrefix(error), true, "\(String(describing: events[id]?.lastError))")
                XCTAssertFalse(events[id]?.lastError?.contains(scratch.directory.path) ?? true, "the folder layout stays out of the error")
                XCTAssertEqual(try store.attempts(eventID: id).count, 1, "refused for good, not retried")
            }
            XCTAssertTrue(try received().isEmpty, "nothing was sent")
            XCTAssertTrue(FileManager.default.fileExists(atPath: "/etc/hostname"))

            // With the database's own folder allowed, the database and its attempt log are still
            // never sent.
            guard backend == .sqlite else { return }
            let id = try enqueue("vm", call: "db", ["path": scratch.databasePath])
            let logID = try enqueue("vm", call: "log", ["path": Database.attemptLogPath(ofOutbox: scratch.databasePath)])
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("db.log"), arguments: ["--files-dir", scratch.directory.path])
            let shown = try waitForFinalStates(store, ids: [id, logID])
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(shown[id]?.lastError, "file refused: file outbox.db is the outbox database; it is never sent")
            XCTAssertEqual(shown[logID]?.lastError, "file refused: file outbox.db-attempts is the outbox database; it is never sent")
        }
    }

    func testAMissingFileIsRetriedUntilItAppears() throws {
        try onEachBackend {
            try set(["vm", "--method", "POST", "--url", "\(receiver.baseURL)/vm", "--file", "f={{path}}"])
            let path = recordings + "/late.wav"
            let id = try enqueue("vm", call: "c", ["path": path])
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"),
                arguments: ["--retry-first-delay", "100ms", "--retry-max-delay", "200ms"] + filesDirectory)
            try waitUntil { try !store.attempts(eventID: id).isEmpty }
            let first = try XCTUnwrap(try store.attempts(eventID: id).first)
            XCTAssertEqual(first.outcome, .retry)
            XCTAssertEqual(first.error?.hasPrefix("file missing: file late.wav does not exist (yet)"), true, "\(String(describing: first.error))")
            XCTAssertFalse(first.error?.contains(recordings) ?? true)
            let bytes = recording()
            try write("late.wav", bytes)
            let events = try waitForFinalStates(store, ids: [id])
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(events[id]?.state, .delivered)
            XCTAssertEqual(((try received().first?["files"]) as? [[String: Any]])?.first?["sha256"] as? String, try sha256(bytes))
        }
    }

    // MARK: Lifecycle

    func testFilesAreDeletedKeptOrKeptForRetryAsSpecified() throws {
        try onEachBackend {
            for name in ["plain", "keep", "dead", "secret-dead", "secret", "shared"] { try write("\(name).wav", recording(size: 1_000)) }
            try set(["plain", "--url", "\(receiver.baseURL)/ok", "--file", "f={{path}}"])
            try set(["keep", "--url", "\(receiver.baseURL)/ok", "--file", "f={{path}}", "--keep-files"])
            try set(["refusing", "--url", "\(receiver.baseURL)/status/400", "--file", "f={{path}}"])
            try set(["secret-refusing", "--url", "\(receiver.baseURL)/status/400", "--file", "f={{path}}", "--private", "--keep-files"])
            try set(["secret", "--url", "\(receiver.baseURL)/ok", "--file", "f={{path}}", "--private", "--keep-files"])
            try set(["crm", "--url", "\(receiver.baseURL)/ok", "--file", "f={{path}}"])
            try set(["archive", "--url", "\(receiver.baseURL)/status/503", "--file", "f={{path}}"])
            func file(_ name: String) -> String { recordings + "/\(name).wav" }
            let plain = try enqueue("plain", call: "a", ["path": file("plain")])
            let keep = try enqueue("keep", call: "b", ["path": file("keep")])
            let dead = try enqueue("refusing", call: "c", ["path": file("dead")])
            let secretDead = try enqueue("secret-refusing", call: "d", ["path": file("secret-dead")])
            let secret = try enqueue("secret", call: "e", ["path": file("secret")])
            // Two webservices for one call share its recording.
            let sharedFirst = try enqueue("crm", call: "shared", ["path": file("shared")])
            let sharedSecond = try enqueue("archive", call: "shared", ["path": file("shared")])

            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"), arguments: filesDirectory)
            _ = try waitForFinalStates(store, ids: [plain, keep, dead, secretDead, secret, sharedFirst])
            try waitUntil { try !store.attempts(eventID: sharedSecond).isEmpty }
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertFalse(FileManager.default.fileExists(atPath: file("plain")), "deleted once delivered")
            XCTAssertTrue(FileManager.default.fileExists(atPath: file("keep")), "--keep-files")
            XCTAssertTrue(FileManager.default.fileExists(atPath: file("dead")), "a dead event keeps its file for retry")
            XCTAssertFalse(FileManager.default.fileExists(atPath: file("secret-dead")), "private: deleted once dead")
            XCTAssertFalse(FileManager.default.fileExists(atPath: file("secret")), "private: deleted once delivered, keep or not")
            XCTAssertTrue(FileManager.default.fileExists(atPath: file("shared")), "the other event of the call still needs it")
            XCTAssertEqual(try store.event(id: sharedSecond)?.state, .pending)

            let stats = try run(["stats", "--format", "json"])
            let waiting = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(waiting["files_waiting"] as? Int, 2, "the shared file and the dead event's")
            XCTAssertEqual(waiting["files_waiting_bytes"] as? Int, 2_000)

            // The archive comes back: the last event that needed the shared file is delivered.
            try set(["archive", "--url", "\(receiver.baseURL)/ok"])
            XCTAssertEqual(try run(["retry", String(sharedSecond)]).status, 0)
            _ = try deliver([sharedSecond])
            XCTAssertFalse(FileManager.default.fileExists(atPath: file("shared")))

            // prune deletes the kept files of the events it removes.
            try store.database.run("UPDATE outbox SET created_at = 0 WHERE id = ?", [.integer(keep)])
            let pruned = try run(["prune", "--older-than", "1d"])
            XCTAssertEqual(pruned.status, 0, pruned.stderr)
            XCTAssertTrue(pruned.stdout.contains("and 1 file"), pruned.stdout)
            XCTAssertFalse(FileManager.default.fileExists(atPath: file("keep")))
            XCTAssertTrue(FileManager.default.fileExists(atPath: file("dead")), "dead events are not pruned")
        }
    }

    func testAWorkerKilledDuringAnUploadLosesNothing() throws {
        try onEachBackend {
            let bytes = recording(size: 8 << 20)
            let path = try write("long message.wav", bytes)
            // The receiver waits 2 s before reading, so the upload is under way when the worker dies.
            try set(["vm", "--url", "\(receiver.baseURL)/sleep/2000", "--file", "f={{path}}", "--timeout", "4"])
            let id = try enqueue("vm", call: "c", ["path": path])
            let killed = try WorkerProcess(
                database: db, logPath: scratch.path("killed.log"), arguments: ["--lease-grace", "1s"] + filesDirectory)
            try waitUntil { try store.event(id: id)?.state == .inFlight }
            killed.killHard()
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), "a killed upload leaves its file")

            let events = try deliver([id], arguments: ["--lease-grace", "1s"])
            XCTAssertEqual(events[id]?.state, .delivered)
            let uploads = try received().compactMap { ($0["files"] as? [[String: Any]])?.first }
            XCTAssertEqual(uploads.last?["sha256"] as? String, try sha256(bytes))
            XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        }
    }

    // MARK: Configuration

    func testBodiesAndFilesOnlyWhereTheRequestTypeTakesThem() throws {
        try onEachBackend {
            let refused: [[String]] = [
                ["a", "--method", "GET", "--url", "http://127.0.0.1/x", "--file", "f=x.wav"],
                ["b", "--method", "POST_RAW", "--url", "http://127.0.0.1/x", "--file", "f=x.wav"],
                ["c", "--method", "POST", "--url", "http://127.0.0.1/x", "--body-file", "x.wav"],
                ["d", "--method", "DELETE", "--url", "http://127.0.0.1/x", "--body", "x"],
                ["e", "--method", "PUT", "--url", "http://127.0.0.1/x", "--body", "x", "--body-file", "x.wav"],
                ["f", "--method", "POST", "--url", "http://127.0.0.1/x", "--file", "f=x.wav", "--header", "Content-Type: text/plain"],
            ]
            for arguments in refused {
                let result = try run(["webservice", "set"] + arguments)
                XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains("webservice \(arguments[0]):"), result.stderr)
            }
            try set(["ok", "--method", "PUT", "--url", "http://127.0.0.1/x", "--body-file", "{{recording}}", "--keep-files"])
            let shown = try run(["webservice", "show", "ok"])
            XCTAssertTrue(shown.stdout.contains("body file:     {{recording}}"), shown.stdout)
            XCTAssertTrue(shown.stdout.contains("kept once delivered"), shown.stdout)
        }
    }
}
