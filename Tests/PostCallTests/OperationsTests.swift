import Foundation
import XCTest

@testable import PostCall

/// What operators rely on: metrics a real Prometheus parser accepts, selectable log formats,
/// the health check, and the systemd unit.
final class OperationsTests: EndToEndTestCase {

    func testMetricsAreValidPrometheusTextWithTheDocumentedSeries() throws {
        try onEachBackend {
            try store.setWebservice(Webservice(name: "survey", url: "\(server.baseURL)/fast"))
            try store.setWebservice(Webservice(name: "down", url: "\(server.baseURL)/status/503"))
            let ids = try (0..<5).map { try store.enqueue(webservice: "survey", callID: "c\($0)") }
            try store.enqueue(webservice: "down", callID: "d")
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"), arguments: ["--metrics-port", "0", "--log-format", "json"])
            try waitForFinalStates(store, ids: ids)
            try waitUntil { try store.attempts(eventID: ids.last! + 1).count == 1 }
            let address = try XCTUnwrap(
                worker.output.split(separator: "\n").compactMap { line -> String? in
                    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                        object["msg"] == "metrics listening" else { return nil }
                    return object["address"]
                }.first, worker.output)
            XCTAssertTrue(address.hasPrefix("http://127.0.0.1:"), "metrics listen on loopback by default")

            // prometheus_client's parser is the reference implementation's Python twin.
            let parsed = try runProcess(
                "/usr/bin/env",
                ["python3", "-c", """
                    import sys, urllib.request
                    from prometheus_client.parser import text_string_to_metric_families
                    text = urllib.request.urlopen(sys.argv[1]).read().decode()
                    for family in text_string_to_metric_families(text):
                        for sample in family.samples:
                            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                            print(f"{sample.name}|{labels}|{sample.value}")
                    """, address])
            XCTAssertEqual(worker.stop(), 0, worker.output)
            XCTAssertEqual(parsed.status, 0, parsed.stderr)
            let samples = Set(parsed.stdout.split(separator: "\n").map(String.init))
            XCTAssertTrue(samples.contains("postcall_deliveries_total|webservice=survey|5"), parsed.stdout)
            XCTAssertTrue(samples.contains("postcall_failures_total|outcome=retry,webservice=down|1"), parsed.stdout)
            XCTAssertTrue(samples.contains("postcall_attempt_duration_seconds_count|webservice=survey|5"), parsed.stdout)
            XCTAssertTrue(samples.contains("postcall_events|state=pending|1.0"), parsed.stdout)
            XCTAssertTrue(samples.contains("postcall_events|state=dead|0.0"), parsed.stdout)
            XCTAssertTrue(samples.contains("postcall_transfers_in_flight||0.0"), parsed.stdout)
            XCTAssertTrue(samples.contains { $0.hasPrefix("postcall_oldest_pending_age_seconds||") }, parsed.stdout)
        }
    }

    func testLogLinesAreLogfmtOrJSONAndCarryTheEvent() throws {
        try onEachBackend {
            try store.setWebservice(Webservice(name: "down", url: "\(server.baseURL)/status/404"))
            let id = try store.enqueue(webservice: "down", callID: "c")
            for format in ["logfmt", "json"] {
                let worker = try WorkerProcess(
                    database: db, logPath: scratch.path("\(format).log"), arguments: ["--log-format", format])
                waitUntil { worker.output.contains("worker started") }
                if format == "logfmt" { try waitForFinalStates(store, ids: [id]) }
                XCTAssertEqual(worker.stop(), 0, worker.output)
                let lines = worker.output.split(separator: "\n").map(String.init)
                XCTAssertFalse(lines.isEmpty)
                for line in lines {
                    switch format {
                    case "json":
                        XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], line)
                    default:
                        XCTAssertTrue(line.hasPrefix("ts=") && line.contains(" level=") && line.contains(" msg="), line)
                    }
                }
                if format == "logfmt" {
                    XCTAssertTrue(
                        lines.contains { $0.contains("level=error msg=\"event dead\"") && $0.contains("event=\(id)") && $0.contains("error=\"http 404\"") },
                        worker.output)
                }
            }
            XCTAssertEqual(try postcall(["worker", "--db", db, "--log-format", "xml"]).status, 2)
            let mistyped = try postcall(["worker", "--db", db], environment: ["POSTCALL_CONCURRENCY": "lots"])
            XCTAssertEqual(mistyped.status, 2)
            XCTAssertTrue(mistyped.stderr.contains(#"POSTCALL_CONCURRENCY="lots" is not a whole number"#), mistyped.stderr)
        }
    }

    /// Every option falls back to a POSTCALL_* variable; one set but empty (`VAR=` in the
    /// environment file) means the default.
    func testOptionsComeFromTheEnvironmentAndAnEmptyVariableMeansTheDefault() throws {
        try on(.sqlite) {
            let fromEnvironment = try postcall(["health"], environment: ["POSTCALL_DB": db])
            XCTAssertEqual(fromEnvironment.status, 0, fromEnvironment.stdout + fromEnvironment.stderr)
            // The concurrency's default, not "" refused as a number: the worker gets as far as the database.
            let missing = scratch.path("missing.db")
            let empty = try postcall(["worker", "--db", missing], environment: ["POSTCALL_CONCURRENCY": ""])
            XCTAssertEqual(empty.status, 1, empty.stderr)
            XCTAssertTrue(empty.stderr.contains("database \(missing) does not exist"), empty.stderr)
        }
    }

    func testHealthFailsWhenEventsWaitTooLong() throws {
        try onEachBackend {
            try store.setWebservice(Webservice(name: "survey", url: "\(server.baseURL)/fast"))
            let healthy = try postcall(["health", "--db", db])
            XCTAssertEqual(healthy.status, 0, healthy.stdout)
            XCTAssertTrue(healthy.stdout.hasPrefix("ok: database writable; no pending events"), healthy.stdout)

            try store.enqueue(webservice: "survey", callID: "c")
            try store.database.run("UPDATE outbox SET created_at = created_at - 600000")
            let stale = try postcall(["health", "--db", db, "--max-pending-age", "5m"])
            XCTAssertEqual(stale.status, 1)
            XCTAssertTrue(stale.stdout.hasPrefix("unhealthy: oldest pending event 10m"), stale.stdout)
            XCTAssertEqual(try postcall(["health", "--db", db, "--max-pending-age", "15m"]).status, 0)
        }
    }

    func testTheSystemdUnitVerifies() throws {
        try onEachBackend {
            let analyze = "/usr/bin/systemd-analyze"
            try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze is not installed")
            // verify resolves ExecStart, so point it at the binary under test; it also runs `man` for
            // the manual page, which exists only where the package is installed.
            let unitDirectory = scratch.path("units")
            try FileManager.default.createDirectory(atPath: unitDirectory, withIntermediateDirectories: true)
            let unit = try String(contentsOf: testsDirectory.appendingPathComponent("../deploy/postcall-worker@.service"), encoding: .utf8)
                .replacingOccurrences(of: "/usr/bin/postcall", with: postcallExecutable.path)
                .replacingOccurrences(of: "man:postcall(1) ", with: "")
            try unit.write(toFile: unitDirectory + "/postcall-worker@.service", atomically: true, encoding: .utf8)
            let result = try runProcess(analyze, ["verify", unitDirectory + "/postcall-worker@.service"])
            let complaints = (result.stdout + result.stderr).split(separator: "\n").filter { $0.contains("postcall-worker@") }
            XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
            XCTAssertTrue(complaints.isEmpty, complaints.joined(separator: "\n"))
        }
    }
}
