import Foundation
import XCTest

@testable import PostCall

/// Faults, crashes and contention: every event ends in the right state with every attempt recorded.
final class ReliabilityTests: EndToEndTestCase {

    /// Quick retries so a schedule of failures plays out in seconds.
    private let fastRetries = ["--retry-first-delay", "100ms", "--retry-max-delay", "200ms", "--lease-grace", "1s"]


    func testFaultScheduleEndsEveryEventInTheRightStateWithEveryAttemptRecorded() throws {
        try onEachBackend {
            let base = server.baseURL
            // A receiver of its own: a kept-alive connection to another webservice on the same port
            // would be reused, and libcurl replays a request once on a fresh connection when a reused
            // one is reset, so one attempt would play two steps of the script.
            let scripted = try TestHTTPServer(scratch: scratch)
            try set(["flaky", "--url", "\(scripted.baseURL)/script/500,reset,hang,429,close,200", "--timeout", "0.5"])
            try set(["exhausted", "--url", "\(base)/status/503", "--max-attempts", "3", "--max-age", "0"])
            try set(["gone", "--url", "\(base)/status/410"])
            try set(["loop", "--url", "\(base)/loop", "--follow-redirects"])
            try set(["big", "--url", "\(base)/big/1073741824"])
            try set(["drip", "--url", "\(base)/drip", "--timeout", "1", "--max-attempts", "1", "--max-age", "0"])
            try set(["tls", "--url", "https://127.0.0.1:\(server.port)/", "--timeout", "3", "--max-attempts", "1", "--max-age", "0"])
            try set(["refused", "--url", "http://127.0.0.1:1/", "--max-attempts", "2", "--max-age", "0"])
            var ids: [String: Int64] = [:]
            for name in ["flaky", "exhausted", "gone", "loop", "big", "drip", "tls", "refused"] {
                ids[name] = try store.enqueue(webservice: name, callID: "call-\(name)")
            }
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"),
                arguments: fastRetries + ["--breaker-threshold", "100"])
            let events = try waitForFinalStates(store, ids: Array(ids.values))
            XCTAssertEqual(worker.stop(), 0, worker.output)

            func attempts(_ name: String) throws -> [AttemptSummary] { try store.attempts(eventID: try XCTUnwrap(ids[name])) }
            func state(_ name: String) -> EventState? { ids[name].flatMap { events[$0]?.state } }

            XCTAssertEqual(state("flaky"), .delivered)
            let flaky = try attempts("flaky")
            XCTAssertEqual(flaky.map(\.outcome), [.retry, .retry, .retry, .retry, .retry, .delivered])
            XCTAssertEqual(flaky.map(\.httpStatus), [500, nil, nil, 429, nil, 200])
            guard flaky.count == 6 else { return XCTFail("the fault schedule did not play out: \(flaky)") }
            XCTAssertEqual(flaky[1].error?.hasPrefix("connection"), true, "\(String(describing: flaky[1].error))")
            XCTAssertEqual(flaky[2].error?.hasPrefix("timeout"), true, "\(String(describing: flaky[2].error))")
            XCTAssertEqual(flaky[4].error?.hasPrefix("connection"), true, "\(String(describing: flaky[4].error))")
            let retryAfterWait = Timestamp.parseWhen(flaky[4].startedAt).flatMap { later in
                Timestamp.parseWhen(flaky[3].startedAt).map { later - $0 - flaky[3].durationMilliseconds }
            }
            XCTAssertGreaterThanOrEqual(retryAfterWait ?? 0, 1_000, "Retry-After: 1 must be honoured over the 200 ms backoff")

            XCTAssertEqual(state("exhausted"), .dead)
            XCTAssertEqual(try attempts("exhausted").map(\.outcome), [.retry, .retry, .failed])
            XCTAssertEqual(events[ids["exhausted"]!]?.lastError, "gave up after 3 attempts: http 503")

            XCTAssertEqual(state("gone"), .dead)
            XCTAssertEqual(try attempts("gone").map(\.outcome), [.failed], "a 4xx is permanent: no retry")

            XCTAssertEqual(state("loop"), .dead)
            XCTAssertEqual(try attempts("loop").first?.error?.hasPrefix("redirects"), true)

            XCTAssertEqual(state("big"), .delivered, "a huge 2xx body is cut off, not a failure")
            let bigResponse = try XCTUnwrap(try attempts("big").first?.response)
            XCTAssertEqual(bigResponse.body.utf8.count, 4096)
            XCTAssertLessThanOrEqual(bigResponse.bodyBytes, (1 << 20) + 65536, "no more than about 1 MiB may be read")

            XCTAssertEqual(state("drip"), .dead)
            XCTAssertEqual(try attempts("drip").first?.error?.hasPrefix("gave up after 1 attempts: timeout"), true)
            let tls = try attempts("tls")
            XCTAssertEqual(tls.first?.error?.hasPrefix("gave up after 1 attempts: tls"), true, "\(tls)")
            XCTAssertEqual(try attempts("refused").map(\.outcome), [.retry, .failed])
            XCTAssertEqual(try attempts("refused").first?.error?.hasPrefix("connect"), true)

            for (name, id) in ids {
                let event = try XCTUnwrap(events[id])
                XCTAssertEqual(event.attempts, try attempts(name).count, "\(name): every claim has its attempt recorded")
            }
        }
    }

    func testAFailingWebserviceIsPausedNotHammered() throws {
        try onEachBackend {
            try set(["down", "--url", "\(server.baseURL)/status/503"])
            let ids = try (0..<10).map { try store.enqueue(webservice: "down", callID: "c\($0)") }
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"),
                arguments: fastRetries + ["--breaker-threshold", "3", "--breaker-max-pause", "1m"])
            try set(["healthy", "--url", "\(server.baseURL)/fast"])
            try waitUntil { try server.requests().count >= 10 }
            // Every retry falls due (100-200 ms backoff); then a claim cycle must pass over them: the
            // worker delivers a fresh event of a healthy webservice, which it claims with them due.
            try waitUntil {
                try store.database.query("SELECT count(*) FROM outbox WHERE webservice = 'down' AND next_attempt_at <= ?",
                                         [.integer(Timestamp.now())]) { $0.int64(0) }.first == 10
            }
            let probe = try store.enqueue(webservice: "healthy", callID: "probe")
            XCTAssertEqual(try waitForFinalStates(store, ids: [probe])[probe]?.state, .delivered)
            XCTAssertEqual(worker.stop(), 0, worker.output)

            // Without the breaker, the due retries would have been sent with the probe.
            XCTAssertEqual(try server.requests().filter { $0.target.hasPrefix("/status/503") }.count, 10,
                           "a paused webservice must not be retried during its pause")
            let paused = try store.database.query("SELECT paused_until, consecutive_failures FROM webservices WHERE name = 'down'") {
                ($0.int64(0), $0.int64(1))
            }.first
            XCTAssertGreaterThan(paused?.0 ?? 0, Timestamp.now())
            XCTAssertEqual(paused?.1, 10)
            for id in ids { XCTAssertEqual(try store.event(id: id)?.state, .pending) }
        }
    }

    func testASlowWebserviceDoesNotStarveTheOthers() throws {
        try onEachBackend {
            try set(["slow", "--url", "\(server.baseURL)/sleep/3000", "--timeout", "10"])
            try set(["fast", "--url", "\(server.baseURL)/fast"])
            let slow = try (0..<40).map { try store.enqueue(webservice: "slow", callID: "s\($0)") }
            let fast = try (0..<40).map { try store.enqueue(webservice: "fast", callID: "f\($0)") }
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"),
                arguments: ["--concurrency", "8", "--webservice-concurrency", "4"])
            var maximumSlowInFlight = 0
            try waitUntil {
                let inFlight = try store.database.query(
                    "SELECT count(*) FROM outbox WHERE webservice = 'slow' AND state = 'in_flight'") { Int($0.int64(0)) }.first ?? 0
                maximumSlowInFlight = max(maximumSlowInFlight, inFlight)
                return try fast.allSatisfy { try store.event(id: $0)?.state == .delivered }
            }
            let slowDelivered = try slow.filter { try store.event(id: $0)?.state == .delivered }.count
            worker.killHard()
            XCTAssertLessThanOrEqual(maximumSlowInFlight, 4, "the per-webservice cap must hold")
            XCTAssertLessThan(slowDelivered, 40, "the fast webservice's events must not wait behind the slow ones")
        }
    }

    func testAnEventThatKeepsKillingItsWorkerWhileRunningAloneEndsDead() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/fast", "--timeout", "1"])
            let id = try store.enqueue(webservice: "survey", callID: "c")
            // Two workers died with it among their events; then three ran it alone and died each time.
            var now = Timestamp.now()
            XCTAssertEqual(try store.claim(owner: "killed-0", limit: 1, now: now, leaseGrace: 0).count, 1)
            now += 2_000
            XCTAssertEqual(try store.claim(owner: "killed-1", limit: 1, now: now, leaseGrace: 0).count, 1, "a first lost lease is taken over as usual")
            for crashed in 0..<3 {
                now += 2_000
                XCTAssertEqual(try store.claimAlone(owner: "crashed-\(crashed)", now: now, leaseGrace: 0)?.id, id)
            }
            try store.database.run("UPDATE outbox SET lease_expires_at = 0 WHERE id = ?", [.integer(id)])
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
            let events = try waitForFinalStates(store, ids: [id])
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(events[id]?.state, .dead)
            XCTAssertEqual(events[id]?.lastError?.hasPrefix("gave up: 3 workers died while delivering this event alone"), true, "\(String(describing: events[id]?.lastError))")
            XCTAssertTrue(try server.requests().isEmpty, "a crash-looping event is not sent again")
        }
    }

    /// Issue 11, item 7: three workers killed while they held an event (a deploy, the OOM killer,
    /// chaos) do not make it a poison event: only deaths while it ran alone count, and two do not
    /// reach the limit of three. The old rule counted every lost lease and gave it up.
    func testWorkersKilledWhileHoldingAnEventDoNotMakeItDead() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/fast", "--timeout", "1"])
            let id = try store.enqueue(webservice: "survey", callID: "c")
            var now = Timestamp.now()
            XCTAssertEqual(try store.claim(owner: "killed-0", limit: 1, now: now, leaseGrace: 0).map(\.id), [id])
            now += 2_000
            XCTAssertEqual(try store.claim(owner: "killed-1", limit: 1, now: now, leaseGrace: 0).map(\.id), [id], "a first lost lease is taken over as usual")
            now += 2_000
            XCTAssertEqual(try store.claim(owner: "busy", limit: 10, now: now, leaseGrace: 0).count, 0, "a second one waits to run alone")
            XCTAssertEqual(try store.claimAlone(owner: "killed-2", now: now, leaseGrace: 0)?.id, id)
            try store.database.run("UPDATE outbox SET lease_expires_at = 0 WHERE id = ?", [.integer(id)])
            let others = try (0..<3).map { try store.enqueue(webservice: "survey", callID: "other-\($0)") }
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
            let events = try waitForFinalStates(store, ids: [id] + others)
            XCTAssertEqual(worker.stop(), 0, worker.output)
            for event in events.values { XCTAssertEqual(event.state, .delivered, "\(event)") }
            XCTAssertEqual(events[id]?.attempts, 4)
            XCTAssertEqual(try server.requests().count, 4)
            XCTAssertTrue(worker.output.contains("running an event alone"), worker.output)
        }
    }

    /// Several workers, thousands of events, workers killed with SIGKILL at random moments and
    /// replaced: every event ends delivered, the receiver saw every id, and the duplicates stay
    /// within what was in flight at the kills.
    func testChaosKillingWorkersLosesNothing() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/sleep/5", "--timeout", "2", "--param", "call={{call_id}}"])
            let eventCount = 3000
            let concurrency = 16
            var ids: [Int64] = []
            try store.database.writeTransaction {
                for index in 0..<eventCount { ids.append(try store.enqueue(webservice: "survey", callID: "call-\(index)")) }
            }
            let workerArguments = ["--concurrency", String(concurrency), "--lease-grace", "1s"]
            var workers = try (0..<3).map {
                try WorkerProcess(database: db, logPath: scratch.path("w\($0).log"), arguments: workerArguments + ["--id", "w\($0)"])
            }
            var kills = 0
            var generator = SystemRandomNumberGenerator()
            var spawned = 3
            while kills < 12 {
                Thread.sleep(forTimeInterval: Double.random(in: 0.1...0.4, using: &generator))
                let remaining = try store.database.query("SELECT count(*) FROM outbox WHERE state <> 'delivered'") { $0.int64(0) }.first ?? 0
                if remaining == 0 { break }
                let victim = workers.remove(at: Int.random(in: 0..<workers.count, using: &generator))
                victim.killHard()
                kills += 1
                workers.append(try WorkerProcess(
                    database: db, logPath: scratch.path("w\(spawned).log"), arguments: workerArguments + ["--id", "w\(spawned)"]))
                spawned += 1
            }
            let events = try waitForFinalStates(store, ids: ids, limit: 120)
            for worker in workers { XCTAssertEqual(worker.stop(), 0, worker.output) }

            let delivered = events.values.filter { $0.state == .delivered }.count
            let seen = Dictionary(grouping: try server.requests()) { $0.header("Idempotency-Key") ?? "" }
            let outboxID = try store.outboxID()
            let missing = ids.filter { seen["\(outboxID)-\($0)"] == nil }.count
            let duplicates = seen.values.reduce(0) { $0 + $1.count - 1 }
            print("chaos: \(eventCount) events, \(kills) kills, \(delivered) delivered, \(missing) never received, \(duplicates) duplicates (bound \(kills * concurrency))")
            XCTAssertGreaterThan(kills, 0, "the test must actually kill workers")
            XCTAssertEqual(delivered, eventCount, "every event must end delivered")
            XCTAssertEqual(missing, 0, "the receiver must have seen every event")
            XCTAssertLessThanOrEqual(duplicates, kills * concurrency, "duplicates come only from transfers in flight at a kill")
        }
    }

    /// The IVR inserts thousands of rows a second, and now and then holds a lock the workers
    /// need (SQLite's write lock; on PostgreSQL a table lock that blocks their updates), while
    /// two workers deliver: the IVR's inserts all succeed, the workers never crash, nothing is lost.
    func testContentionWithAConcurrentIVRWriter() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/fast", "--param", "call={{call_id}}"])
            let workers = try (0..<2).map {
                try WorkerProcess(database: db, logPath: scratch.path("w\($0).log"), arguments: ["--id", "w\($0)"])
            }
            let writer: CommandResult
            switch backend {
            case .sqlite:
                writer = try runProcess(
                    "/usr/bin/env",
                    ["python3", "-c", """
                        import sqlite3, time
                        db = sqlite3.connect(\(String(reflecting: db)), timeout=30, isolation_level=None)
                        for batch in range(30):
                            if batch % 10 == 5:
                                db.execute("BEGIN IMMEDIATE"); time.sleep(0.5); db.execute("COMMIT")  # a long write lock
                            for i in range(100):
                                db.execute("INSERT INTO outbox (webservice, call_id, variables) VALUES ('survey', ?, '{}')", (f"c{batch}-{i}",))
                            time.sleep(0.05)
                        print("inserted", db.execute("SELECT count(*) FROM outbox").fetchone()[0])
                        """])
            case .postgres:
                // psql, one autocommitted INSERT per call as an IVR makes them.
                var script = ""
                for batch in 0..<30 {
                    if batch % 10 == 5 { script += "BEGIN; LOCK TABLE outbox IN EXCLUSIVE MODE; SELECT pg_sleep(0.5); COMMIT;\n" }
                    for index in 0..<100 {
                        script += "INSERT INTO outbox (webservice, call_id, variables) VALUES ('survey', 'c\(batch)-\(index)', '{}');\n"
                    }
                    script += "SELECT pg_sleep(0.05);\n"
                }
                script += "SELECT 'inserted ' || count(*) FROM outbox;\n"
                let file = scratch.path("ivr.sql")
                try script.write(toFile: file, atomically: true, encoding: .utf8)
                let result = try psql(db, file: file)
                writer = CommandResult(
                    status: result.status, stdout: result.stdout.split(separator: "\n").last.map(String.init) ?? "", stderr: result.stderr)
            }
            XCTAssertEqual(writer.status, 0, writer.stderr)
            XCTAssertEqual(writer.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "inserted 3000")
            let ids = try store.database.query("SELECT id FROM outbox") { $0.int64(0) }
            let events = try waitForFinalStates(store, ids: ids, limit: 120)
            for worker in workers {
                XCTAssertTrue(worker.process.isRunning, "a worker died under contention: \(worker.output)")
                XCTAssertEqual(worker.stop(), 0, worker.output)
            }
            XCTAssertEqual(events.values.filter { $0.state == .delivered }.count, 3000)
            XCTAssertEqual(Set(try server.requests().compactMap { $0.header("Idempotency-Key") }).count, 3000)
        }
    }
}

