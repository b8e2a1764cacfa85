import Foundation
import XCTest

@testable import PostCall

/// What support staff use: history, show, retry, stats, prune, and privacy mode.
final class SupportTests: EndToEndTestCase {



    private func deliverAll() throws {
        let ids = try store.database.query("SELECT id FROM outbox WHERE state IN ('pending', 'in_flight')") { $0.int64(0) }
        let worker = try WorkerProcess(
            database: db, logPath: scratch.path("worker-\(UUID().uuidString).log"),
            arguments: ["--breaker-threshold", "1000"])
        try waitForFinalStates(store, ids: ids)
        XCTAssertEqual(worker.stop(), 0, worker.output)
    }

    func testHistoryFormatsAndFilters() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/fast"])
            try set(["broken", "--url", "\(server.baseURL)/status/404"])
            try store.enqueue(webservice: "survey", callID: "call-1")
            try store.enqueue(webservice: "broken", callID: "call-1")
            try store.enqueue(webservice: "survey", callID: "call-2, \"quoted\"")
            try deliverAll()

            let table = try run(["history", "--call-id", "call-1"])
            XCTAssertEqual(table.status, 0, table.stderr)
            let lines = table.stdout.split(separator: "\n")
            XCTAssertEqual(lines.count, 3, table.stdout)
            XCTAssertTrue(lines[0].hasPrefix("ID  CREATED"))
            XCTAssertTrue(lines[1].contains("broken") && lines[1].contains("dead") && lines[1].contains("http 404"), "newest first: \(lines[1])")
            // Aligned: every row's state stands in the header's STATE column, preceded by padding.
            let stateColumn = try XCTUnwrap(lines[0].range(of: "STATE")).lowerBound.utf16Offset(in: lines[0])
            for (line, state) in zip(lines.dropFirst(), ["dead", "delivered"]) {
                let characters = Array(line)
                XCTAssertEqual(String(characters.dropFirst(stateColumn).prefix(state.count)), state, "misaligned: \(line)")
                XCTAssertEqual(characters[stateColumn - 1], " ", "misaligned: \(line)")
            }

            let json = try run(["history", "--webservice", "survey", "--state", "delivered", "--format", "json"])
            let events = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            XCTAssertEqual(events.count, 2)
            for key in ["id", "webservice", "call_id", "reason", "state", "attempts", "created_at", "delivered_at", "next_attempt_at", "last_error"] {
                XCTAssertTrue(events[0].keys.contains(key), "missing key \(key)")
            }

            let csv = try run(["history", "--format", "csv", "--since", "1h"])
            XCTAssertTrue(csv.stdout.contains(#""call-2, ""quoted""""#), csv.stdout)
            XCTAssertEqual(csv.stdout.split(separator: "\n").count, 4)

            XCTAssertEqual(try run(["history", "--since", "tomorrow"]).status, 2)
            XCTAssertEqual(try run(["history", "--state", "lost"]).status, 2)
            XCTAssertEqual(try run(["history", "--until", "1h"]).stdout.split(separator: "\n").count, 1, "nothing older than an hour")
        }
    }

    func testEnqueueKeepsJSONTypesAndLetsVarOverride() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/fast"])
            let result = try run(["enqueue", "survey", "--call-id", "c", "--vars-json", #"{"n":5,"t":true,"s":"a\"b","z":null}"#,
                                  "--var", "s=over", "--var", #"q=x"y"#])
            XCTAssertEqual(result.status, 0, result.stderr)
            let id = try XCTUnwrap(Int64(result.stdout.trimmingWhitespace()))
            let stored = try store.database.query("SELECT variables FROM outbox WHERE id = ?", [.integer(id)]) { $0.text(0) }
            XCTAssertEqual(stored, [#"{"n":5,"t":true,"z":null,"s":"over","q":"x\"y"}"#])
            XCTAssertEqual(try run(["enqueue", "survey", "--call-id", "c", "--vars-json", "[1]"]).status, 2)
            XCTAssertEqual(try run(["enqueue", "nope", "--call-id", "c"]).status, 2, "an unknown webservice is bad input")
        }
    }

    func testRetryRequeuesDeadEventsOfAWebserviceAfterItsURLWasFixed() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/status/404"])
            try set(["other", "--url", "\(server.baseURL)/status/400"])
            let dead = try (0..<3).map { try store.enqueue(webservice: "survey", callID: "c\($0)") }
            let otherDead = try store.enqueue(webservice: "other", callID: "o")
            try deliverAll()
            XCTAssertTrue(try dead.allSatisfy { try store.event(id: $0)?.state == .dead })

            try set(["survey", "--url", "\(server.baseURL)/fixed"])
            let retried = try run(["retry", "--state", "dead", "--webservice", "survey", "--since", "1h"])
            XCTAssertEqual(retried.status, 0, retried.stderr)
            XCTAssertEqual(retried.stdout.split(separator: "\n").first, "requeued 3 events")
            XCTAssertEqual(try store.event(id: otherDead)?.state, .dead, "another webservice's dead events stay")
            try deliverAll()
            for id in dead {
                XCTAssertEqual(try store.event(id: id)?.state, .delivered)
                XCTAssertEqual(try store.attempts(eventID: id).map(\.attempt), [1, 2], "the attempt log goes on")
            }

            let byID = try run(["retry", String(otherDead), "999999"])
            XCTAssertEqual(byID.status, 0, byID.stderr)
            XCTAssertTrue(byID.stdout.contains("requeued 1 event") && byID.stdout.contains("not found: 999999"), byID.stdout)
            XCTAssertEqual(try store.event(id: otherDead)?.state, .pending)
            XCTAssertEqual(try run(["retry"]).status, 2, "no ids and no filter is bad usage")
        }
    }

