import Foundation
import XCTest

@testable import PostCall

/// End to end: events in a real SQLite file, delivered by real `postcall worker` processes to a
/// real HTTP server on 127.0.0.1.
final class DeliveryTests: EndToEndTestCase {

    /// Every character class that an encoder must handle: separators, quotes, markup, non-ASCII, CR/LF.
    private let tricky = "a&b=c d\"e'<f>ü€\r\nX"
    private let trickyForm = "a%26b%3Dc+d%22e%27%3Cf%3E%C3%BC%E2%82%AC%0D%0AX"


    private func variables(_ values: [String: String]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: values, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Runs one worker until every event is final, stops it with SIGTERM and checks it exits 0.
    private func deliver(_ ids: [Int64], arguments: [String] = []) throws -> [Int64: EventSummary] {
        let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"), arguments: arguments)
        let events = try waitForFinalStates(store, ids: ids)
        XCTAssertEqual(worker.stop(), 0, worker.output)
        return events
    }

    /// The server's requests by their Idempotency-Key, which must be `<outbox id>-<event id>`.
    private func requestsByEvent() throws -> [Int64: [RecordedRequest]] {
        let prefix = try store.outboxID() + "-"
        return Dictionary(grouping: try server.requests()) { request in
            guard let key = request.header("Idempotency-Key"), key.hasPrefix(prefix) else { return -1 }
            return Int64(key.dropFirst(prefix.count)) ?? -1
        }
    }

    func testARunningWorkerPicksUpAnEditedWebserviceAtTheNextClaim() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/before"])
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
            let first = try store.enqueue(webservice: "survey", callID: "c1")
            try waitForFinalStates(store, ids: [first])
            try set(["survey", "--url", "\(server.baseURL)/after", "--header", "X-Edited: yes"])
            let second = try store.enqueue(webservice: "survey", callID: "c2")
            let events = try waitForFinalStates(store, ids: [second])
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(events[second]?.state, .delivered)
            let byEvent = try requestsByEvent()
            XCTAssertEqual(byEvent[first]?.map(\.target), ["/before"])
            XCTAssertEqual(byEvent[second]?.map(\.target), ["/after"])
            XCTAssertEqual(byEvent[second]?.first?.header("X-Edited"), "yes")
        }
    }

    func testEveryRequestTypeArrivesWithTheRightMethodQueryBodyAndHeaders() throws {
        try onEachBackend {
            let base = server.baseURL
            try set(["get", "--method", "GET", "--url", "\(base)/get/{{call_id}}?fixed=1", "--param", "v={{v}}",
                     "--param", "n={{n}}", "--header", "X-Name: {{name}}"])
            try set(["delete", "--method", "DELETE", "--url", "\(base)/delete", "--param", "v={{v}}"])
            try set(["post", "--method", "POST", "--url", "\(base)/post", "--param", "v={{v}}", "--param", "reason={{reason}}"])
            try set(["put", "--method", "PUT", "--url", "\(base)/put", "--param", "v={{v}}"])
            try set(["json", "--method", "POST_RAW", "--url", "\(base)/json", "--header", "Content-Type: application/json",
                     "--body", #"{"v":"{{v}}","n":{{n}},"event":{{event_id}}}"#, "--param", "src=ivr"])
            try set(["xml", "--method", "POST_RAW", "--url", "\(base)/xml", "--header", "Content-Type: application/xml",
                     "--body", "<r><v>{{v}}</v></r>"])
            try set(["text", "--method", "POST_RAW", "--url", "\(base)/text", "--body", "v={{v}}"])
            try set(["bare", "--method", "POST", "--url", "\(base)/bare"])

            let vars = try variables(["v": tricky, "n": "5", "name": "José"])
            var ids: [String: Int64] = [:]
            for name in ["get", "delete", "post", "put", "json", "xml", "text", "bare"] {
                ids[name] = try store.enqueue(webservice: name, callID: "call 1/ü", reason: "exit", variablesJSON: vars)
            }
            // One transfer slot: a single libcurl handle carries every method in turn, so nothing of one
            // request (method, body, headers) may leak into the next.
            let events = try deliver(Array(ids.values), arguments: ["--concurrency", "1"])
            XCTAssertTrue(events.values.allSatisfy { $0.state == .delivered }, "\(events.values.map { ($0.webservice, $0.lastError) })")

            let byEvent = try requestsByEvent()
            func only(_ name: String) throws -> RecordedRequest {
                let requests = byEvent[try XCTUnwrap(ids[name])] ?? []
                XCTAssertEqual(requests.count, 1, name)
                return try XCTUnwrap(requests.first)
            }

            let get = try only("get")
            XCTAssertEqual(get.method, "GET")
            XCTAssertEqual(get.target, "/get/call%201%2F%C3%BC?fixed=1&v=\(trickyForm)&n=5")
            XCTAssertEqual(get.body, "")
            // The server reads header bytes as Latin-1; the UTF-8 bytes must be exactly José's.
            XCTAssertEqual(get.header("X-Name").map { String(decoding: $0.unicodeScalars.map { UInt8($0.value) }, as: UTF8.self) }, "José")

            let delete = try only("delete")
            XCTAssertEqual(delete.method, "DELETE")
            XCTAssertEqual(delete.target, "/delete?v=\(trickyForm)")

            let post = try only("post")
            XCTAssertEqual(post.method, "POST")
            XCTAssertEqual(post.body, "v=\(trickyForm)&reason=exit")
            XCTAssertEqual(post.header("Content-Type"), "application/x-www-form-urlencoded")

            let put = try only("put")
            XCTAssertEqual(put.method, "PUT")
            XCTAssertEqual(put.body, "v=\(trickyForm)")
            XCTAssertEqual(put.header("Content-Type"), "application/x-www-form-urlencoded")

            let json = try only("json")
            XCTAssertEqual(json.method, "POST")
            XCTAssertEqual(json.target, "/json?src=ivr")
            XCTAssertEqual(json.header("Content-Type"), "application/json")
            let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.body.utf8)) as? [String: Any])
            XCTAssertEqual(parsed["v"] as? String, tricky, "the JSON body must carry the value intact")
            XCTAssertEqual(parsed["n"] as? Int, 5)
            XCTAssertEqual(parsed["event"] as? Int, Int(try XCTUnwrap(ids["json"])))

            let xml = try only("xml")
            XCTAssertEqual(xml.body, "<r><v>a&amp;b=c d&quot;e&apos;&lt;f&gt;ü€&#13;\nX</v></r>")

            let text = try only("text")
            XCTAssertEqual(text.body, "v=\(tricky)")
            XCTAssertEqual(text.header("Content-Type"), "text/plain; charset=utf-8")

            // A form's Content-Type line is libcurl's (HTTPTransfer): it must be there, once,
            // for an empty form too.
            let bare = try only("bare")
            XCTAssertEqual(bare.method, "POST")
            XCTAssertEqual(bare.body, "")
            XCTAssertEqual(bare.header("Content-Type"), "application/x-www-form-urlencoded")
            for name in ["post", "put", "bare", "json", "text"] { XCTAssertEqual(try only(name).headerCount("Content-Type"), 1, name) }

            for (name, id) in ids {
                let request = try only(name)
                XCTAssertEqual(request.headerCount("Idempotency-Key"), 1, name)
                XCTAssertEqual(request.header("Idempotency-Key"), "\(try store.outboxID())-\(id)", name)
            }
        }
    }

    func testALineBreakInAHeaderVariableIsRecordedAndNeverSent() throws {
        try onEachBackend {
            try set(["hdr", "--url", "\(server.baseURL)/hdr", "--header", "X-Name: {{name}}"])
            let bad = try store.enqueue(webservice: "hdr", callID: "c", variablesJSON: try variables(["name": "a\r\nX-Injected: 1"]))
            let good = try store.enqueue(webservice: "hdr", callID: "c", variablesJSON: try variables(["name": "fine"]))
            let events = try deliver([bad, good])
            XCTAssertEqual(events[bad]?.state, .dead)
            XCTAssertTrue(events[bad]?.lastError?.contains("header X-Name") == true, "\(String(describing: events[bad]?.lastError))")
            XCTAssertEqual(events[good]?.state, .delivered)
            let requests = try server.requests()
            XCTAssertEqual(requests.count, 1)
            XCTAssertNil(requests.first?.header("X-Injected"))
        }
    }

    func testTimeoutIsEnforcedAndRecordedAsARetry() throws {
        try onEachBackend {
            try set(["slow", "--url", "\(server.baseURL)/sleep/5000", "--timeout", "0.5"])
            let id = try store.enqueue(webservice: "slow", callID: "c")
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
            try waitUntil { !(try store.attempts(eventID: id).isEmpty) }
            XCTAssertEqual(worker.stop(), 0, worker.output)

            let attempt = try XCTUnwrap(try store.attempts(eventID: id).first)
            XCTAssertEqual(attempt.outcome, .retry)
            XCTAssertTrue(attempt.error?.hasPrefix("timeout") == true, "\(String(describing: attempt.error))")
            XCTAssertLessThan(attempt.durationMilliseconds, 5_000, "the 0.5 s timeout must cut the 5 s response short")
            XCTAssertNil(attempt.httpStatus)
            let event = try XCTUnwrap(try store.event(id: id))
            XCTAssertEqual(event.state, .pending)
            XCTAssertNotNil(event.nextAttemptAt)
        }
    }

    func testNon2xxIsRecordedServerErrorsRetryClientErrorsDie() throws {
        try onEachBackend {
            try set(["unavailable", "--url", "\(server.baseURL)/status/503"])
            try set(["missing", "--url", "\(server.baseURL)/status/404"])
            let unavailable = try store.enqueue(webservice: "unavailable", callID: "c")
            let missing = try store.enqueue(webservice: "missing", callID: "c")
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
            try waitUntil { try store.attempts(eventID: unavailable).count == 1 && store.event(id: missing)?.state == .dead }
            XCTAssertEqual(worker.stop(), 0, worker.output)

            XCTAssertEqual(try store.event(id: unavailable)?.state, .pending)
            XCTAssertEqual(try store.attempts(eventID: unavailable).first?.httpStatus, 503)
            XCTAssertEqual(try store.attempts(eventID: unavailable).first?.outcome, .retry)
            XCTAssertEqual(try store.attempts(eventID: missing).first?.httpStatus, 404)
            XCTAssertEqual(try store.event(id: missing)?.lastError, "http 404")
        }
    }

    /// The IVR's INSERT, exactly as INTERFACE.md writes it, through sqlite3 or psql.
    func testAnEventInsertedWithTheDatabasesOwnClientIsDelivered() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/survey/{{call_id}}", "--param", "q1={{q1}}", "--param", "ani={{ani}}"])
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
            let insert = try insertAsTheIVR(
                #"INSERT INTO outbox (webservice, call_id, reason, variables) VALUES ('survey', 'call-0001', 'hangup', '{"q1":"5","ani":"+15551230000"}');"#)
            XCTAssertEqual(insert.status, 0, insert.stderr)
            let id = try XCTUnwrap(try store.events(matching: HistoryFilter(callID: "call-0001")).first?.id)
            try waitForFinalStates(store, ids: [id])
            XCTAssertEqual(worker.stop(), 0, worker.output)

            XCTAssertEqual(try store.event(id: id)?.state, .delivered)
            let request = try XCTUnwrap(try server.requests().first)
            XCTAssertEqual(request.target, "/survey/call-0001")
            XCTAssertEqual(request.body, "q1=5&ani=%2B15551230000")

            let shown = try postcall(["show", "--db", db, String(id), "--format", "json"])
            XCTAssertEqual(shown.status, 0, shown.stderr)
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(json["state"] as? String, "delivered")
            XCTAssertEqual(json["call_id"] as? String, "call-0001")
            let log = try XCTUnwrap(json["attempt_log"] as? [[String: Any]])
            XCTAssertEqual(log.count, 1)
            XCTAssertEqual(log.first?["http_status"] as? Int, 200)
            XCTAssertEqual(log.first?["outcome"] as? String, "delivered")
            XCTAssertNotNil(log.first?["request"])
        }
    }

    func testTwoWorkersDeliverEveryEventOnce() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/sleep/5", "--param", "call={{call_id}}"])
            let first = try WorkerProcess(database: db, logPath: scratch.path("w1.log"), arguments: ["--id", "w1", "--concurrency", "16"])
            let second = try WorkerProcess(database: db, logPath: scratch.path("w2.log"), arguments: ["--id", "w2", "--concurrency", "16"])
            var ids: [Int64] = []
            for index in 0..<600 { ids.append(try store.enqueue(webservice: "survey", callID: "call-\(index)")) }
            let events = try waitForFinalStates(store, ids: ids)
            XCTAssertEqual(first.stop(), 0, first.output)
            XCTAssertEqual(second.stop(), 0, second.output)

            XCTAssertTrue(events.values.allSatisfy { $0.state == .delivered && $0.attempts == 1 })
            let byEvent = try requestsByEvent()
            XCTAssertEqual(Set(byEvent.keys), Set(ids))
            XCTAssertEqual(byEvent.values.filter { $0.count != 1 }.count, 0, "no event may be sent twice in the normal case")
            let workers = try store.database.query("SELECT DISTINCT worker FROM attempts ORDER BY worker") { $0.text(0) }
            XCTAssertEqual(workers, ["w1", "w2"], "both workers must have taken a share")
        }
    }

    func testAKilledWorkersEventsAreDeliveredAfterTheirLease() throws {
        try onEachBackend {
            try set(["slow", "--url", "\(server.baseURL)/sleep/3000", "--timeout", "1"])
            let id = try store.enqueue(webservice: "slow", callID: "c")
            let victim = try WorkerProcess(database: db, logPath: scratch.path("victim.log"), arguments: ["--id", "victim"])
            try waitUntil { try store.event(id: id)?.state == .inFlight }
            victim.killHard()
            // Point the webservice at a fast path; the lease (1 s timeout + 30 s grace) must expire first.
            try set(["slow", "--url", "\(server.baseURL)/fast"])
            try store.database.run("UPDATE outbox SET lease_expires_at = lease_expires_at - 31000 WHERE id = ?", [.integer(id)])
            let rescuer = try WorkerProcess(database: db, logPath: scratch.path("rescuer.log"), arguments: ["--id", "rescuer"])
            let events = try waitForFinalStates(store, ids: [id])
            XCTAssertEqual(rescuer.stop(), 0, rescuer.output)
            XCTAssertEqual(events[id]?.state, .delivered)
            XCTAssertEqual(events[id]?.attempts, 2, "the killed worker's claim counts as an attempt")
            XCTAssertEqual(try store.attempts(eventID: id).map(\.worker), ["rescuer"])
        }
    }

    /// A worker claims events ahead of its free slots, so a slot that frees is refilled without
    /// waiting for a claim's round trip, yet never has more than the webservice's share in flight.
    func testAWorkerClaimsAheadOfItsSlotsButSendsNoMoreThanItsShare() throws {
        try onEachBackend {
            let ids = try slowEvents(24, timeout: 10) { 200 + 40 * ($0 % 5) }
            // 4 slots: a share of 3 for one webservice, and up to 32 events claimed ahead (a
            // round trip to the store lasts the pause it leaves the IVR, at least).
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"), arguments: ["--concurrency", "4"])
            var mostLeased = 0
            try waitUntil {
                mostLeased = max(mostLeased, try leasedCount())
                return try ids.allSatisfy { try store.event(id: $0)?.state == .delivered }
            }
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertGreaterThan(mostLeased, 3 + 4, "events are claimed ahead of the free slots, more than the slots")
            XCTAssertEqual(try server.requests().count, ids.count)
            XCTAssertLessThanOrEqual(try mostAttemptsAtOnce(), 3, "never more than the share in flight")
        }
    }

    /// Claimed events that have not started when a stopping worker's drain time runs out go back
    /// to pending as if never claimed: no claim counted and nothing in their history. Those in
    /// flight are interrupted and say so.
    func testAStoppingWorkerGivesBackClaimedEventsThatDidNotStart() throws {
        try onEachBackend {
            let ids = try slowEvents(8, timeout: 10) { 500 + 200 * $0 }
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"), arguments: ["--concurrency", "4", "--drain-timeout", "100ms"])
            try waitUntil { try leasedCount() > 3 }
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(try leasedCount(), 0, "nothing stays leased to a stopped worker")
            var untouched = 0
            for id in ids {
                let event = try XCTUnwrap(try store.event(id: id))
                let attempts = try store.attempts(eventID: id)
                XCTAssertEqual(event.attempts, attempts.count, "event \(id): every counted claim has its attempt in the history")
                if event.state == .pending && attempts.isEmpty { untouched += 1 }
            }
            XCTAssertGreaterThan(untouched, 0, "some events were claimed ahead and given back")
        }
    }

    /// An event claimed ahead that waits for a slot longer than half its lease's grace goes back
    /// to pending, so it never runs past its lease (the lease then expires and the event would be
    /// claimed and sent a second time while its first request runs).
    func testAnEventClaimedAheadDoesNotWaitPastItsLease() throws {
        try onEachBackend {
            // Each request takes about 2.5 s of a 3 s timeout; with a 1 s grace a lease lasts 4 s,
            // and an event claimed ahead waits about 2.5 s for a slot.
            let ids = try slowEvents(9, timeout: 3) { 2400 + 30 * $0 }
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"), arguments: ["--concurrency", "4", "--lease-grace", "1s"])
            let events = try waitForFinalStates(store, ids: ids)
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertTrue(events.values.allSatisfy { $0.state == .delivered }, "\(events.values.map(\.state))")
            XCTAssertTrue(try requestsByEvent().values.allSatisfy { $0.count == 1 }, "each event sent once")
            XCTAssertFalse(worker.output.contains("lease lost"), worker.output)
        }
    }

    /// `count` events of a webservice whose receiver answers event `n` after `milliseconds(n)`:
    /// staggered, so transfers finish one by one while others run.
    private func slowEvents(_ count: Int, timeout seconds: Int, milliseconds: (Int) -> Int) throws -> [Int64] {
        try set(["slow", "--url", "\(server.baseURL)/sleep/{{ms}}", "--timeout", "\(seconds)"])
        return try (0..<count).map { try store.enqueue(webservice: "slow", callID: "c\($0)", variablesJSON: #"{"ms":"\#(milliseconds($0))"}"#) }
    }

    /// An event whose commit shows late (the IVR's fsync of the log is slow: a busy disk) is claimed
    /// once it shows, not at the next regular look: the change notification came when the log was
    /// written, and none comes when the commit becomes visible.
    func testAnEventWhoseCommitShowsLateIsClaimedWhenItShows() throws {
        try on(.sqlite) {
            try set(["fast", "--url", "\(server.baseURL)/ok"])
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"), arguments: ["--poll-interval", "60s"])
            waitUntil { worker.output.contains("worker started") }
            for (index, microseconds) in [5_000, 30_000, 100_000].enumerated() {
                // strace holds each fsync and fdatasync of the IVR's own client that long.
                let insert = try runProcess(
                    "/usr/bin/strace",
                    ["-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync,fdatasync", "-e", "inject=fsync,fdatasync:delay_exit=\(microseconds)",
                     "/usr/bin/sqlite3", db, "INSERT INTO outbox (webservice, call_id) VALUES ('fast', 'late-\(index)')"])
                XCTAssertEqual(insert.status, 0, insert.stderr)
                try waitUntil(10) {
                    try store.database.query("SELECT state FROM outbox WHERE call_id = ?", [.text("late-\(index)")]) { $0.text(0) }.first
                        == "delivered"
                }
            }
            XCTAssertEqual(worker.stop(), 0, worker.output)
        }
    }

    /// Events leased to any worker now.
    private func leasedCount() throws -> Int {
        Int(try store.database.query("SELECT count(*) FROM outbox WHERE state = 'in_flight'") { $0.int64(0) }.first ?? 0)
    }

    /// The most attempts that overlapped in time, from the history's start times and durations.
    private func mostAttemptsAtOnce() throws -> Int {
        let spans = try store.database.query("SELECT started_at, duration_ms FROM attempts") { ($0.int64(0), $0.int64(1)) }
        // At the same millisecond an end comes before a start: a slot freed, then refilled.
        let changes = spans.flatMap { [($0.0, 1), ($0.0 + $0.1, -1)] }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        var current = 0
        var most = 0
        for change in changes {
            current += change.1
            most = max(most, current)
        }
        return most
    }

    func testSIGTERMLetsTransfersInFlightFinish() throws {
        try onEachBackend {
            try set(["slow", "--url", "\(server.baseURL)/sleep/1500", "--timeout", "10"])
            let id = try store.enqueue(webservice: "slow", callID: "c")
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
            try waitUntil { try store.event(id: id)?.state == .inFlight }
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(try store.event(id: id)?.state, .delivered, "a stopping worker finishes what it started")
        }
    }
}
