import Foundation
import XCTest

@testable import PostCall

/// A fleet on one PostgreSQL outbox (issue 13): what only PostgreSQL has. The end-to-end suites
/// (delivery, reliability, support, privacy) run on both backends through `onEachBackend`.
final class PostgresFleetTests: EndToEndTestCase {
    private func psql(_ sql: String, uri: String? = nil) throws -> CommandResult {
        try PostCallTests.psql(uri ?? db, sql)
    }

    /// An insert wakes an idle worker through the trigger's NOTIFY: with a one-hour poll, only
    /// the notification can get the events delivered.
    func testAnInsertWakesAnIdleWorkerThroughListenNotify() throws {
        try on(.postgres) {
            try set(["survey", "--url", "\(server.baseURL)/x", "--param", "call={{call_id}}"])
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"), arguments: ["--poll-interval", "1h"])
            waitUntil { worker.output.contains("wakeup=listen") }
            var ids: [Int64] = []
            for index in 0..<3 {
                // After the worker's first claim found nothing: each of these waits for a wake-up.
                Thread.sleep(forTimeInterval: 0.5)
                let inserted = try psql("INSERT INTO outbox (webservice, call_id) VALUES ('survey', 'call-\(index)') RETURNING id")
                XCTAssertEqual(inserted.status, 0, inserted.stderr)
                ids.append(try XCTUnwrap(Int64(inserted.stdout.trimmingCharacters(in: .whitespacesAndNewlines))))
            }
            let events = try waitForFinalStates(store, ids: ids, limit: 30)
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(ids.map { events[$0]?.state }, [.delivered, .delivered, .delivered])
        }
    }

    /// Workers on three "hosts" while the IVR inserts through psql; the server crashes (every
    /// connection dropped) and stays down for two seconds mid-run. Each worker says so once,
    /// keeps its outcomes, reconnects, and every event is delivered. Their poll interval is an
    /// hour, so the last event, inserted once all is quiet, shows they listen again.
    func testAServerCrashMidRunLosesNothing() throws {
        try on(.postgres) {
            // Leases of 1 s + 2 s: a worker woken by a lease it saw before the crash is awake again
            // within 3 s.
            try set(["survey", "--url", "\(server.baseURL)/sleep/20", "--param", "call={{call_id}}", "--timeout", "1"])
            let workers = try ["host-a", "host-b", "host-c"].map {
                try WorkerProcess(
                    database: db, logPath: scratch.path("\($0).log"),
                    arguments: ["--id", $0, "--concurrency", "8", "--lease-grace", "2s", "--poll-interval", "1h"])
            }
            let firstHalf = try ivrInserts(prefix: "before", count: 400)
            // Half-way through the deliveries, with transfers in flight and outcomes unrecorded.
            waitUntil(60) { (try? store.stats().states["delivered"] ?? 0).map { $0 >= 100 } ?? false }
            try PostgresTestServer.shared.get().crashAndRestart(downtime: 2)
            // The test's own connection learns of the crash from its next statement, which fails
            // (it may have been a write that committed: never replayed); the one after reconnects.
            XCTAssertThrowsError(try store.database.execute("SELECT 1"))
            let secondHalf = try ivrInserts(prefix: "after", count: 200)

            let ids = try store.database.query("SELECT id FROM outbox ORDER BY id") { $0.int64(0) }
            XCTAssertEqual(ids.count, firstHalf + secondHalf)
            let events = try waitForFinalStates(store, ids: ids, limit: 120)
            XCTAssertEqual(events.values.filter { $0.state == .delivered }.count, ids.count)
            let keys = Set(try server.requests().compactMap { $0.header("Idempotency-Key") })
            let outboxID = try store.outboxID()
            XCTAssertEqual(ids.filter { !keys.contains("\(outboxID)-\($0)") }, [], "the receiver saw every event")
            // Quiet: no lease left to expire, no retry due, and past any wake-up planned for a lease
            // seen before (3 s): only a notification can wake a worker now.
            try waitUntil { try store.nextDueTime() == nil }
            Thread.sleep(forTimeInterval: 3.5)
            let last = try psql("INSERT INTO outbox (webservice, call_id) VALUES ('survey', 'last') RETURNING id")
            let lastID = try XCTUnwrap(Int64(last.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), last.stderr)
            XCTAssertEqual(try waitForFinalStates(store, ids: [lastID], limit: 30)[lastID]?.state, .delivered)
            for worker in workers {
                XCTAssertTrue(worker.process.isRunning, "a worker died with the server: \(worker.output)")
                XCTAssertEqual(worker.stop(), 0, worker.output)
                let said = worker.output.components(separatedBy: "\n").filter { $0.contains("level=error") && $0.contains("database unavailable") }
                XCTAssertLessThanOrEqual(said.count, 1, "said once per outage: \(said)")
                let foreign = worker.output.split(separator: "\n").filter { !$0.hasPrefix("ts=") }
                XCTAssertEqual(foreign, [], "every line is the worker's logfmt, none libpq's")
            }
            XCTAssertTrue(workers.contains { $0.output.contains("database available again") }, "at least one worker noticed the outage")
        }
    }