    func testARequeuedEventGetsAFreshRetryBudget() throws {
        try onEachBackend {
            try set(["down", "--url", "\(server.baseURL)/status/503", "--max-attempts", "2", "--max-age", "0"])
            let id = try store.enqueue(webservice: "down", callID: "c")
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("w.log"),
                arguments: ["--retry-first-delay", "50ms", "--breaker-threshold", "1000"])
            try waitForFinalStates(store, ids: [id])
            XCTAssertEqual(try store.attempts(eventID: id).count, 2)
            XCTAssertEqual(try run(["retry", String(id)]).status, 0)
            try waitUntil { try store.event(id: id)?.state == .dead && store.attempts(eventID: id).count == 4 }
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(try store.attempts(eventID: id).map(\.outcome), [.retry, .failed, .retry, .failed])
        }
    }

    func testStatsReportsStatesWebservicesRatesAndLeases() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/fast"])
            try set(["broken", "--url", "\(server.baseURL)/status/404"])
            for index in 0..<4 { try store.enqueue(webservice: "survey", callID: "s\(index)") }
            try store.enqueue(webservice: "broken", callID: "b")
            try deliverAll()
            try store.enqueue(webservice: "survey", callID: "waiting")
            let leased = try store.enqueue(webservice: "survey", callID: "leased")
            try store.database.run("UPDATE outbox SET created_at = created_at - 60000 WHERE call_id = 'waiting'")
            _ = try store.database.run(
                "UPDATE outbox SET state = 'in_flight', lease_owner = 'host-a:1', lease_expires_at = 9e12 WHERE id = ?", [.integer(leased)])

            let result = try run(["stats", "--format", "json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let stats = try JSONDecoder().decode(OutboxStats.self, from: Data(result.stdout.utf8))
            XCTAssertEqual(stats.states, ["pending": 1, "in_flight": 1, "delivered": 4, "dead": 1])
            XCTAssertEqual(stats.webservices.map(\.name), ["broken", "survey"])
            XCTAssertEqual(stats.webservices.last?.delivered, 4)
            XCTAssertEqual(stats.webservices.first?.dead, 1)
            let fiveMinutes = try XCTUnwrap(stats.windows.first)
            XCTAssertEqual(fiveMinutes.window, "5m")
            XCTAssertEqual(fiveMinutes.attempts, 5)
            XCTAssertEqual(fiveMinutes.delivered, 4)
            XCTAssertEqual(fiveMinutes.failureRate, 0.2, accuracy: 0.001)
            XCTAssertGreaterThanOrEqual(stats.oldestPendingAgeSeconds ?? 0, 60)
            XCTAssertEqual(stats.leases.map(\.worker), ["host-a:1"])

            let table = try run(["stats"])
            XCTAssertTrue(table.stdout.contains("events: pending 1, in_flight 1, delivered 4, dead 1"), table.stdout)
        }
    }

    func testPruneDeletesOnlyOldDeliveredEventsInBatches() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/fast"])
            try store.setWebservice(Webservice(name: "quiet", url: "\(server.baseURL)/x"))
            // 2,500 old delivered events (more than two batches), an old dead one, an old pending one.
            try store.database.writeTransaction {
                for index in 0..<2_500 {
                    let id = try store.enqueue(webservice: "survey", callID: "old-\(index)")
                    try store.database.run(
                        "INSERT INTO attempts (event_id, attempt, worker, started_at, duration_ms, outcome) VALUES (?, 1, 'w', 0, 1, 'delivered')",
                        [.integer(id)])
                }
                // 40 days, written out: PostgreSQL would compute 40 * 86400000 in 32 bits.
                try store.database.run("UPDATE outbox SET state = 'delivered', created_at = created_at - 3456000000")
                let dead = try store.enqueue(webservice: "survey", callID: "old-dead")
                let pending = try store.enqueue(webservice: "quiet", callID: "old-pending")
                try store.database.run(
                    "UPDATE outbox SET state = 'dead', created_at = created_at - 3456000000 WHERE id = ?", [.integer(dead)])
                try store.database.run("UPDATE outbox SET created_at = created_at - 3456000000 WHERE id = ?", [.integer(pending)])
            }
            let recent = try store.enqueue(webservice: "survey", callID: "recent")
            try store.database.run("UPDATE outbox SET state = 'delivered' WHERE id = ?", [.integer(recent)])

            let result = try run(["prune", "--older-than", "30d"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stdout.trimmingCharacters(in: .newlines), "pruned 2500 delivered events older than 30d")
            let remaining = try store.database.query("SELECT call_id FROM outbox ORDER BY call_id") { $0.text(0) }
            XCTAssertEqual(remaining, ["old-dead", "old-pending", "recent"])
            XCTAssertEqual(try store.database.query("SELECT count(*) FROM attempts") { $0.int64(0) }.first, 0)
            XCTAssertEqual(try run(["prune", "--older-than", "soon"]).status, 2)
        }
    }

    /// Private webservices: after delivery (or death) the call's data is in neither the database
    /// file, its WAL, nor the worker's output; only timing, status and error class remain.
    func testPrivateDataLeavesNoTraceInTheDatabaseItsWALOrTheLogs() throws {
        try onEachBackend {
            let marker = "PRIVATE-MARKER-\(UUID().uuidString)"
            try set(["private", "--private", "--method", "POST_RAW", "--url", "\(server.baseURL)/fast?s={{secret}}",
                     "--header", "X-Secret: {{secret}}", "--header", "Content-Type: application/json",
                     "--body", #"{"secret":"{{secret}}"}"#])
            try set(["private-broken", "--private", "--url", "\(server.baseURL)/status/400", "--param", "s={{secret}}"])
            try set(["private-flaky", "--private", "--url", "\(server.baseURL)/script/503,200", "--param", "s={{secret}}"])
            let variables = #"{"secret":"\#(marker)"}"#
            let ids = [
                try store.enqueue(webservice: "private", callID: "c1", variablesJSON: variables),
                try store.enqueue(webservice: "private-broken", callID: "c2", variablesJSON: variables),
                try store.enqueue(webservice: "private-flaky", callID: "c3", variablesJSON: variables),
            ]
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"),
                arguments: ["--log-level", "trace", "--retry-first-delay", "50ms"])
            let events = try waitForFinalStates(store, ids: ids)
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(ids.map { events[$0]?.state }, [.delivered, .dead, .delivered])

            // The receiver got the data: the marker was really rendered and sent.
            XCTAssertTrue(try server.requests().contains { $0.body.contains(marker) })

            let shown = try run(["show", String(ids[1]), "--format", "json"])
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
            let attempt = try XCTUnwrap((json["attempt_log"] as? [[String: Any]])?.first)
            XCTAssertNil(attempt["request"])
            XCTAssertNil(attempt["response"])
            XCTAssertEqual(attempt["error"] as? String, "http 400")
            XCTAssertEqual(attempt["http_status"] as? Int, 400)

            let needle = Data(marker.utf8)
            XCTAssertNil(FileManager.default.contents(atPath: scratch.path("worker.log"))?.range(of: needle), "the marker is in the log")
            let pattern = SQLValue.text("%\(marker)%")
            XCTAssertEqual(
                try store.database.query(
                    """
                    SELECT (SELECT count(*) FROM outbox WHERE variables LIKE ?1 OR last_error LIKE ?1)
                         + (SELECT count(*) FROM attempts WHERE request LIKE ?1 OR response LIKE ?1 OR error LIKE ?1)
                    """, [pattern]) { $0.int64(0) }, [0], "no stored row holds the private data")
            if backend == .sqlite {
                // Our connection is still open, so the WAL is still there: the worker must have emptied it.
                // (PostgreSQL keeps old row versions until vacuum and WAL until recycled: the README says so.)
                XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.databasePath + "-wal"))
                for file in scratch.databaseFiles {
                    guard let bytes = FileManager.default.contents(atPath: file) else { continue }
                    XCTAssertNil(bytes.range(of: needle), "the private marker was found in \(file)")
                }
                store = nil
                let closed = try XCTUnwrap(FileManager.default.contents(atPath: scratch.databasePath))
                XCTAssertNil(closed.range(of: needle), "the private marker was found in the database after closing")
            }
            XCTAssertFalse(shown.stdout.contains(marker))
        }
    }
}