/// The SQLite outbox's write-ahead log while a worker drains a backlog.
final class WriteAheadLogTests: XCTestCase {
    /// A busy worker commits again before a passive checkpoint has copied the whole log, so the
    /// log never started over: it grew by about 2.5 KB per delivered event for as long as the
    /// backlog lasted, and the disk with it. Then it started over past 16 MiB, and the IVR's
    /// connection (SQLite's default) checkpointed inside each insert's commit, past 1,000 pages of
    /// log. Now it stays under that, and so does the attempt log's.
    func testTheLogStaysSmallWhileABusyWorkerDrainsABacklog() throws {
        let scratch = try Scratch()
        let server = try TestHTTPServer(scratch: scratch, arguments: ["--no-record"])
        let database = scratch.path("outbox.db")
        let store = try OutboxStore(path: database)
        try store.setWebservice(Webservice(name: "survey", url: "\(server.baseURL)/x"))
        let count = 40_000
        try store.database.run(
            """
            INSERT INTO outbox (webservice, call_id, variables)
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT 'survey', 'c' || i, '{}' FROM n
            """, [.integer(Int64(count))])
        try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let worker = try WorkerProcess(database: database, logPath: scratch.path("worker.log"))

        let logs = [database + "-wal", Database.attemptLogPath(ofOutbox: database) + "-wal"]
        var largest: Int64 = 0
        try waitUntil(120) {
            for log in logs {
                let size = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int64) ?? 0
                largest = max(largest, size)
            }
            // Counted through the indexes: a read that lasts keeps the log from starting over meanwhile.
            let counts = try store.queueDepths().counts
            return counts["pending", default: 0] + counts["in_flight", default: 0] == 0
        }
        XCTAssertEqual(worker.stop(), 0, worker.output)
        // A frame is a page of 4,096 bytes and a header of 24; the log's own header is 32.
        XCTAssertLessThan(largest, 1_000 * (4_096 + 24) + 32, "a log (the outbox's or the attempt log's) grew to \(largest) bytes")
    }
}

