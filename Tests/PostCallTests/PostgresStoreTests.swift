import Foundation
import XCTest

@testable import PostCall

/// The fleet's PostgreSQL outbox (issue 13), against a real server: the schema and its
/// migrations, and the IVR's plain INSERT with the database refusing bad input.
final class PostgresStoreTests: XCTestCase {
    private var uri: String!

    override func setUpWithError() throws {
        uri = try PostgresTestServer.shared.get().createDatabase()
    }

    private func psql(_ sql: String) throws -> CommandResult {
        try PostCallTests.psql(uri, sql)
    }

    func testMigrationsApplyOnceEvenFromManyHostsAtOnce() throws {
        let results = ResultBox<CommandResult?>()
        let uri: String = self.uri
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                try PostgresConnection(uri: uri).migrate()
                results.append(CommandResult(status: 0, stdout: "", stderr: ""))
            } catch {
                results.append(CommandResult(status: 1, stdout: "", stderr: "\(error)"))
            }
        }
        XCTAssertEqual(results.values.compactMap { $0?.stderr }.filter { !$0.isEmpty }, [], "every concurrent start succeeds")
        let connection = try PostgresConnection(uri: uri)
        XCTAssertEqual(try connection.schemaVersion, Migration.postgres.map(\.version).max())
        XCTAssertEqual(try connection.query("SELECT count(*) FROM postcall_schema") { $0.int64(0) }, [Int64(Migration.postgres.count)])
        XCTAssertEqual(try connection.query("SELECT length(outbox_id) FROM outbox_meta") { $0.int64(0) }, [32])
    }

    /// As on SQLite: an attempt whose lease another worker took over is in the history with its
    /// outcome not applied, and recording an attempt again adds no second row.
    func testAStaleOutcomeIsLoggedButNotAppliedAndEachAttemptOnce() throws {
        try PostgresConnection(uri: uri).migrate()
        let store = try OutboxStore(location: .postgres(uri: uri))
        try store.setWebservice(Webservice(name: "survey", url: "http://127.0.0.1:9/x", timeoutMilliseconds: 5_000))
        let id = try store.enqueue(webservice: "survey", callID: "c")
        let now = Timestamp.now()
        let lost = try XCTUnwrap(try store.claim(owner: "gone", limit: 1, now: now, leaseGrace: 1_000).first)
        let current = try XCTUnwrap(try store.claim(owner: "b", limit: 1, now: now + 6_000).first)
        let delivered = { (entry: ClaimedEntry, worker: String) in
            AttemptRecord(entry: entry, worker: worker, startedAt: now, durationMilliseconds: 1, outcome: .delivered, httpStatus: 200)
        }
        XCTAssertEqual(try store.record([delivered(lost, "gone")]).count, 1, "not applied: another worker owns the event")
        XCTAssertEqual(try store.event(id: id)?.state, .inFlight)
        XCTAssertTrue(try store.record([delivered(current, "b")]).isEmpty)
        XCTAssertEqual(try store.record([delivered(current, "b")]).count, 1, "applied once only")
        XCTAssertEqual(try store.event(id: id)?.state, .delivered)
        XCTAssertEqual(try store.attempts(eventID: id).map(\.worker), ["gone", "b"])
    }

    func testTheIVRsPlainInsertIsAcceptedAndBadInputRefusedByTheDatabase() throws {
        try PostgresConnection(uri: uri).migrate()
        XCTAssertEqual(try psql("INSERT INTO webservices (name, kind, url) VALUES ('survey', 'rest', 'http://127.0.0.1:9/x')").status, 0)
        let accepted = try psql("""
            INSERT INTO outbox (webservice, call_id, reason, variables) VALUES ('survey', 'call-0001', 'hangup', '{"q1":"5","ani":"+15551230000"}')
            """)
        XCTAssertEqual(accepted.status, 0, accepted.stderr)
        let refused: [(String, String)] = [
            ("('nope', 'c', 'hangup', '{}')", "unknown webservice"),
            ("('survey', 'c', 'hangup', 'not json')", "variables must be a JSON object"),
            ("('survey', 'c', 'hangup', '[1]')", "variables must be a JSON object"),
            ("('survey', 'c', 'hangup', '{\"a\":{\"b\":1}}')", "variables must be strings, numbers, booleans or null"),
            ("('survey', 'c', 'hungup', '{}')", "outbox_reason_check"),
        ]
        for (values, message) in refused {
            let result = try psql("INSERT INTO outbox (webservice, call_id, reason, variables) VALUES \(values)")
            XCTAssertNotEqual(result.status, 0, values)
            XCTAssertTrue(result.stderr.contains(message), "\(values): \(result.stderr)")
        }
        for columns in ["state) VALUES ('survey', 'c', 'delivered'", "attempts) VALUES ('survey', 'c', 999",
                        "lease_owner) VALUES ('survey', 'c', 'w'"] {
            let result = try psql("INSERT INTO outbox (webservice, call_id, \(columns))")
            XCTAssertTrue(result.stderr.contains("a new event starts pending"), "\(columns): \(result.stderr)")
        }
        let chosenID = try psql("INSERT INTO outbox (id, webservice, call_id) VALUES (7, 'survey', 'c')")
        XCTAssertNotEqual(chosenID.status, 0, "ids are the database's to hand out")
        let connection = try PostgresConnection(uri: uri)
        XCTAssertEqual(try connection.query("SELECT id, state, attempts FROM outbox") { [$0.int64(0), $0.int64(2)] }, [[1, 0]])
    }

    func testConnectionErrorsNameTheServerWithoutThePassword() throws {
        let port = try PostgresTestServer.shared.get().port
        XCTAssertThrowsError(try PostgresConnection(uri: "postgresql://ivr:s3cret@127.0.0.1:1/outbox")) { error in
            XCTAssertTrue("\(error)".contains("postgresql://ivr:****@127.0.0.1:1/outbox"), "\(error)")
            XCTAssertFalse("\(error)".contains("s3cret"))
        }
        let connection = try PostgresConnection(uri: "postgresql://postgres@127.0.0.1:\(port)/postgres")
        XCTAssertEqual(try connection.query("SELECT ?::int + ?::int, ?, '?'", [.integer(2), .integer(3), .null]) {
            [$0.optionalInt64(0).map(String.init) ?? "-", $0.optionalText(1) ?? "null", $0.text(2)]
        }, [["5", "null", "?"]], "placeholders are numbered outside quotes; NULL stays NULL")
        XCTAssertThrowsError(try connection.execute("SELECT 1/0")) { error in
            XCTAssertEqual((error as? PostCallError)?.code, .invalidInput, "\(error)")
        }
        XCTAssertEqual(PostgresConnection.numberPlaceholders("a = ?1 AND b = ? AND c = '?'"), "a = $1 AND b = $1 AND c = '?'")
    }
}

