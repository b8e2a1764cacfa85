import Foundation
import XCTest

@testable import PostCall

/// Issue 11, end to end: each way main at e56e005 lost an event, leaked call data or misbehaved,
/// against real worker processes, real receivers and real database files.
final class PromiseTests: EndToEndTestCase {
    private var dotnetWSDL: String { testsDirectory.appendingPathComponent("Fixtures/wsdl/dotnet-wrapped.wsdl").path }

    private func deliver(_ ids: [Int64], arguments: [String] = []) throws -> [Int64: EventSummary] {
        let worker = try WorkerProcess(database: db, logPath: scratch.path("worker-\(UUID().uuidString).log"), arguments: arguments)
        let events = try waitForFinalStates(store, ids: ids)
        XCTAssertEqual(worker.stop(), 0, worker.output)
        return events
    }

    private func redirectURL(_ status: Int, to target: String) -> String {
        "\(server.baseURL)/redirect/\(status)?to=" + (target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? target)
    }

    // MARK: Silent loss

    /// Item 1: a POST answered with a redirect is never recorded delivered, and is not re-sent as a GET.
    func testRedirectsAreNeverDeliveriesUnlessFollowedWithMethodAndBody() throws {
        try onEachBackend {
            let target = "\(server.baseURL)/moved"
            var ids: [Int: Int64] = [:]
            for status in [301, 302, 303, 307, 308] {
                try set(["r\(status)", "--method", "POST", "--url", redirectURL(status, to: target), "--param", "q1={{q1}}",
                         "--max-attempts", "1", "--max-age", "0"])
                ids[status] = try store.enqueue(webservice: "r\(status)", callID: "c\(status)", variablesJSON: #"{"q1":"5"}"#)
            }
            let events = try deliver(Array(ids.values), arguments: ["--retry-first-delay", "100ms"])
            for (status, id) in ids {
                XCTAssertEqual(events[id]?.state, .dead, "\(status) must never count as delivered")
                let error = try XCTUnwrap(try store.attempts(eventID: id).first?.error)
                XCTAssertTrue(error.contains("http \(status)") && error.contains(target), "the error names status and Location: \(error)")
            }
            XCTAssertEqual(try store.attempts(eventID: try XCTUnwrap(ids[302])).first?.outcome, .failed, "out of budget after one attempt")
            XCTAssertTrue(try server.requests().allSatisfy { !$0.target.hasPrefix("/moved") }, "a redirect is not followed by default")
        }
    }

    func testFollowedRedirectsKeepTheMethodAndBodyAndDropSecretsAcrossOrigins() throws {
        try onEachBackend {
            let other = try TestHTTPServer(scratch: scratch)
            try set(["moved", "--method", "PUT", "--url", redirectURL(303, to: "\(other.baseURL)/new"), "--param", "q1={{q1}}",
                     "--header", "X-Api-Key: k-123", "--header", "Authorization: Bearer t", "--header", "X-Trace: t1",
                     "--follow-redirects"])
            let id = try store.enqueue(webservice: "moved", callID: "c", variablesJSON: #"{"q1":"5"}"#)
            let events = try deliver([id])
            XCTAssertEqual(events[id]?.state, .delivered)
            let arrived = try XCTUnwrap(try other.requests().first)
            XCTAssertEqual(arrived.method, "PUT", "303 must not turn the PUT into a GET")
            XCTAssertEqual(arrived.body, "q1=5")
            XCTAssertEqual(arrived.target, "/new")
            XCTAssertNil(arrived.header("X-Api-Key"), "another origin gets no secret header")
            XCTAssertNil(arrived.header("Authorization"))
            XCTAssertEqual(arrived.header("X-Trace"), "t1")
            XCTAssertEqual(arrived.header("Idempotency-Key"), "\(try store.outboxID())-\(id)")
            XCTAssertEqual(try store.attempts(eventID: id).count, 1, "a followed redirect is part of one attempt")
        }
    }

    /// Item 2: a SOAP fault with a long detail sent with 200 is no delivery, and one sent with 500
    /// is not retried for a day; an HTML page with 200 is no delivery either.
    func testSOAPFaultsWithLongDetailsAndNonSOAPBodiesAreNotDeliveries() throws {
        try onEachBackend {
            let cases: [(name: String, path: String, state: EventState, error: String)] = [
                ("fault200", "/soapfault/200/20000", .dead, "soap fault Client"),
                ("fault500", "/soapfault/500/20000", .dead, "soap fault Client"),
                ("html", "/html", .dead, "gave up after 1 attempts: invalid response"),
            ]
            var ids: [String: Int64] = [:]
            for row in cases {
                try set([row.name, "--wsdl", dotnetWSDL, "--operation", "SaveSurvey", "--url", server.baseURL + row.path,
                         "--param", "CallId={{call_id}}", "--param", "Score=4", "--max-attempts", "1", "--max-age", "0"])
                ids[row.name] = try store.enqueue(webservice: row.name, callID: "c")
            }
            let events = try deliver(Array(ids.values))
            for row in cases {
                let id = try XCTUnwrap(ids[row.name])
                XCTAssertEqual(events[id]?.state, row.state, row.name)
                XCTAssertEqual(events[id]?.lastError?.hasPrefix(row.error), true, "\(row.name): \(String(describing: events[id]?.lastError))")
                XCTAssertEqual(try store.attempts(eventID: id).count, 1, "\(row.name): a client fault is not retried")
            }
            let kept = try XCTUnwrap(try store.attempts(eventID: try XCTUnwrap(ids["fault200"])).first?.response)
            XCTAssertEqual(kept.body.utf8.count, 4096, "the history still keeps 4 KiB")
        }
    }

    /// Item 3: a stop that interrupts the last allowed attempt neither kills the event nor uses up
    /// its budget.
    func testAStopInterruptingTheLastAttemptLeavesTheEventPendingWithItsBudget() throws {
        try onEachBackend {
            try set(["slow", "--url", "\(server.baseURL)/sleep/20000", "--timeout", "30", "--max-attempts", "1", "--max-age", "0"])
            let id = try store.enqueue(webservice: "slow", callID: "c")
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"), arguments: ["--drain-timeout", "100ms"])
            try waitUntil { try store.event(id: id)?.state == .inFlight }
            XCTAssertEqual(worker.stop(), 0, worker.output)
            let event = try XCTUnwrap(try store.event(id: id))
            XCTAssertEqual(event.state, .pending, "our own stop is never the receiver's failure: \(String(describing: event.lastError))")
            XCTAssertEqual(event.lastError?.hasPrefix("interrupted"), true)
            let budget = try store.database.query("SELECT attempts - retry_base_attempt FROM outbox WHERE id = ?", [.integer(id)]) { $0.int64(0) }
            XCTAssertEqual(budget, [0], "the interrupted attempt does not count")
        }
    }

    /// Item 4: pruning the newest events never makes the next ones reuse their ids (and so their
    /// Idempotency-Keys), and each outbox has its own id for the keys.
    func testEventIdsAreNeverReusedAfterPruneAndKeysDifferAcrossOutboxes() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/x"])
            let first = try (0..<3).map { try store.enqueue(webservice: "survey", callID: "c\($0)") }
            try store.database.run("UPDATE outbox SET state = 'delivered', created_at = 0")
            XCTAssertEqual(try run(["prune", "--older-than", "1d"]).status, 0)
            let next = try store.enqueue(webservice: "survey", callID: "after-prune")
            XCTAssertGreaterThan(next, try XCTUnwrap(first.max()), "an id is never handed out twice")

            let otherOutbox = try anotherOutbox()
            XCTAssertNotEqual(try otherOutbox.outboxID(), try store.outboxID())
            XCTAssertEqual(try store.outboxID().count, 32)
            let stats = try run(["stats", "--format", "json"])
            XCTAssertTrue(stats.stdout.contains("\"outbox_id\" : \"\(try store.outboxID())\""), stats.stdout)
        }
    }