/// The database's filesystem fills up while a worker runs: it says so once, stops claiming, and
/// delivers everything once space is freed. Needs root to mount a small tmpfs.
final class DiskFullTests: XCTestCase {
    /// A 4 MiB tmpfs inside `scratch`, unmounted when the test ends.
    private func smallDisk(in scratch: Scratch) throws -> String {
        let mountPoint = scratch.path("small-disk")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint])
        try XCTSkipIf(mount.status != 0, "cannot mount a tmpfs here: \(mount.stderr)")
        // Holding `scratch` until then: its folder is removed only once the tmpfs is unmounted.
        addTeardownBlock { _ = try? runProcess("/bin/umount", [mountPoint]); withExtendedLifetime(scratch) {} }
        return mountPoint
    }

    func testAFullDiskPausesTheWorkerWhichRecoversWhenSpaceIsFreed() throws {
        let scratch = try Scratch()
        let mountPoint = try smallDisk(in: scratch)

        let server = try TestHTTPServer(scratch: scratch)
        let database = mountPoint + "/outbox.db"
        let store = try OutboxStore(path: database)
        try store.setWebservice(Webservice(name: "survey", url: "\(server.baseURL)/x"))
        let ids = try (0..<5).map { try store.enqueue(webservice: "survey", callID: "c\($0)") }
        // Due in 2 s: the worker starts while there is space, and must claim once the disk is full.
        try store.database.run("UPDATE outbox SET next_attempt_at = next_attempt_at + 2000")
        try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let worker = try WorkerProcess(database: database, logPath: scratch.path("worker.log"))
        waitUntil { worker.output.contains("worker started") }

        let filler = mountPoint + "/filler"
        _ = try runProcess("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=4k"])
        waitUntil(15) { worker.output.contains("disk full") }
        XCTAssertTrue(worker.process.isRunning, "a full disk must not stop the worker")
        for id in ids { XCTAssertEqual(try store.event(id: id)?.state, .pending) }

        try FileManager.default.removeItem(atPath: filler)
        let events = try waitForFinalStates(store, ids: ids)
        XCTAssertEqual(worker.stop(), 0, worker.output)
        XCTAssertTrue(events.values.allSatisfy { $0.state == .delivered })
        XCTAssertTrue(worker.output.contains("database available again"), worker.output)
        XCTAssertEqual(worker.output.components(separatedBy: "disk full").count - 1, 1, "said once, not every second")
    }
}

