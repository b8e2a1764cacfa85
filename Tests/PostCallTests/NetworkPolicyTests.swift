import XCTest

@testable import PostCall

/// The SSRF guard (issue 16): which addresses a worker may connect to, decided without sockets,
/// then enforced on real connections by a worker process.
final class NetworkPolicyTests: XCTestCase {
    private func address(_ text: String) throws -> [UInt8] { try XCTUnwrap(IPNetwork.parse(text), text) }

    func testPrivateCoversEveryLocalRangeInBothFamiliesAndAllowWins() throws {
        let denyPrivate = NetworkPolicy(denied: try NetworkPolicy.networks("private", option: "--deny-networks"))
        let table: [(String, Bool)] = [
            ("127.0.0.1", false), ("127.255.255.254", false), ("10.1.2.3", false), ("172.16.0.1", false),
            ("172.31.255.255", false), ("172.32.0.1", true), ("192.168.1.1", false), ("169.254.169.254", false),
            ("100.64.0.1", false), ("100.128.0.1", true), ("0.0.0.0", false), ("8.8.8.8", true), ("::1", false),
            ("::", false), ("fd12:3456::1", false), ("fe80::1", false), ("2001:4860:4860::8888", true),
            // IPv4-mapped IPv6 is the IPv4 address it carries.
            ("::ffff:127.0.0.1", false), ("::ffff:8.8.8.8", true),
        ]
        for (text, permitted) in table {
            XCTAssertEqual(denyPrivate.permits(try address(text)), permitted, text)
        }
        let withException = NetworkPolicy(
            denied: denyPrivate.denied, allowed: try NetworkPolicy.networks("127.0.0.1, 10.9.0.0/16", option: "--allow-networks"))
        for (text, permitted) in [("127.0.0.1", true), ("127.0.0.2", false), ("10.9.200.1", true), ("10.10.0.1", false)] {
            XCTAssertEqual(withException.permits(try address(text)), permitted, text)
        }
        XCTAssertTrue(NetworkPolicy().permits(try address("127.0.0.1")), "no denied network: everything goes")
    }

    func testNetworksParseStrictly() throws {
        XCTAssertEqual(try NetworkPolicy.networks("10.0.0.0/8,fd00::/8", option: "x").map(\.description), ["10.0.0.0/8", "fd00::/8"])
        XCTAssertEqual(try NetworkPolicy.networks("", option: "x"), [])
        for bad in ["10.0.0.0/33", "fd00::/129", "localhost", "10.0.0/8", "1.2.3.4/x", "1.2.3.4/8/8"] {
            XCTAssertThrowsError(try NetworkPolicy.networks(bad, option: "--deny-networks"), bad) { error in
                XCTAssertTrue("\(error)".contains("--deny-networks"), "\(error)")
            }
        }
        let odd = try XCTUnwrap(IPNetwork("192.168.128.0/17"))
        XCTAssertTrue(odd.contains(try address("192.168.200.1")))
        XCTAssertFalse(odd.contains(try address("192.168.127.1")))
    }
}