extension PostgresStoreTests {
    /// `postcall migrate` takes a PostgreSQL URI (or POSTCALL_DB), from many hosts at once.
    func testPostcallMigrateFromManyProcessesAtOnce() throws {
        let uri: String = self.uri
        let results = ResultBox<CommandResult?>()
        DispatchQueue.concurrentPerform(iterations: 6) { index in
            let environment = index % 2 == 0 ? ["POSTCALL_DB": uri] : [:]
            results.append(try? postcall(["migrate"] + (index % 2 == 0 ? [] : ["--db", uri]), environment: environment))
        }
        for result in results.values {
            XCTAssertEqual(result?.status, 0, result?.stderr ?? "no result")
            XCTAssertTrue(result?.stdout.contains("is at schema version \(Migration.postgres.count)") == true, result?.stdout ?? "")
        }
        let history = try postcall(["history", "--db", uri])
        XCTAssertEqual(history.status, 0, "every command works on the migrated database: \(history.stderr)")
    }

    /// A server host that vanishes without a word cannot hang a worker: the connection's socket
    /// probes an idle peer and gives up on unacknowledged data, unless the URI says otherwise.
    func testTheConnectionGivesUpOnASilentServer() throws {
        func option(_ connection: PostgresConnection, _ name: Int32) -> Int32 {
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            XCTAssertEqual(getsockopt(connection.socket, Int32(IPPROTO_TCP), name, &value, &length), 0)
            return value
        }
        let defaults = try PostgresConnection(uri: uri)
        XCTAssertEqual(option(defaults, TCP_KEEPIDLE), 10)
        XCTAssertEqual(option(defaults, TCP_KEEPCNT), 3)
        XCTAssertEqual(option(defaults, TCP_USER_TIMEOUT), 30_000)
        let chosen = try PostgresConnection(uri: uri + "?keepalives_idle=42&tcp_user_timeout=7000")
        XCTAssertEqual(option(chosen, TCP_KEEPIDLE), 42, "the URI wins")
        XCTAssertEqual(option(chosen, TCP_USER_TIMEOUT), 7_000)
    }
}