extension DiskFullTests {
    /// A busy worker records its outcomes on its store thread while transfers still run: when the
    /// disk fills there, the outcomes wait in memory (not dropped, not recorded twice) and are all
    /// recorded once space is freed, each event sent once.
    func testABusyWorkersOutcomesWaitThroughAFullDisk() throws {
        let scratch = try Scratch()
        let mountPoint = try smallDisk(in: scratch)

        let server = try TestHTTPServer(scratch: scratch)
        let database = mountPoint + "/outbox.db"
        let store = try OutboxStore(path: database)
        // Each request's summary keeps 4 KiB of its body: 48 outcomes need far more log than the
        // claim wrote, so their transaction cannot fit in space the log already has.
        try store.setWebservice(
            Webservice(name: "survey", method: .postRaw, url: "\(server.baseURL)/sleep/1500", body: String(repeating: "x", count: 4096)))
        let ids = try (0..<80).map { try store.enqueue(webservice: "survey", callID: "c\($0)") }
        // An empty log: the 80 inserts' 400 pages or so would otherwise have the worker start the
        // log over, and the outcomes would fit in the file's space.
        try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let worker = try WorkerProcess(database: database, logPath: scratch.path("worker.log"))
        // The first 48 (the webservice's share of 64 slots) are on their way to the receiver.
        try waitUntil { try server.requests().count >= 48 }

        let filler = mountPoint + "/filler"
        _ = try runProcess("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=4k"])
        waitUntil(15) { worker.output.contains("while recording") }
        XCTAssertTrue(worker.process.isRunning, "a full disk must not stop the worker")
        try FileManager.default.removeItem(atPath: filler)

