import Foundation
import XCTest

@testable import PostCall

/// The signer and the sealed secrets, without a receiver.
final class WebhookSignerTests: XCTestCase {
    /// The example of the Standard Webhooks specification, computed by the Python library too.
    func testTheSpecificationsExample() throws {
        let signer = WebhookSigner(keys: [try WebhookSigner.key(fromSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")])
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let headers = try signer.headers(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330) { consume in
            // In two pieces, as a file is read.
            body.prefix(5).withUnsafeBytes(consume)
            body.dropFirst(5).withUnsafeBytes(consume)
        }
        XCTAssertEqual(headers.map(\.name), ["webhook-id", "webhook-timestamp", "webhook-signature"])
        XCTAssertEqual(headers.last?.value, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    func testSealedSecretsOpenOnlyWithTheirKeyAndForTheirWebservice() throws {
        let key = SecretKey(bytes: (0..<32).map { UInt8($0) })
        let secret: [UInt8] = Array(repeating: 7, count: 32)
        let sealed = try key.seal(secret, context: "crm")
        XCTAssertNotEqual(sealed, try key.seal(secret, context: "crm"), "a fresh nonce every time")
        XCTAssertEqual(try key.open(sealed, context: "crm"), secret)
        XCTAssertThrowsError(try key.open(sealed, context: "billing"), "bound to its webservice")
        XCTAssertThrowsError(try SecretKey(bytes: Array(repeating: 1, count: 32)).open(sealed, context: "crm"), "another key")
        var tampered = Array(sealed.utf8)
        tampered[20] = tampered[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertThrowsError(try key.open(String(decoding: tampered, as: UTF8.self), context: "crm"), "authenticated")
        for bad in ["whsec_", "whsec_c2hvcnQ=", "plain words"] {
            XCTAssertThrowsError(try WebhookSigner.key(fromSecret: bad), bad)
        }
    }
}

/// Standard Webhooks signatures (issue 16), checked by the specification's own Python library
/// on 127.0.0.1, on both backends; the secrets encrypted at rest.
final class SigningTests: EndToEndTestCase {
    private var receiver: TestHTTPServer!
    private var keyFile = ""
    private let oldSecret = "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    private let newSecret = "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()

    override func prepareServers() throws {
        receiver = try TestHTTPServer(
            scratch: scratch, script: "signature_server.py", arguments: ["--secret", oldSecret, "--secret", newSecret])
        keyFile = scratch.path("secret.key")
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .write(toFile: keyFile, atomically: true, encoding: .utf8)
        try write(oldSecret, to: "old.secret")
        try write(newSecret, to: "new.secret")
    }

    override func tearDown() {
        receiver = nil
        super.tearDown()
    }

    private func write(_ text: String, to name: String) throws {
        try text.write(toFile: scratch.path(name), atomically: true, encoding: .utf8)
    }

    /// `postcall` with the key file in its environment (or `key`).
    private func postcallWithKey(_ arguments: [String], key: String? = nil) throws -> CommandResult {
        try postcall(arguments + ["--db", db], environment: [SecretKey.environmentVariable: key ?? keyFile])
    }

    private func worker(_ log: String, key: String? = nil) throws -> WorkerProcess {
        setenv(SecretKey.environmentVariable, key ?? keyFile, 1)
        defer { unsetenv(SecretKey.environmentVariable) }
        // The raw body's file is in the scratch folder.
        return try WorkerProcess(database: db, logPath: scratch.path(log), arguments: ["--files-dir", scratch.directory.path])
    }

    func testEveryRequestTypeIsSignedWithEverySecretAndTheSecretsStayEncrypted() throws {
        try onEachBackend {
            try "a raw body from a file\n".write(toFile: scratch.path("body.txt"), atomically: true, encoding: .utf8)
            let signing = ["--signing-secret-file", scratch.path("old.secret"), "--signing-secret-file", scratch.path("new.secret")]
            let types: [(String, [String])] = [
                ("get", ["--method", "GET", "--param", "q1={{q1}}"]), ("post", ["--method", "POST", "--param", "q1={{q1}}"]),
                ("raw", ["--method", "POST_RAW", "--header", "Content-Type: application/json", "--body", #"{"q1":"{{q1}}"}"#]),
                ("put", ["--method", "PUT", "--body", "q1={{q1}} ü"]), ("delete", ["--method", "DELETE"]),
                ("file", ["--method", "POST_RAW", "--body-file", "{{path}}", "--keep-files", "--header", "Content-Type: text/plain"]),
                // Text, as the library verifies a body it decodes as UTF-8.
                ("multipart", ["--method", "POST", "--param", "q1={{q1}}", "--file", "recording={{path}}", "--keep-files"]),
            ]
            for (name, options) in types {
                let result = try postcallWithKey(["webservice", "set", name, "--url", "\(receiver.baseURL)/\(name)"] + options + signing)
                XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            }
            let variables = #"{"q1":"5","path":"\#(scratch.path("body.txt"))"}"#
            let ids = try types.map { try store.enqueue(webservice: $0.0, callID: "c-\($0.0)", variablesJSON: variables) }
            let first = try worker("worker.log")
            let events = try waitForFinalStates(store, ids: ids)
            XCTAssertEqual(first.stop(), 0, first.output)
            XCTAssertEqual(ids.compactMap { events[$0]?.state }, Array(repeating: .delivered, count: types.count))
            let received = try receiver.logEntries()
            XCTAssertEqual(received.count, types.count)
            let outboxID = try store.outboxID()
            for entry in received {
                XCTAssertEqual(entry["verified"] as? [Bool], [true, true], "\(entry)")
                let webhook = try XCTUnwrap(entry["webhook"] as? [String: String])
                XCTAssertTrue(webhook["webhook-id"]?.hasPrefix(outboxID + "-") == true, "the event key: \(webhook)")
                XCTAssertEqual(webhook["webhook-signature"]?.split(separator: " ").count, 2, "one signature per secret")
            }
            XCTAssertEqual(received.first { $0["path"] as? String == "/file" }?["body_size"] as? Int, 23, "the file, signed as sent")

            // Rotation: the old secret retired, only the new one signs.
            XCTAssertEqual(try postcallWithKey(["webservice", "set", "post", "--signing-secret-file", scratch.path("new.secret")]).status, 0)
            let rotated = try store.enqueue(webservice: "post", callID: "rotated", variablesJSON: variables)
            let second = try worker("worker2.log")
            _ = try waitForFinalStates(store, ids: [rotated])
            XCTAssertEqual(second.stop(), 0, second.output)
            XCTAssertEqual(try receiver.logEntries().last?["verified"] as? [Bool], [false, true])

            // The secrets appear nowhere in clear: not in the database, the logs or any output.
            var outputs = [first.output, second.output]
            for arguments in [["webservice", "show", "post"], ["webservice", "list"], ["history", "--format", "json"],
                              ["show", String(rotated), "--format", "json"], ["stats", "--format", "json"]] {
                let result = try run(arguments)
                XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
                outputs.append(result.stdout + result.stderr)
            }
            XCTAssertTrue(outputs[2].contains("signing:       Standard Webhooks, 1 secret(s), stored encrypted"), outputs[2])
            let stored = try store.database.query("SELECT signing_secrets FROM webservices") { $0.text(0) }.joined()
            outputs.append(stored)
            if backend == .sqlite, let bytes = FileManager.default.contents(atPath: db) {
                outputs.append(String(decoding: bytes, as: UTF8.self))
            }
            for secret in [oldSecret, newSecret] {
                let material = String(secret.dropFirst(6))
                XCTAssertFalse(outputs.contains { $0.contains(material) }, "a secret appears in clear")
            }
        }
    }

    /// Without the key, with the wrong key or with a malformed secret: clear errors, nothing
    /// signed wrongly or sent unsigned.
    func testMissingOrWrongKeysAndBadSecretsAreRefusedClearly() throws {
        try onEachBackend {
            try write("not a secret", to: "bad.secret")
            let base = ["webservice", "set", "post", "--url", "\(receiver.baseURL)/post"]
            let noKey = try postcall(base + ["--signing-secret-file", scratch.path("new.secret"), "--db", db])
            XCTAssertEqual(noKey.status, 2)
            XCTAssertTrue(noKey.stderr.contains("set POSTCALL_SECRET_KEY_FILE"), noKey.stderr)
            let bad = try postcallWithKey(base + ["--signing-secret-file", scratch.path("bad.secret")])
            XCTAssertEqual(bad.status, 2)
            XCTAssertTrue(bad.stderr.contains("a signing secret must be whsec_"), bad.stderr)

            XCTAssertEqual(try postcallWithKey(base + ["--signing-secret-file", scratch.path("new.secret"), "--max-attempts", "1"]).status, 0)
            let otherKey = scratch.path("other.key")
            try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: otherKey))
            let id = try store.enqueue(webservice: "post", callID: "wrong-key")
            let wrong = try worker("wrong.log", key: otherKey)
            let events = try waitForFinalStates(store, ids: [id])
            XCTAssertEqual(wrong.stop(), 0, wrong.output)
            XCTAssertEqual(events[id]?.state, .dead)
            XCTAssertTrue(events[id]?.lastError?.contains("does not decrypt with the key in POSTCALL_SECRET_KEY_FILE") == true,
                          "\(String(describing: events[id]?.lastError))")
            XCTAssertEqual(try receiver.logEntries().count, 0, "nothing sent unsigned")
        }
    }

    /// A WS-Security password is sealed like the signing secrets when the key is there, opened
    /// only by the worker to send it; without the key it is kept in clear, and `set` says so.
    func testAWSSecurityPasswordIsStoredEncryptedAndOpenedOnlyToBeSent() throws {
        try onEachBackend {
            let password = "pw-\(UUID().uuidString)"
            try write(password, to: "wss.password")
            let wsdl = testsDirectory.appendingPathComponent("Fixtures/wsdl/structures.wsdl").path
            let soap = [
                "webservice", "set", "orders", "--wsdl", wsdl, "--operation", "SubmitOrder", "--url", "\(server.baseURL)/soap",
                "--param", "Order@currency=USD", "--param", "Order.Customer.Name={{name}}", "--param", "Order.Items.Item[0].Sku=A",
                "--param", "Order.Items.Item[0].Quantity=1", "--param", "Order.Email={{email}}",
                "--header-param", "SessionHeader.sessionId={{token}}", "--wss-username", "ivr",
                "--wss-password-file", scratch.path("wss.password"),
            ]
            let sealed = try postcallWithKey(soap)
            XCTAssertEqual(sealed.status, 0, sealed.stderr)
            XCTAssertEqual(try store.webservice(named: "orders")?.wsSecurity?.password.hasPrefix("aes256gcm:"), true)
            let stored = try store.database.query("SELECT wss_password FROM webservices") { $0.text(0) }.joined()
            XCTAssertFalse(stored.contains(password))
            if backend == .sqlite, let bytes = FileManager.default.contents(atPath: db) {
                XCTAssertNil(bytes.range(of: Data(password.utf8)), "the password is in the database file")
            }

            let id = try store.enqueue(
                webservice: "orders", callID: "c", variablesJSON: #"{"name":"N","email":"e@example.com","token":"t"}"#)
            let sender = try worker("wss.log")
            // The recorder answers JSON, not SOAP: the attempt is retried, but the request went out.
            try waitUntil { try !store.attempts(eventID: id).isEmpty }
            XCTAssertEqual(sender.stop(), 0, sender.output)
            XCTAssertTrue(try server.requests().first?.body.contains(">\(password)</wsse:Password>") == true, "the receiver gets it")
            XCTAssertFalse(sender.output.contains(password))

            let clear = try postcall(soap + ["--db", db])
            XCTAssertEqual(clear.status, 0, clear.stderr)
            XCTAssertTrue(clear.stderr.contains("the WS-Security password is stored in clear; set POSTCALL_SECRET_KEY_FILE"), clear.stderr)
            XCTAssertEqual(try store.webservice(named: "orders")?.wsSecurity?.password, password)
        }
    }
}
