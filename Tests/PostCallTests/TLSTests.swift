import Foundation
import XCTest

@testable import PostCall

/// TLS per webservice (issue 16): a private CA and a client certificate, against Python's ssl
/// module demanding a client certificate on 127.0.0.1. Certificates are made by the openssl
/// command line for each test.
final class TLSTests: EndToEndTestCase {
    private var tls: TestHTTPServer!
    private var files: [String: String] = [:]

    override func prepareServers() throws {
        files = try makeCertificates()
        tls = try TestHTTPServer(
            scratch: scratch, script: "tls_server.py",
            arguments: ["--cert", files["server.pem"]!, "--key", files["server.key"]!, "--client-ca", files["clients.pem"]!])
    }

    override func tearDown() {
        tls = nil
        super.tearDown()
    }

    /// A CA for the server and one for the clients, a certificate from each, and a client
    /// certificate from a CA the server does not trust.
    private func makeCertificates() throws -> [String: String] {
        let directory = scratch.path("pki")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func path(_ name: String) -> String { directory + "/" + name }
        func openssl(_ arguments: [String]) throws {
            let result = try runProcess("/usr/bin/openssl", arguments)
            XCTAssertEqual(result.status, 0, "openssl \(arguments): \(result.stderr)")
        }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["servers", "clients", "rogue"] {
            try openssl(["req", "-x509"] + key + ["-keyout", path("\(ca).key"), "-out", path("\(ca).pem"), "-days", "2", "-subj", "/CN=postcall test \(ca) CA"])
        }
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        for (name, ca, subject, extensions) in [
            ("server", "servers", "/CN=127.0.0.1", ["-extfile", path("server.ext")]), ("client", "clients", "/CN=postcall-worker", []),
            ("impostor", "rogue", "/CN=postcall-worker", []),
        ] {
            try openssl(["req"] + key + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
            try openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"),
                         "-CAcreateserial", "-out", path("\(name).pem"), "-days", "2"] + extensions)
        }
        return Dictionary(uniqueKeysWithValues: try FileManager.default.contentsOfDirectory(atPath: directory).map { ($0, path($0)) })
    }

    func testAPrivateCAAndAClientCertificateAreUsedAndEveryMistakeIsNamed() throws {
        try onEachBackend {
            let url = "https://127.0.0.1:\(tls.port)/survey"
            let ca = files["servers.pem"]!, certificate = files["client.pem"]!, key = files["client.key"]!
            let cases: [(name: String, options: [String], expected: String?)] = [
                ("mtls", ["--ca-file", ca, "--client-cert", certificate, "--client-key", key], nil),
                ("system-cas", ["--client-cert", certificate, "--client-key", key],
                 "tls: the receiver's certificate is not trusted by the system's CAs; a private CA needs --ca-file"),
                ("no-client-cert", ["--ca-file", ca], "connection"),
                ("impostor", ["--ca-file", ca, "--client-cert", files["impostor.pem"]!, "--client-key", files["impostor.key"]!], "connection"),
                ("missing-ca", ["--ca-file", scratch.path("pki/absent.pem"), "--client-cert", certificate, "--client-key", key],
                 "tls: cannot use the CA file \(scratch.path("pki/absent.pem")) (--ca-file)"),
                ("wrong-key", ["--ca-file", ca, "--client-cert", certificate, "--client-key", files["impostor.key"]!],
                 "tls: cannot use the client certificate \(certificate) or its key \(files["impostor.key"]!)"),
            ]
            var ids: [String: Int64] = [:]
            for row in cases {
                try set([row.name, "--url", url, "--param", "q1={{q1}}", "--max-attempts", "1", "--max-age", "0"] + row.options)
                ids[row.name] = try store.enqueue(webservice: row.name, callID: "c-\(row.name)", variablesJSON: #"{"q1":"5"}"#)
            }
            let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
            let events = try waitForFinalStates(store, ids: Array(ids.values))
            XCTAssertEqual(worker.stop(), 0, worker.output)
            for row in cases {
                let event = try XCTUnwrap(events[ids[row.name]!])
                if let expected = row.expected {
                    XCTAssertEqual(event.state, .dead, row.name)
                    XCTAssertTrue(event.lastError?.contains(expected) == true, "\(row.name): \(String(describing: event.lastError))")
                } else {
                    XCTAssertEqual(event.state, .delivered, "\(row.name): \(String(describing: event.lastError))")
                }
            }
            let received = try tls.logEntries()
            XCTAssertEqual(received.count, 1, "only the right certificate got a request through: \(received)")
            XCTAssertEqual(received.first?["client"] as? String, "postcall-worker")

            let shown = try run(["webservice", "show", "mtls"])
            XCTAssertTrue(shown.stdout.contains("ca file:       \(ca)"), shown.stdout)
            XCTAssertTrue(shown.stdout.contains("client cert:   \(certificate) (key \(key))"), shown.stdout)
            for (options, message) in [
                (["--client-cert", certificate], "--client-cert and --client-key go together"),
                (["--ca-file", "relative.pem"], "--ca-file \"relative.pem\" must be an absolute path"),
            ] {
                let refused = try run(["webservice", "set", "bad", "--url", url] + options)
                XCTAssertEqual(refused.status, 2, refused.stderr)
                XCTAssertTrue(refused.stderr.contains(message), refused.stderr)
            }
            try set(["mtls", "--ca-file", "", "--client-cert", "", "--client-key", ""])
            XCTAssertEqual(try store.webservice(named: "mtls")?.tls, TLSFiles(), "empty values clear them")
        }
    }
}