        let events = try waitForFinalStates(store, ids: ids)
        XCTAssertEqual(worker.stop(), 0, worker.output)
        XCTAssertTrue(events.values.allSatisfy { $0.state == .delivered }, "\(events.values.map(\.state))")
        let keys = try server.requests().compactMap { $0.header("Idempotency-Key") }
        XCTAssertEqual(keys.count, ids.count, "each event sent once")
        XCTAssertEqual(Set(keys).count, ids.count)
        for id in ids { XCTAssertEqual(try store.attempts(eventID: id).count, 1, "event \(id)") }
    }

    /// Issue 11, item 18: a worker started while the disk is full waits for space instead of
    /// exiting, then delivers.
    func testAWorkerStartedOnAFullDiskWaitsForSpace() throws {
        let scratch = try Scratch()
        let mountPoint = try smallDisk(in: scratch)

        let server = try TestHTTPServer(scratch: scratch)
        let database = mountPoint + "/outbox.db"
        var ids: [Int64] = []
        do {
            // Closed again before the disk fills, so the worker must create the -wal and -shm files.
            let store = try OutboxStore(path: database)
            try store.setWebservice(Webservice(name: "survey", url: "\(server.baseURL)/x"))
            ids = try (0..<3).map { try store.enqueue(webservice: "survey", callID: "c\($0)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: database + "-wal"))
        let filler = mountPoint + "/filler"
        _ = try runProcess("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=4k"])

        let worker = try WorkerProcess(database: database, logPath: scratch.path("worker.log"))
        waitUntil(15) { worker.output.contains("database unavailable at start") }
        XCTAssertTrue(worker.process.isRunning, "a full disk at start must not stop the worker: \(worker.output)")

        try FileManager.default.removeItem(atPath: filler)
        let store = try OutboxStore(path: database)
        let events = try waitForFinalStates(store, ids: ids)
        XCTAssertEqual(worker.stop(), 0, worker.output)
        XCTAssertTrue(events.values.allSatisfy { $0.state == .delivered })
        XCTAssertEqual(worker.output.components(separatedBy: "database unavailable at start").count - 1, 1, "said once")
    }
}