    /// Item 6: rows that would never move are refused by the database, whoever inserts them.
    func testTheIVRCannotInsertRowsThatWouldNeverBeSent() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/x"])
            for columns in ["state) VALUES ('survey', 'c', 'in_flight'", "state) VALUES ('survey', 'c', 'delivered'",
                            "attempts) VALUES ('survey', 'c', 999", "lease_owner) VALUES ('survey', 'c', 'w'",
                            "delivered_at) VALUES ('survey', 'c', 1"] {
                let insert = try insertAsTheIVR("INSERT INTO outbox (webservice, call_id, \(columns))")
                XCTAssertNotEqual(insert.status, 0, columns)
                XCTAssertTrue(insert.stderr.contains("a new event starts pending"), insert.stderr)
            }
            XCTAssertEqual(try store.database.query("SELECT count(*) FROM outbox") { $0.int64(0) }, [0])
        }
    }

    // MARK: Leaks

    /// Read by another process: closing a file this one read would drop the POSIX locks that
    /// this process's open connection holds on it, and the next process to close its own
    /// connection would then take the file's log and index away from under it.
    private func fileContains(_ path: String, _ needle: String) -> Bool {
        let grep = Process()
        grep.executableURL = URL(fileURLWithPath: "/bin/grep")
        grep.arguments = ["-q", "-a", "-F", "--", needle, path]
        grep.standardError = FileHandle.nullDevice
        guard (try? grep.run()) != nil else { return false }
        grep.waitUntilExit()
        return grep.terminationStatus == 0
    }

    /// Whether the outbox, its attempt log or either's write-ahead log holds `needle`.
    private func outboxFilesContain(_ needle: String) -> Bool {
        scratch.databaseFiles.contains { fileContains($0, needle) }
    }

    /// Item 8: a worker killed right after finalising private events leaves the scrub to any other
    /// worker: the values do not stay in the database file or its write-ahead log.
    func testAnotherWorkerFinishesTheScrubOfAKilledWorker() throws {
        try onEachBackend {
            // SQLite only: PostgreSQL's WAL and old row versions are out of a client's reach (README).
            guard backend == .sqlite else { return }
            try set(["secret", "--url", "\(server.baseURL)/x", "--private"])
            let id = try store.enqueue(webservice: "secret", callID: "c", variablesJSON: #"{"pin":"PIN-493817"}"#)
            // What the killed worker did before its scrub: the claim and the recorded final outcome.
            let entry = try XCTUnwrap(try store.claim(owner: "killed", limit: 1).first)
            try store.record([AttemptRecord(entry: entry, worker: "killed", startedAt: Timestamp.now(), durationMilliseconds: 1,
                                            outcome: .delivered, httpStatus: 200, isPrivate: true)])
            XCTAssertTrue(fileContains(scratch.databasePath + "-wal", "PIN-493817"), "the old row version is in the log until a scrub")

            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
            waitUntil { !outboxFilesContain("PIN-493817") }
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(try store.event(id: id)?.state, .delivered)
        }
    }

    /// Item 9: making a webservice private erases what its history kept of earlier calls.
    func testMakingAWebservicePrivateErasesItsEarlierCallData() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/status/500", "--param", "pin={{pin}}", "--max-attempts", "1", "--max-age", "0"])
            let id = try store.enqueue(webservice: "survey", callID: "c", variablesJSON: #"{"pin":"PIN-271828"}"#)
            _ = try deliver([id])
            XCTAssertNotNil(try store.attempts(eventID: id).first?.request, "kept while the webservice is not private")
            if backend == .sqlite {
                let attemptLog = Database.attemptLogPath(ofOutbox: scratch.databasePath)
                XCTAssertTrue(fileContains(attemptLog, "PIN-271828") || fileContains(attemptLog + "-wal", "PIN-271828"))
            }
            try set(["survey", "--private"])
            XCTAssertNil(try store.attempts(eventID: id).first?.request)
            XCTAssertNil(try store.attempts(eventID: id).first?.response)
            XCTAssertEqual(try store.database.query("SELECT variables FROM outbox WHERE id = ?", [.integer(id)]) { $0.text(0) }, ["{}"])
            guard backend == .sqlite else { return }
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker2.log"))
            waitUntil { !outboxFilesContain("PIN-271828") }
            XCTAssertEqual(worker.stop(), 0, worker.output)
        }
    }

    /// Item 10: a WSDL fetched over http cannot make postcall read this host's files.
    func testARemoteWSDLCannotImportLocalFiles() throws {
        try onEachBackend {
            let secret = scratch.path("secret.xsd")
            try """
                <s:schema xmlns:s="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" elementFormDefault="qualified">\
                <s:element name="Submit"><s:complexType><s:sequence><s:element name="LocalSecretField" type="s:string"/>\
                </s:sequence></s:complexType></s:element></s:schema>
                """.write(toFile: secret, atomically: true, encoding: .utf8)
            let site = scratch.path("site")
            try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
            try """
                <definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
                  xmlns:tns="urn:t" xmlns:s="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">
                  <types><s:schema targetNamespace="urn:t"><s:import namespace="urn:t" schemaLocation="file://\(secret)"/></s:schema></types>
                  <message name="In"><part name="parameters" element="tns:Submit"/></message>
                  <portType name="P"><operation name="Submit"><input message="tns:In"/></operation></portType>
                  <binding name="B" type="tns:P"><soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
                    <operation name="Submit"><soap:operation soapAction="Submit"/><input><soap:body use="literal"/></input></operation></binding>
                  <service name="S"><port name="Port" binding="tns:B"><soap:address location="http://127.0.0.1:1/s"/></port></service>
                </definitions>
                """.write(toFile: site + "/service.wsdl", atomically: true, encoding: .utf8)
            let http = Process()
            http.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            http.arguments = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", site, "0"]
            let output = Pipe()
            http.standardOutput = output
            http.standardError = FileHandle.nullDevice
            try http.run()
            defer { http.terminate() }
            var banner = ""
            while !banner.contains("port ") || !banner.hasSuffix("\n") {
                let byte = output.fileHandleForReading.readData(ofLength: 1)
                guard !byte.isEmpty else { break }
                banner += String(decoding: byte, as: UTF8.self)
            }
            let port = try XCTUnwrap(banner.split(separator: " ").firstIndex(of: "port").map { banner.split(separator: " ")[$0 + 1] })
            let listed = try postcall(["wsdl", "http://127.0.0.1:\(port)/service.wsdl"])
            XCTAssertFalse(listed.stdout.contains("LocalSecretField"), "a local file was read for a remote WSDL: \(listed.stdout)")
            XCTAssertTrue(listed.stdout.contains("UNSUPPORTED") && listed.stdout.contains("imports only over http(s)"), listed.stdout)
            // The same document read from disk may import from disk.
            let local = try postcall(["wsdl", site + "/service.wsdl"])
            XCTAssertTrue(local.stdout.contains("LocalSecretField"), local.stdout + local.stderr)
        }
    }

    /// Item 12: logs carry the error class only; secrets in query strings are masked.
    func testLogsCarryOnlyErrorClassesAndQuerySecretsAreMasked() throws {
        try onEachBackend {
            try set(["down", "--url", "http://127.0.0.1:1/x?call={{call_id}}", "--max-attempts", "1", "--max-age", "0"])
            try set(["keyed", "--method", "GET", "--url", "\(server.baseURL)/x?api_key=K-SECRET-1&lang=en", "--param", "token=T-SECRET-2",
                     "--param", "sig={{sig}}"])
            let down = try store.enqueue(webservice: "down", callID: "CALL-5551234")
            let keyed = try store.enqueue(webservice: "keyed", callID: "c", variablesJSON: #"{"sig":"S-SECRET-3"}"#)
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
            _ = try waitForFinalStates(store, ids: [down, keyed])
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertTrue(worker.output.contains("error=connect"), worker.output)
            XCTAssertFalse(worker.output.contains("CALL-5551234"), "curl's message names the URL: \(worker.output)")
            XCTAssertFalse(worker.output.contains("127.0.0.1:1"), worker.output)

            let shown = try run(["show", String(keyed)])
            let configured = try run(["webservice", "show", "keyed"])
            for text in [shown.stdout, configured.stdout] {
                for secret in ["K-SECRET-1", "T-SECRET-2", "S-SECRET-3"] { XCTAssertFalse(text.contains(secret), "\(secret) in \(text)") }
            }
            XCTAssertTrue(shown.stdout.contains("api_key=****&lang=en"), shown.stdout)
            XCTAssertTrue(configured.stdout.contains("param:         token=****"), configured.stdout)
            XCTAssertEqual(try server.requests().first?.target.contains("api_key=K-SECRET-1"), true, "the receiver still gets it")
        }
    }

    /// Item 13: what receivers and callers sent cannot drive the terminal.
    func testHumanOutputEscapesControlCharacters() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/x"])
            let id = try store.enqueue(webservice: "survey", callID: "evil\u{1b}[2J\u{1b}]0;owned\u{07}")
            _ = try deliver([id])
            for arguments in [["history"], ["history", "--format", "csv"], ["show", String(id)]] {
                let output = try run(arguments)
                XCTAssertEqual(output.status, 0, output.stderr)
                XCTAssertFalse(output.stdout.contains("\u{1b}"), "\(arguments): a raw escape reached the terminal")
                XCTAssertFalse(output.stdout.contains("\u{07}"), "\(arguments)")
                XCTAssertTrue(output.stdout.contains("evil\\x1b[2J\\x1b]0;owned\\x07"), "\(arguments): \(output.stdout)")
            }
            let json = try run(["history", "--format", "json"])
            XCTAssertTrue(json.stdout.contains(#"evil\u001b[2J"#), "JSON keeps the value, escaped the JSON way: \(json.stdout)")
        }
    }

    // MARK: Robustness

    /// Item 14: a client dripping a byte at a time into the metrics port does not hold up delivery.
    func testASlowMetricsClientCannotStallDelivery() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/x"])
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"), arguments: ["--metrics-port", "0"])
            waitUntil { worker.output.contains("metrics listening") }
            let port = try XCTUnwrap(worker.output.split(separator: "\n").first { $0.contains("metrics listening") }
                .flatMap { $0.split(separator: ":").last }.flatMap { Int($0.prefix { $0.isNumber }) })
            let drip = Process()
            drip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            // It drips for 30 s whatever the server does (postcall drops it after a second): the
            // events must be delivered before it is done.
            drip.arguments = ["python3", "-c", """
                import socket, time
                start = time.monotonic()
                s = socket.create_connection(("127.0.0.1", \(port)))
                for byte in b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n" * 10:
                    if time.monotonic() > start + 30: break
                    try: s.send(bytes([byte]))
                    except OSError: pass
                    time.sleep(0.15)
                """]
            try drip.run()
            defer { drip.terminate() }
            Thread.sleep(forTimeInterval: 0.5)  // the dripping client is connected and being read
            let ids = try (0..<20).map { try store.enqueue(webservice: "survey", callID: "c\($0)") }
            let events = try waitForFinalStates(store, ids: ids)
            XCTAssertTrue(drip.isRunning, "the events must be delivered while the slow client still drips")
            XCTAssertTrue(events.values.allSatisfy { $0.state == .delivered })
            XCTAssertEqual(worker.stop(), 0, worker.output)
        }
    }

    /// Item 15: a mistyped --db is reported, not created.
    func testAMissingDatabaseIsAnErrorExceptForTheCommandsThatCreateOne() throws {
        try onEachBackend {
            // PostgreSQL: PostgresFleetTests.testAnOutboxWithoutTheSchemaIsRefusedUntilMigrated.
            guard backend == .sqlite else { return }
            let missing = scratch.path("typo.db")
            for arguments in [["history"], ["health"], ["stats"], ["show", "1"], ["retry", "1"], ["prune", "--older-than", "1d"],
                              ["webservice", "list"], ["worker"]] {
                let result = try postcall(arguments + ["--db", missing])
                XCTAssertEqual(result.status, 1, "\(arguments): \(result.stdout) \(result.stderr)")
                XCTAssertTrue((result.stdout + result.stderr).contains(missing), "\(arguments) must name the path: \(result.stderr)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "\(arguments) created the database")
            }
            XCTAssertEqual(try postcall(["migrate", "--db", missing]).status, 0)
            XCTAssertTrue(FileManager.default.fileExists(atPath: missing))
        }
    }

    /// Items 16 and 17: out-of-range durations and unknown states are bad input (exit 2), never a crash.
    func testOverflowingDurationsAndUnknownStatesAreBadInput() throws {
        try onEachBackend {
            try set(["survey", "--url", "\(server.baseURL)/x"])
            for arguments in [["prune", "--older-than", "9999999999999999d"], ["history", "--since", "9999999999999999d"],
                              ["history", "--until", "99999999999w"], ["webservice", "set", "survey", "--max-age", "9999999999999999d"],
                              ["health", "--max-pending-age", "9999999999999999d"], ["retry", "--state", "bogus"],
                              ["history", "--state", "lost"], ["worker", "--drain-timeout", "9999999999999d"]] {
                let result = try run(arguments)
                XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
                XCTAssertFalse(result.stderr.isEmpty, "\(arguments) must say why")
            }
        }
    }
}
