import PostCallCSQLite
import XCTest

@testable import PostCall

final class OutboxStoreTests: XCTestCase {
    private var scratch: Scratch!
    private var store: OutboxStore!

    override func setUpWithError() throws {
        scratch = try Scratch()
        store = try OutboxStore(path: scratch.databasePath)
        try store.setWebservice(Webservice(name: "survey", url: "http://127.0.0.1:9/x", timeoutMilliseconds: 5_000))
    }

    override func tearDown() {
        store = nil
        scratch = nil
    }

    private func record(_ entry: ClaimedEntry, worker: String, outcome: AttemptRecord.Outcome) -> AttemptRecord {
        AttemptRecord(
            entry: entry, worker: worker, startedAt: Timestamp.now(), durationMilliseconds: 1, outcome: outcome,
            httpStatus: 200, nextAttemptAt: outcome == .retry ? 0 : nil)
    }

    func testTheIVRsPlainSQLInsertIsAcceptedAndBadInputRejected() throws {
        let sql = { (statement: String) in try runProcess("/usr/bin/sqlite3", [self.scratch.databasePath, statement]) }
        let accepted = try sql(
            #"INSERT INTO outbox (webservice, call_id, reason, variables) VALUES ('survey', 'call-0001', 'hangup', '{"q1":"5","ani":"+15551230000"}');"#)
        XCTAssertEqual(accepted.status, 0, accepted.stderr)
        let events = try store.events(matching: HistoryFilter())
        XCTAssertEqual(events.map(\.callID), ["call-0001"])
        XCTAssertEqual(events.first?.state, .pending)

        let rejections = [
            ("INSERT INTO outbox (webservice, call_id) VALUES ('nope', 'c');", "unknown webservice"),
            ("INSERT INTO outbox (webservice, call_id, variables) VALUES ('survey', 'c', '{bad');", "JSON object"),
            ("INSERT INTO outbox (webservice, call_id, variables) VALUES ('survey', 'c', '[1]');", "JSON object"),
            (#"INSERT INTO outbox (webservice, call_id, variables) VALUES ('survey', 'c', '{"a":{"b":1}}');"#, "strings, numbers"),
            ("INSERT INTO outbox (webservice, call_id, reason) VALUES ('survey', 'c', 'transfer');", "CHECK constraint"),
            (#"INSERT INTO outbox (webservice, call_id, variables) VALUES ('survey', 'c', X'7B2261223A22FF227D');"#, "must be text"),
            (#"INSERT INTO outbox (webservice, call_id, variables) VALUES ('survey', 'c', '{"a":"' || hex(randomblob(600000)) || '"}');"#, "exceed 1 MiB"),
        ]
        for (statement, message) in rejections {
            let result = try sql(statement)
            XCTAssertNotEqual(result.status, 0, statement)
            XCTAssertTrue(result.stderr.contains(message), "\(statement): \(result.stderr)")
        }
        XCTAssertEqual(try store.events(matching: HistoryFilter()).count, 1, "rejected inserts must leave nothing behind")
    }

    /// The list a lease's statement takes, written digit by digit: what JSON (and SQLite's
    /// `json_each`) reads back as the same ids.
    func testIDListsAreJSONArrays() throws {
        let lists: [[Int64]] = [[], [0], [7], [9, 10, 99, 100], [-5, 1_234_567, .max, .min]]
        for ids in lists {
            let text = OutboxStore.jsonArray(ids)
            XCTAssertEqual(text, "[" + ids.map(String.init).joined(separator: ",") + "]")
            XCTAssertEqual(try JSONDecoder().decode([Int64].self, from: Data(text.utf8)), ids)
        }
    }

    func testClaimLeasesDueRowsOnce() throws {
        for index in 0..<10 { try store.enqueue(webservice: "survey", callID: "c\(index)") }
        let now = Timestamp.now()
        let first = try store.claim(owner: "a", limit: 4, now: now)
        let second = try store.claim(owner: "b", limit: 100, now: now)
        XCTAssertEqual(first.count, 4)
        XCTAssertEqual(second.count, 6)
        XCTAssertTrue(Set(first.map(\.id)).isDisjoint(with: second.map(\.id)))
        XCTAssertEqual(try store.claim(owner: "c", limit: 100, now: now).count, 0)
        XCTAssertEqual(first.map(\.attempt), [1, 1, 1, 1])
    }

    func testRecordAndClaimShareOneTransactionAndFailTogether() throws {
        for index in 0..<4 { try store.enqueue(webservice: "survey", callID: "c\(index)") }
        let first = try store.claim(owner: "a", limit: 2)
        struct Refused: Error {}
        XCTAssertThrowsError(
            try store.writeTransaction {
                try store.record(first.map { record($0, worker: "a", outcome: .delivered) })
                XCTAssertEqual(try store.claim(owner: "a", limit: 2).count, 2)
                throw Refused()
            })
        // Nothing of the failed exchange stays: the outcomes are not recorded, the claim undone.
        XCTAssertEqual(try store.events(matching: HistoryFilter(state: .inFlight)).count, 2)
        XCTAssertEqual(try store.events(matching: HistoryFilter(state: .pending)).count, 2)
        XCTAssertEqual(try store.attempts(eventID: first[0].id).count, 0)

        let claimed = try store.writeTransaction {
            try store.record(first.map { record($0, worker: "a", outcome: .delivered) })
            return try store.claim(owner: "a", limit: 2)
        }
        XCTAssertEqual(claimed.count, 2)
        XCTAssertEqual(try store.events(matching: HistoryFilter(state: .delivered)).count, 2)
        XCTAssertEqual(try store.events(matching: HistoryFilter(state: .inFlight)).map(\.id).sorted(), claimed.map(\.id).sorted())
    }

    func testExpiredLeaseIsReclaimedAndTheOldOwnersOutcomeIsNotApplied() throws {
        let id = try store.enqueue(webservice: "survey", callID: "c")
        let now = Timestamp.now()
        guard let lost = try store.claim(owner: "dead-worker", limit: 1, now: now, leaseGrace: 1_000).first else {
            return XCTFail("nothing claimed")
        }
        // Lease = timeout (5 s) + grace (1 s): not claimable before it expires, claimable after.
        XCTAssertTrue(try store.claim(owner: "b", limit: 1, now: now + 5_999).isEmpty)
        guard let current = try store.claim(owner: "b", limit: 1, now: now + 6_000).first else {
            return XCTFail("expired lease not reclaimed")
        }
        XCTAssertEqual(current.id, id)
        XCTAssertEqual(current.attempt, 2, "the claim counter counts the crashed attempt too")

        let rejected = try store.record([record(lost, worker: "dead-worker", outcome: .delivered)])
        XCTAssertEqual(rejected.count, 1, "an outcome for a lost lease must not be applied")
        XCTAssertEqual(try store.event(id: id)?.state, .inFlight)
        XCTAssertEqual(try store.attempts(eventID: id).map(\.worker), ["dead-worker"], "the attempt happened: it is in the history")

        XCTAssertTrue(try store.record([record(current, worker: "b", outcome: .delivered)]).isEmpty)
        XCTAssertEqual(try store.event(id: id)?.state, .delivered)
        XCTAssertEqual(try store.attempts(eventID: id).map(\.attempt), [1, 2])
    }

    /// The attempts go to a file of their own, in a transaction of their own: writing them does
    /// not wait for the outbox's write lock, which the IVR's inserts need.
    func testAttemptsAreLoggedWhileTheIVRHoldsTheOutboxsWriteLock() throws {
        let id = try store.enqueue(webservice: "survey", callID: "c")
        let entry = try XCTUnwrap(try store.claim(owner: "a", limit: 1).first)
        let records = [record(entry, worker: "a", outcome: .delivered)]
        // As the IVR opens the outbox: without the attempt log.
        let ivr = try Database(openingPath: scratch.databasePath, busyTimeoutMilliseconds: 0)
        try ivr.execute("BEGIN IMMEDIATE")
        let database = try XCTUnwrap(store.database as? Database)
        try database.withBusyTimeout(milliseconds: 0) {
            XCTAssertNoThrow(try store.logAttempts(records))
            XCTAssertThrowsError(
                try store.applyOutcomes(of: records, now: Timestamp.now(), breaker: CircuitBreaker()),
                "the outbox's write lock is the IVR's until it commits")
        }
        try ivr.execute("COMMIT")
        XCTAssertEqual(try store.attempts(eventID: id).map(\.attempt), [1])
        XCTAssertEqual(try store.event(id: id)?.state, .inFlight)
        // The worker repeats a failed exchange whole: the attempt is not logged twice.
        XCTAssertTrue(try store.record(records).isEmpty)
        XCTAssertEqual(try store.attempts(eventID: id).map(\.attempt), [1])
        XCTAssertEqual(try store.event(id: id)?.state, .delivered)
    }

    /// A batch goes into the attempt log in statements of several attempts each: every attempt
    /// lands once, each of its values in its own row and column, whatever the batch's length,
    /// and logging a batch again (a failed exchange repeated) adds nothing.
    func testEveryAttemptOfABatchIsLoggedOnceWithItsOwnValues() throws {
        // Batch lengths under, at and over each statement's size (16, 4, 1), and several of each.
        let counts = [1, 3, 4, 5, 16, 17, 41]
        let total = counts.reduce(0, +)
        for index in 0..<total { try store.enqueue(webservice: "survey", callID: "c\(index)") }
        let entries = try store.claim(owner: "a", limit: total)
        XCTAssertEqual(entries.count, total)
        let database = try XCTUnwrap(store.database as? Database)
        var logged = 0
        for count in counts {
            let records = entries[logged..<logged + count].enumerated().map { offset, entry in
                let index = logged + offset
                return AttemptRecord(
                    entry: entry, worker: "w\(index)", startedAt: 1_000 + Int64(index), durationMilliseconds: Int64(index),
                    outcome: index % 2 == 0 ? .delivered : .retry, httpStatus: index % 3 == 0 ? nil : 200 + index,
                    error: index % 2 == 0 ? nil : "e\(index)", requestSummary: "{\"q\":\(index)}",
                    responseSummary: index % 5 == 0 ? nil : "{\"r\":\(index)}")
            }
            try store.logAttempts(records)
            try store.logAttempts(records)
            logged += count
        }
        let rows = try database.query(
            """
            SELECT event_id, attempt, worker, started_at, duration_ms, outcome, http_status, error, request, response
            FROM attempt_log.attempts ORDER BY event_id
            """
        ) { row in
            [
                String(row.int64(0)), String(row.int64(1)), row.text(2), String(row.int64(3)), String(row.int64(4)), row.text(5),
                row.optionalInt64(6).map { String($0) } ?? "-", row.optionalText(7) ?? "-", row.optionalText(8) ?? "-",
                row.optionalText(9) ?? "-",
            ]
        }
        let expected = entries.enumerated().map { index, entry in
            [
                String(entry.id), "1", "w\(index)", String(1_000 + index), String(index), index % 2 == 0 ? "delivered" : "retry",
                index % 3 == 0 ? "-" : String(200 + index), index % 2 == 0 ? "-" : "e\(index)", "{\"q\":\(index)}",
                index % 5 == 0 ? "-" : "{\"r\":\(index)}",
            ]
        }
        XCTAssertEqual(rows.count, expected.count)
        for (row, wanted) in zip(rows, expected) { XCTAssertEqual(row, wanted) }
    }

    /// Making a webservice private erases the attempt log first, in a transaction of its own that
    /// waits for a worker logging attempts meanwhile, not one that fails once that worker commits.
    func testMakingAWebservicePrivateWaitsForAWorkerLoggingAttempts() throws {
        // Used by one thread at a time: this one until the other starts, then only the other.
        nonisolated(unsafe) let worker = try Database(
            openingPath: Database.attemptLogPath(ofOutbox: scratch.databasePath), busyTimeoutMilliseconds: 1_000)
        try worker.execute(
            """
            BEGIN IMMEDIATE;
            INSERT INTO attempts (event_id, attempt, worker, started_at, duration_ms, outcome) VALUES (99, 1, 'w', 0, 1, 'delivered');
            """)
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            usleep(200_000)
            try? worker.execute("COMMIT")
        }
        XCTAssertNoThrow(
            try store.setWebservice(Webservice(name: "survey", url: "http://127.0.0.1:9/x", timeoutMilliseconds: 5_000, isPrivate: true)))
        group.wait()
        XCTAssertEqual(try store.webservice(named: "survey")?.isPrivate, true)
    }

    /// Schema version 10 moves the attempts out of the outbox file into the attempt log, once,
    /// and an opening after a crash between the copy and the drop copies nothing twice.
    func testMigratingMovesTheAttemptsIntoTheirOwnFile() throws {
        let path = scratch.path("version9.db")
        do {
            let old = try Database(openingPath: path, busyTimeoutMilliseconds: 1_000)
            _ = try old.query("PRAGMA journal_mode = WAL") { $0.text(0) }
            for migration in Migration.all where migration.version <= 9 {
                try old.execute(migration.sql)
                try old.execute("PRAGMA user_version = \(migration.version)")
            }
            try old.execute(
                """
                INSERT INTO webservices (name, kind, url) VALUES ('survey', 'rest', 'http://127.0.0.1:9/x');
                INSERT INTO outbox (webservice, call_id) VALUES ('survey', 'c');
                INSERT INTO attempts (event_id, attempt, worker, started_at, duration_ms, outcome, http_status)
                VALUES (1, 1, 'w', 5, 7, 'retry', 503), (1, 2, 'w', 9, 7, 'delivered', 200);
                """)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: Database.attemptLogPath(ofOutbox: path)))
        let tablesNamedAttempts = "SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name LIKE 'attempts%'"
        do {
            let store = try OutboxStore(path: path, create: false)
            XCTAssertEqual(try store.database.schemaVersion, Migration.latestVersion)
            XCTAssertEqual(try store.attempts(eventID: 1).map(\.httpStatus), [503, 200])
            XCTAssertEqual(try store.database.query(tablesNamedAttempts) { $0.int64(0) }, [0])
            // As if a crash came after the copy, before the drop.
            try store.database.execute("CREATE TABLE main.attempts_moved AS SELECT * FROM attempt_log.attempts")
        }
        let store = try OutboxStore(path: path, create: false)
        XCTAssertEqual(try store.attempts(eventID: 1).map(\.httpStatus), [503, 200])
        XCTAssertEqual(try store.database.query(tablesNamedAttempts) { $0.int64(0) }, [0])
    }

    func testRetryReturnsToPendingAndFailedIsDead() throws {
        let retried = try store.enqueue(webservice: "survey", callID: "r")
        let failed = try store.enqueue(webservice: "survey", callID: "f")
        let claimed = try store.claim(owner: "w", limit: 2)
        let byID = Dictionary(uniqueKeysWithValues: claimed.map { ($0.id, $0) })
        var retry = record(try XCTUnwrap(byID[retried]), worker: "w", outcome: .retry)
        retry.nextAttemptAt = Timestamp.now() + 60_000
        retry.error = "http 503"
        var dead = record(try XCTUnwrap(byID[failed]), worker: "w", outcome: .failed)
        dead.error = "http 404"
        try store.record([retry, dead])

        XCTAssertEqual(try store.event(id: retried)?.state, .pending)
        XCTAssertEqual(try store.event(id: retried)?.lastError, "http 503")
        XCTAssertNotNil(try store.event(id: retried)?.nextAttemptAt)
        XCTAssertTrue(try store.claim(owner: "w", limit: 10).isEmpty, "a retry is not due before its time")
        XCTAssertEqual(try store.event(id: failed)?.state, .dead)
        XCTAssertEqual(try store.attempts(eventID: failed).first?.outcome, .failed)
    }

    func testPrivateWebserviceLosesItsVariablesWhenFinal() throws {
        let id = try store.enqueue(webservice: "survey", callID: "c", variablesJSON: #"{"secret":"MARKER"}"#)
        var delivered = record(try XCTUnwrap(try store.claim(owner: "w", limit: 1).first), worker: "w", outcome: .delivered)
        delivered.isPrivate = true
        try store.record([delivered])
        let variables = try store.database.query("SELECT variables FROM outbox WHERE id = ?", [.integer(id)]) { $0.text(0) }
        XCTAssertEqual(variables, ["{}"])
    }

    func testHistoryFilters() throws {
        try store.setWebservice(Webservice(name: "voicemail", url: "http://127.0.0.1:9/v"))
        let a = try store.enqueue(webservice: "survey", callID: "call-a")
        let b = try store.enqueue(webservice: "voicemail", callID: "call-b")
        let c = try store.enqueue(webservice: "survey", callID: "call-a")
        XCTAssertEqual(try store.events(matching: HistoryFilter()).map(\.id), [c, b, a])
        XCTAssertEqual(try store.events(matching: HistoryFilter(callID: "call-a")).map(\.id), [c, a])
        XCTAssertEqual(try store.events(matching: HistoryFilter(webservice: "voicemail")).map(\.id), [b])
        XCTAssertEqual(try store.events(matching: HistoryFilter(state: .pending, limit: 2)).map(\.id), [c, b])
        XCTAssertEqual(try store.events(matching: HistoryFilter(since: Timestamp.now() + 60_000)).count, 0)
    }

    func testRemovingAWebserviceWithWaitingEventsIsRefused() throws {
        try store.enqueue(webservice: "survey", callID: "c")
        XCTAssertThrowsError(try store.removeWebservice(named: "survey"))
        XCTAssertNotNil(try store.webservice(named: "survey"))
        XCTAssertThrowsError(try store.removeWebservice(named: "nope")) { error in
            XCTAssertEqual((error as? PostCallError)?.code, .notFound)
        }
    }

    func testConcurrentMigrationsFromSeveralProcessesAreSafe() throws {
        let fresh = scratch.path("fresh.db")
        let group = DispatchGroup()
        let results = ResultBox<CommandResult?>()
        for _ in 0..<12 {
            DispatchQueue.global().async(group: group) {
                let result = try? postcall(["migrate", "--db", fresh])
                results.append(result)
            }
        }
        group.wait()
        XCTAssertEqual(results.values.count, 12)
        for result in results.values {
            XCTAssertEqual(result?.status, 0, result?.stderr ?? "did not run")
        }
        XCTAssertEqual(try OutboxStore(path: fresh).database.schemaVersion, Migration.latestVersion)
    }

    func testClaimReadsOnlyThePartialIndexesNeverTheWholeBacklog() throws {
        for (sql, values) in [
            (ClaimSQL(.sqlite).dueWebservices, [SQLValue.integer(0)]),
            (ClaimSQL(.sqlite).pendingSlice, ["survey", 0, 10, 0]),
        ] {
            let plan = try store.database.query("EXPLAIN QUERY PLAN " + sql, values) { $0.text(3) }
            XCTAssertTrue(plan.contains { $0.contains("USING INDEX outbox_pending_due (webservice=? AND next_attempt_at<?)") || $0.contains("USING COVERING INDEX outbox_pending_due (webservice=? AND next_attempt_at<?)") }, "\(plan)")
            XCTAssertFalse(plan.contains { $0.contains("SCAN outbox") || $0.contains("TEMP B-TREE") }, "\(plan)")
        }
    }

    /// SQLite gives a checkpoint up at once, without the busy handler, while another connection
    /// checkpoints: a worker's last scrub at stop met its own checkpointer that way and left a
    /// private event's data in the log (1 run in 6 of SupportTests' privacy test).
    func testAScrubWaitsOutAnotherConnectionsCheckpoint() throws {
        try store.enqueue(webservice: "survey", callID: "c1")
        // Another process holds SQLite's checkpointer lock (byte 121 of the -shm file) for 25 ms.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            """
            import fcntl, os, sys, time
            fd = os.open(sys.argv[1], os.O_RDWR)
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 121, os.SEEK_SET)
            print("held", flush=True)
            time.sleep(0.025)
            """,
            scratch.databasePath + "-shm",
        ]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        defer { holder.waitUntilExit() }
        XCTAssertEqual(output.fileHandleForReading.readData(ofLength: 4), Data("held".utf8))
        XCTAssertFalse(try (store.database as? Database)?.checkpoint(.truncate).isComplete ?? true, "the lock is held")
        XCTAssertTrue(try store.scrubWriteAheadLog(), "the scrub waits for the other checkpoint to end")
    }

    func testEachLeaseLastsItsWebservicesTimeoutPlusTheGrace() throws {
        try store.setWebservice(Webservice(name: "slow", url: "http://127.0.0.1:9/s", timeoutMilliseconds: 20_000))
        let expired = try store.enqueue(webservice: "slow", callID: "lost")
        XCTAssertEqual(try store.claim(owner: "gone", limit: 1).map(\.id), [expired])
        try store.database.run("UPDATE outbox SET lease_expires_at = 0 WHERE id = ?", [.integer(expired)])
        for index in 0..<3 {
            try store.enqueue(webservice: "survey", callID: "s\(index)")
            try store.enqueue(webservice: "slow", callID: "l\(index)")
        }
        let now = Timestamp.now()
        let claimed = try store.claim(owner: "w", limit: 10, now: now, leaseGrace: 30_000)
        XCTAssertEqual(claimed.count, 7, "the expired lease and both webservices' pending events")
        let leases = try store.database.query("SELECT webservice, lease_expires_at FROM outbox WHERE lease_owner = 'w'") {
            "\($0.text(0)) \($0.int64(1) - now)"
        }
        XCTAssertEqual(Dictionary(grouping: leases, by: { $0 }).mapValues(\.count), ["survey 35000": 3, "slow 50000": 4])
    }

    func testClaimSharesABatchBetweenWebservicesAndRespectsTheCap() throws {
        try store.setWebservice(Webservice(name: "busy", url: "http://127.0.0.1:9/b"))
        try store.setWebservice(Webservice(name: "quiet", url: "http://127.0.0.1:9/q"))
        try store.database.writeTransaction {
            for index in 0..<500 { try store.enqueue(webservice: "busy", callID: "b\(index)") }
        }
        for index in 0..<3 { try store.enqueue(webservice: "quiet", callID: "q\(index)") }
        let claimed = try store.claim(owner: "w", limit: 10, perWebserviceLimit: 6, inFlight: ["busy": 2])
        let counts = Dictionary(grouping: claimed, by: \.webservice).mapValues(\.count)
        XCTAssertEqual(counts, ["busy": 4, "quiet": 3], "quiet's events are not stuck behind busy's backlog; busy stays under its cap")
        XCTAssertEqual(Set(claimed.map(\.id)).count, claimed.count)
    }

    func testHistoryFiltersUseAnIndexThatMatches() throws {
        let expectations: [(HistoryFilter, String)] = [
            (HistoryFilter(), "outbox_created"),
            (HistoryFilter(callID: "c"), "outbox_call_id"),
            (HistoryFilter(webservice: "survey"), "outbox_webservice_created"),
            (HistoryFilter(state: .dead), "outbox_dead_created"),
            (HistoryFilter(state: .pending), "outbox_pending_due"),
            (HistoryFilter(state: .inFlight), "outbox_lease_expiry"),
            (HistoryFilter(state: .delivered, since: 0), "outbox_created"),
            (HistoryFilter(webservice: "survey", state: .dead, since: 0), "outbox_"),
            // The console's later pages: the cursor bounds the same index's range.
            (HistoryFilter(after: HistoryCursor(createdAt: 1_700_000_000_000, id: 42)), "outbox_created"),
            (HistoryFilter(callID: "c", after: HistoryCursor(createdAt: 1_700_000_000_000, id: 42)), "outbox_call_id"),
            (HistoryFilter(webservice: "survey", after: HistoryCursor(createdAt: 1_700_000_000_000, id: 42)), "outbox_webservice_created"),
            (HistoryFilter(state: .dead, after: HistoryCursor(createdAt: 1_700_000_000_000, id: 42)), "outbox_dead_created"),
        ]
        for (filter, index) in expectations {
            let (_, values) = filter.condition()
            let plan = try store.database.query(
                "EXPLAIN QUERY PLAN " + OutboxStore.historySQL(filter), values + [.integer(50)]) { $0.text(3) }
            XCTAssertTrue(plan.contains { $0.contains("USING INDEX \(index)") || $0.contains("USING COVERING INDEX \(index)") }, "\(filter): \(plan)")
            XCTAssertFalse(plan.contains { $0.hasPrefix("SCAN outbox") && !$0.contains("INDEX") }, "\(filter): \(plan)")
        }
    }

    /// Where the recordings and the console's users file are by default: beside the SQLite file.
    func testFilesBesideTheDatabase() {
        let rows: [(String, String?)] = [
            ("/var/lib/postcall/postcall.db", "/var/lib/postcall/console-users"), ("/x.db", "/console-users"),
            ("x.db", "./console-users"), ("a/b.db", "a/console-users"), ("postgresql://u@h/db", nil),
        ]
        for (db, expected) in rows { XCTAssertEqual(OutboxLocation(db).besideDatabase("console-users"), expected, db) }
        XCTAssertEqual(FileAccess.defaultDirectory(for: OutboxLocation("postgres://u@h/db")), "/var/lib/postcall/recordings")
    }

    /// A statement given the wrong number of values is refused before it runs, naming the SQL.
    func testAStatementChecksItsParameterCount() throws {
        XCTAssertThrowsError(try store.database.run("UPDATE outbox SET call_id = ? WHERE id = ?", [.text("x")])) { error in
            XCTAssertTrue("\(error)".contains("takes 2 parameters but was given 1"), "\(error)")
        }
        XCTAssertThrowsError(try store.database.run("SELECT ?", [.integer(1), .integer(2)]))
        XCTAssertNoThrow(try store.database.run("SELECT ?", [.integer(1)]))
    }

    /// SQLite's memory statistics are off: with them, every allocation of every connection takes
    /// one process-wide mutex (a busy worker's store thread spent about 5 % of its time on them).
    func testSQLiteKeepsNoMemoryStatistics() throws {
        _ = try store.claim(owner: "w", limit: 10)
        var current: Int64 = -1
        var highest: Int64 = -1
        XCTAssertEqual(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &current, &highest, 0), SQLITE_OK)
        XCTAssertEqual(current, 0, "memory statistics are kept")
    }

    /// A worker leaves the write lock free after each of its transactions, so an IVR insert that
    /// found it taken finds it free at its next look (see `WriteLockPause`).
    func testAWorkersConnectionLeavesTheWriteLockFreeBetweenItsTransactions() throws {
        // Used by one thread at a time: the other waits for the group.
        nonisolated(unsafe) let worker = try Database(path: scratch.databasePath)
        worker.writeLockPause = WriteLockPause(minimumMicroseconds: 300_000)
        let ivr = try Database(path: scratch.databasePath, busyTimeoutMilliseconds: 0)
        try worker.writeTransaction { try worker.run("UPDATE outbox_meta SET scrubs_done = scrubs_done") }
        let ended = Timestamp.monotonicNanoseconds()
        let began = ResultBox<UInt64>()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            try? worker.writeTransaction {
                began.append(Timestamp.monotonicNanoseconds())
                // Held long enough that an insert meeting it would fail (no busy timeout).
                usleep(200_000)
            }
        }
        // The worker's next transaction waits for the end of its pause: the IVR writes meanwhile.
        XCTAssertNoThrow(
            try ivr.run("INSERT INTO outbox (webservice, call_id, variables) VALUES ('survey', 'call-1', '{}')", []))
        group.wait()
        let pause = try XCTUnwrap(began.values.first) - ended
        XCTAssertGreaterThanOrEqual(pause, 250_000_000, "the worker took the lock again before its pause ended")
    }

    /// After a hold long enough that an insert meeting it sleeps longer, the pause lasts that sleep.
    func testALongerHoldLeavesTheWriteLockFreeLonger() throws {
        let worker = try Database(path: scratch.databasePath)
        worker.writeLockPause = WriteLockPause(minimumMicroseconds: 0)
        // 40 ms: an insert that met all of it sleeps 20 ms between its looks at 33 and 53 ms.
        try worker.writeTransaction { usleep(40_000) }
        let ended = Timestamp.monotonicNanoseconds()
        let began = try worker.writeTransaction { Timestamp.monotonicNanoseconds() }
        XCTAssertGreaterThanOrEqual(began - ended, 20_000_000, "the worker took the lock again before the insert's next look")
    }
}

/// Collects results from several threads.
final class ResultBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Value] = []
    func append(_ value: Value) { lock.withLock { storage.append(value) } }
    var values: [Value] { lock.withLock { storage } }
}