/// A worker with `--deny-networks` against the recording server on 127.0.0.1.
final class NetworkGuardTests: EndToEndTestCase {
    /// Every spelling of a denied address is refused at connect time, for good, and nothing is
    /// sent; an exception lets one address through, and a redirect out of it is refused.
    func testDeniedNetworksAreRefusedWhateverTheSpellingAndAfterRedirects() throws {
        try on(.sqlite) {
            let port = server.port
            let spellings = [
                "direct": "http://127.0.0.1:\(port)/x", "name": "http://localhost:\(port)/x",
                "decimal": "http://2130706433:\(port)/x", "hex": "http://0x7f.1:\(port)/x", "v6": "http://[::1]:\(port)/x",
            ]
            for (name, url) in spellings { try set([name, "--url", url, "--param", "call={{call_id}}"]) }
            let ids = try spellings.keys.sorted().map { try store.enqueue(webservice: $0, callID: "c-\($0)") }
            let denied = try WorkerProcess(database: db, logPath: scratch.path("denied.log"), arguments: ["--deny-networks", "private"])
            let events = try waitForFinalStates(store, ids: ids)
            XCTAssertEqual(denied.stop(), 0, denied.output)
            for id in ids {
                XCTAssertEqual(events[id]?.state, .dead)
                XCTAssertEqual(events[id]?.lastError?.hasPrefix("network denied: the worker's --deny-networks covers "), true,
                               "\(String(describing: events[id]?.lastError))")
                XCTAssertEqual(try store.attempts(eventID: id).count, 1, "refused for good, not retried")
            }
            XCTAssertEqual(try server.requests().count, 0, "nothing reached the receiver")
            XCTAssertTrue(denied.output.contains("deny_networks=127.0.0.0/8,10.0.0.0/8"), denied.output)

            try set(["hop", "--url", "\(server.baseURL)/redirect/307?to=http%3A%2F%2F%5B%3A%3A1%5D%3A\(port)%2Fx", "--follow-redirects"])
            let allowed = try store.enqueue(webservice: "direct", callID: "allowed")
            let hop = try store.enqueue(webservice: "hop", callID: "hop")
            let excepted = try WorkerProcess(
                database: db, logPath: scratch.path("excepted.log"), arguments: ["--deny-networks", "private", "--allow-networks", "127.0.0.1"])
            let after = try waitForFinalStates(store, ids: [allowed, hop])
            XCTAssertEqual(excepted.stop(), 0, excepted.output)
            XCTAssertEqual(after[allowed]?.state, .delivered)
            XCTAssertEqual(after[hop]?.state, .dead)
            XCTAssertEqual(after[hop]?.lastError?.hasPrefix("network denied: the worker's --deny-networks covers ::1"), true,
                           "\(String(describing: after[hop]?.lastError))")
            XCTAssertEqual(try server.requests().map(\.target).sorted(), ["/redirect/307?to=http%3A%2F%2F%5B%3A%3A1%5D%3A\(port)%2Fx", "/x"].sorted())

            let bad = try postcall(["worker", "--db", db, "--deny-networks", "private,intranet"])
            XCTAssertEqual(bad.status, 2)
            XCTAssertTrue(bad.stderr.contains("--deny-networks: \"intranet\" is not a network"), bad.stderr)
        }
    }

    /// Without a guard, a proxy named in the environment carries the deliveries, as libcurl
    /// does by default: the worker tells libcurl there is none only when no variable names one.
    func testWithoutAGuardAProxyInTheEnvironmentCarriesTheDeliveries() throws {
        try on(.sqlite) {
            let proxy = try TestHTTPServer(scratch: scratch)
            try set(["direct", "--url", "\(server.baseURL)/x", "--param", "call={{call_id}}"])
            for (index, variable) in ["http_proxy", "ALL_PROXY"].enumerated() {
                let id = try store.enqueue(webservice: "direct", callID: "c-\(index)")
                // The others empty, as unset: the test's own environment may name a proxy too.
                var environment = ["no_proxy": "", "NO_PROXY": ""]
                for name in ["http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] { environment[name] = "" }
                environment[variable] = proxy.baseURL
                let worker = try WorkerProcess(database: db, logPath: scratch.path("\(variable).log"), environment: environment)
                let events = try waitForFinalStates(store, ids: [id])
                XCTAssertEqual(worker.stop(), 0, worker.output)
                XCTAssertEqual(events[id]?.state, .delivered, variable)
                XCTAssertEqual(try proxy.requests().count, index + 1, "\(variable): the delivery did not go through the proxy")
            }
            XCTAssertEqual(try server.requests().count, 0, "a delivery went straight to the receiver")
        }
    }

    /// A proxy from the environment would make every socket the proxy's, and the proxy would
    /// connect to whatever the URL names: with a guard on, deliveries go straight to the receiver.
    func testAProxyInTheEnvironmentCannotCarryDeliveriesPastTheGuard() throws {
        try on(.sqlite) {
            let proxy = try TestHTTPServer(scratch: scratch)
            try set(["direct", "--url", "\(server.baseURL)/x", "--param", "call={{call_id}}"])
            let id = try store.enqueue(webservice: "direct", callID: "c-1")
            let guarded = try WorkerProcess(
                database: db, logPath: scratch.path("guarded.log"), arguments: ["--deny-networks", "10.0.0.0/8"],
                environment: ["http_proxy": proxy.baseURL, "all_proxy": proxy.baseURL, "no_proxy": ""])
            let events = try waitForFinalStates(store, ids: [id])
            XCTAssertEqual(guarded.stop(), 0, guarded.output)
            XCTAssertEqual(events[id]?.state, .delivered)
            XCTAssertEqual(try server.requests().map(\.target), ["/x"], "the receiver was not reached directly")
            XCTAssertEqual(try proxy.requests().count, 0, "a delivery went through the proxy")
            XCTAssertTrue(guarded.output.contains("a proxy is set in the environment"), guarded.output)
        }
    }
}