    /// `count` autocommitted INSERTs through psql, as an IVR makes them; returns how many succeeded.
    private func ivrInserts(prefix: String, count: Int) throws -> Int {
        let script = (0..<count).map {
            "INSERT INTO outbox (webservice, call_id, variables) VALUES ('survey', '\(prefix)-\($0)', '{\"q1\":\"5\"}');"
        }.joined(separator: "\n")
        let file = scratch.path("\(prefix).sql")
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try PostCallTests.psql(db, file: file)
        XCTAssertEqual(result.status, 0, result.stderr)
        return count
    }

    /// Without the schema (or with an older one) every command but `migrate` refuses, saying what
    /// to run; the password in the URI is never printed.
    func testAnOutboxWithoutTheSchemaIsRefusedUntilMigrated() throws {
        let empty = try PostgresTestServer.shared.get().createDatabase()
        let withPassword = empty.replacingOccurrences(of: "postgres@", with: "postgres:s3cret@")
        for arguments in [["history"], ["stats"], ["webservice", "list"], ["enqueue", "survey", "--call-id", "c"], ["worker"]] {
            let result = try postcall(arguments + ["--db", withPassword])
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("run `postcall migrate"), "\(arguments): \(result.stderr)")
            XCTAssertFalse(result.stdout.contains("s3cret") || result.stderr.contains("s3cret"), "the password is never printed")
        }
        XCTAssertEqual(try postcall(["migrate", "--db", withPassword]).status, 0)
        let history = try postcall(["history"], environment: ["POSTCALL_DB": withPassword.replacingOccurrences(of: "postgresql://", with: "postgres://")])
        XCTAssertEqual(history.status, 0, history.stderr)
    }

    /// Claiming and every history filter stay on an index with half a million events, most of
    /// them delivered, as in a fleet's long-running outbox (the planner works from statistics).
    func testClaimsAndHistoryFiltersUseIndexesAtScale() throws {
        try on(.postgres) {
            try set(["survey", "--url", "\(server.baseURL)/x"])
            try set(["other", "--url", "\(server.baseURL)/y"])
            try store.database.execute(
                """
                SET session_replication_role = replica;
                INSERT INTO outbox (webservice, call_id, state, attempts, created_at, next_attempt_at, delivered_at)
                SELECT CASE WHEN n % 10 = 0 THEN 'other' ELSE 'survey' END, 'call-' || n,
                       CASE WHEN n % 1000 = 0 THEN 'pending' WHEN n % 997 = 0 THEN 'dead' ELSE 'delivered' END,
                       1, 1700000000000 + n * 1000, 1700000000000 + n * 1000, 1700000000000 + n * 1000
                FROM generate_series(1, 500000) AS n;
                SET session_replication_role = DEFAULT;
                ANALYZE outbox;
                """)
            let claims = ClaimSQL(.postgres)
            let statements: [(String, [SQLValue])] = [
                (claims.expiredLeases, [.integer(Timestamp.now()), 64]),
                (claims.dueWebservices, [.integer(Timestamp.now())]),
                (claims.pendingSlice, ["survey", .integer(Timestamp.now()), 64, 0]),
                (claims.anythingDue, [.integer(Timestamp.now())]),
                (claims.nextDueTime, []),
                (claims.lease, ["w", .integer(Timestamp.now() + 30_000), "[1000,2000,3000]", 0, "survey"]),
                (OutboxStore.applyOutcomesSQL, [#"[{"id":1000,"owner":"w","attempt":1,"state":"delivered","erase":0,"refund":0}]"#]),
                ("DELETE FROM outbox WHERE id \(SQLDialect.postgres.inIDs("?"))", ["[1,2,3]"]),
            ] + [
                HistoryFilter(), HistoryFilter(callID: "call-77"), HistoryFilter(webservice: "other"), HistoryFilter(state: .dead),
                HistoryFilter(state: .pending), HistoryFilter(state: .inFlight), HistoryFilter(since: 1_700_400_000_000),
                HistoryFilter(webservice: "survey", state: .dead, since: 0),
                HistoryFilter(after: HistoryCursor(createdAt: 1_700_300_000_000, id: 300_000)),
                HistoryFilter(webservice: "other", after: HistoryCursor(createdAt: 1_700_300_000_000, id: 300_000)),
                HistoryFilter(state: .dead, after: HistoryCursor(createdAt: 1_700_300_000_000, id: 300_000)),
            ].map { (OutboxStore.historySQL($0), $0.condition().values + [.integer(50)]) }
            for (sql, values) in statements {
                let plan = try store.database.query("EXPLAIN " + sql, values) { $0.text(0) }.joined(separator: "\n")
                XCTAssertFalse(plan.contains("Seq Scan on outbox"), "\(sql)\n\(plan)")
                XCTAssertTrue(plan.contains("Index"), "\(sql)\n\(plan)")
            }
            // The probes every claim makes read rows through a plain index scan, the one kind that
            // marks the index entries of events claimed since the last vacuum as dead: an index-only
            // or bitmap scan would walk them all again at every claim (measured: 4,000 instead of
            // 7,000 events/s for one worker in `bench.py fleet`).
            for sql in [claims.expiredLeases, claims.expiredLeaseToRunAlone, claims.eventsToRunAlone, claims.dueWebservices,
                        claims.pendingSlice, claims.anythingDue, claims.nextDueTime] {
                let values: [SQLValue] = sql == claims.nextDueTime ? [] : sql == claims.pendingSlice
                    ? ["survey", .integer(Timestamp.now()), 64, 0] : sql == claims.expiredLeases ? [.integer(Timestamp.now()), 64]
                    : [.integer(Timestamp.now())]
                let plan = try store.database.query("EXPLAIN " + sql, values) { $0.text(0) }.joined(separator: "\n")
                XCTAssertFalse(plan.contains("Index Only Scan") || plan.contains("Bitmap"), "\(sql)\n\(plan)")
            }
        }
    }

    /// The roles of `deploy/postgres-roles.sql`, as the README has an operator create them: the
    /// IVR's role inserts and nothing else (the trigger still checks its rows), a worker's role
    /// delivers, a viewer's role reads the history but cannot requeue.
    func testTheDocumentedRolesGiveTheIVROnlyItsInsert() throws {
        try on(.postgres) {
            try set(["survey", "--url", "\(server.baseURL)/x", "--header", "Authorization: Bearer s3cret-token"])
            let roles = testsDirectory.deletingLastPathComponent().appendingPathComponent("deploy/postgres-roles.sql").path
            for _ in 0..<2 {
                let applied = try PostCallTests.psql(db, file: roles)
                XCTAssertEqual(applied.status, 0, "the roles file applies, and again: \(applied.stderr)")
            }
            XCTAssertEqual(try psql("""
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ivr_host') THEN CREATE ROLE ivr_host LOGIN IN ROLE postcall_ivr; END IF;
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'worker_host') THEN CREATE ROLE worker_host LOGIN IN ROLE postcall_worker; END IF;
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'support_desk') THEN CREATE ROLE support_desk LOGIN IN ROLE postcall_viewer; END IF;
                END $$
                """).status, 0)
            let ivr = db.replacingOccurrences(of: "postgres@", with: "ivr_host@")
            let inserted = try psql(
                #"INSERT INTO outbox (webservice, call_id, reason, variables) VALUES ('survey', 'call-0001', 'hangup', '{"q1":"5"}')"#, uri: ivr)
            XCTAssertEqual(inserted.status, 0, inserted.stderr)
            let unknown = try psql("INSERT INTO outbox (webservice, call_id) VALUES ('nope', 'c')", uri: ivr)
            XCTAssertTrue(unknown.stderr.contains("unknown webservice"), "the trigger checks the IVR's rows: \(unknown.stderr)")
            for forbidden in ["SELECT count(*) FROM outbox", "UPDATE outbox SET state = 'dead'", "SELECT headers FROM webservices",
                              "DELETE FROM attempts"] {
                let result = try psql(forbidden, uri: ivr)
                XCTAssertTrue(result.stderr.contains("permission denied"), "\(forbidden): \(result.stderr)")
            }

            let worker = try WorkerProcess(database: db.replacingOccurrences(of: "postgres@", with: "worker_host@"), logPath: scratch.path("w.log"))
            let id = try XCTUnwrap(try store.events(matching: HistoryFilter(callID: "call-0001")).first?.id)
            XCTAssertEqual(try waitForFinalStates(store, ids: [id])[id]?.state, .delivered)
            XCTAssertEqual(worker.stop(), 0, worker.output)

            let viewer = db.replacingOccurrences(of: "postgres@", with: "support_desk@")
            for arguments in [["history", "--call-id", "call-0001"], ["show", String(id)], ["stats"]] {
                let result = try postcall(arguments + ["--db", viewer])
                XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            }
            let requeue = try postcall(["retry", String(id), "--db", viewer])
            XCTAssertEqual(requeue.status, 1)
            XCTAssertTrue(requeue.stderr.contains("permission denied"), requeue.stderr)
            XCTAssertTrue(try psql("SELECT headers FROM webservices", uri: viewer).stderr.contains("permission denied"))

            // The console as README says: on the viewer's role every page reads, a retry is
            // refused by the database; on the worker's role an operator retries.
            let usersFile = scratch.path("console-users")
            try addConsoleUser("alice", role: "operator", password: "operator-password", usersFile: usersFile)
            for (uri, mayRetry) in [(viewer, false), (db.replacingOccurrences(of: "postgres@", with: "worker_host@"), true)] {
                let console = try ConsoleProcess(database: uri, usersFile: usersFile, logPath: scratch.path("console-\(mayRetry).log"))
                let client = ConsoleClient(baseURL: console.baseURL, scratch: scratch)
                try client.signIn("alice", "operator-password")
                for path in ["/", "/events?call_id=call-0001", "/events/\(id)", "/api/stats", "/api/events/\(id)", "/api/activity"] {
                    XCTAssertEqual(try client.get(path).status, 200, "\(path) as \(uri)")
                }
                let retried = try client.post("/api/events/\(id)/retry", headers: ["X-CSRF-Token: \(try client.csrfToken())"])
                if mayRetry {
                    XCTAssertEqual(retried.status, 200, retried.body)
                } else {
                    XCTAssertEqual(retried.status, 503, retried.body)
                    XCTAssertTrue(retried.body.contains("permission denied"), retried.body)
                }
            }
        }
    }
}
