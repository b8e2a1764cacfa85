import Foundation
import XCTest

@testable import PostCall

/// The support console at the HTTP level, on both backends: sign-in, sessions, CSRF, roles,
/// escaping of what callers and receivers sent, the JSON API, retries and the users file.
final class ConsoleTests: EndToEndTestCase {
    static let operatorPassword = "operator-password-1"
    static let viewerPassword = "viewer-password-1"
    static let privatePIN = "PIN-8642-PRIVATE"
    static let hostileCallID = #"<script>alert("call")</script>"#

    struct History {
        var delivered: Int64
        var dead: [Int64]
        var hostile: Int64
        var privateEvent: Int64
    }

    var usersFile: String { scratch.path("console-users") }

    /// Three webservices with delivered, dead (a hostile receiver) and private events, delivered
    /// by a real worker; an operator and a viewer.
    func makeHistory() throws -> History {
        try set(["survey", "--url", "\(server.baseURL)/ok", "--param", "q1={{q1}}"])
        try set(["crm", "--url", "\(server.baseURL)/hostile", "--max-attempts", "1"])
        try set(["vault", "--url", "\(server.baseURL)/ok", "--param", "pin={{pin}}", "--private"])
        let delivered = try store.enqueue(webservice: "survey", callID: "call-1001", variablesJSON: #"{"q1":"5"}"#)
        let dead = try (0..<2).map { try store.enqueue(webservice: "crm", callID: "call-20\($0)") }
        let hostile = try store.enqueue(webservice: "crm", callID: Self.hostileCallID)
        let privateEvent = try store.enqueue(webservice: "vault", callID: "call-3003", variablesJSON: #"{"pin":"\#(Self.privatePIN)"}"#)
        let all = [delivered, hostile, privateEvent] + dead
        let worker = try WorkerProcess(database: db, logPath: scratch.path("worker.log"))
        let states = try waitForFinalStates(store, ids: all)
        XCTAssertEqual(worker.stop(), 0, worker.output)
        XCTAssertEqual(states[delivered]?.state, .delivered)
        XCTAssertEqual(states[hostile]?.state, .dead)
        XCTAssertEqual(states[privateEvent]?.state, .delivered)
        try addConsoleUser("alice", role: "operator", password: Self.operatorPassword, usersFile: usersFile)
        try addConsoleUser("victor", role: "viewer", password: Self.viewerPassword, usersFile: usersFile)
        return History(delivered: delivered, dead: dead + [hostile], hostile: hostile, privateEvent: privateEvent)
    }

    func startConsole() throws -> ConsoleProcess {
        try ConsoleProcess(database: db, usersFile: usersFile, logPath: scratch.path("console-\(UUID().uuidString).log"))
    }

    func testSignInSessionsAndRefusals() throws {
        try onEachBackend {
            _ = try makeHistory()
            let console = try startConsole()
            let client = ConsoleClient(baseURL: console.baseURL, scratch: scratch)

            let page = try client.get("/events?state=dead")
            XCTAssertEqual(page.status, 303)
            XCTAssertEqual(page.header("Location"), "/login?next=%2Fevents%3Fstate%3Ddead", "back to the page asked for")
            let api = try client.get("/api/stats")
            XCTAssertEqual(api.status, 401)
            XCTAssertNotNil((try api.json() as? [String: Any])?["error"], api.body)

            // A wrong password and an unknown name: refused alike, each after the delay.
            for (name, password) in [("alice", "wrong-password"), ("mallory", Self.operatorPassword)] {
                let started = Date()
                let refused = try client.signIn(name, password)
                XCTAssertEqual(refused.status, 401, refused.body)
                XCTAssertTrue(refused.body.contains("Wrong name or password."))
                XCTAssertNil(refused.header("Set-Cookie")?.range(of: "postcall_session=[^;]", options: .regularExpression))
                XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 1.0, "a refused password waits before answering")
            }
            let basic = try client.get("/api/stats", basic: ("alice", "wrong-password"))
            XCTAssertEqual(basic.status, 401)

            // A sign-in posted without the form's own token (from another site) is refused.
            let forged = try ConsoleClient(baseURL: console.baseURL, scratch: scratch)
                .post("/login", form: [("csrf", "made-up"), ("name", "alice"), ("password", Self.operatorPassword)])
            XCTAssertEqual(forged.status, 403)

            let signedIn = try client.signIn("alice", Self.operatorPassword)
            XCTAssertEqual(signedIn.status, 303)
            XCTAssertEqual(signedIn.header("Location"), "/")
            let cookie = try XCTUnwrap(signedIn.headers("Set-Cookie").first { $0.hasPrefix("postcall_session=") })
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] { XCTAssertTrue(cookie.contains(attribute), cookie) }
            XCTAssertFalse(cookie.contains("Secure"), "plain HTTP on loopback: \(cookie)")
            let dashboard = try client.get("/")
            XCTAssertEqual(dashboard.status, 200)
            XCTAssertTrue(dashboard.body.contains("<meta http-equiv=\"refresh\" content=\"60\">"), "a wall screen stays current")
            let headers = try client.get("/events")
            XCTAssertEqual(headers.header("Content-Security-Policy")?.contains("default-src 'none'"), true)
            XCTAssertEqual(headers.header("Cache-Control"), "no-store")
            let missing = try client.get("/no-such-page")
            XCTAssertEqual(missing.status, 404)
            XCTAssertNotNil(missing.header("Content-Security-Policy"), "a missing page has the headers too")
            XCTAssertTrue(console.output.contains("msg=\"console sign-in\" role=operator user=alice"), console.output)
            XCTAssertTrue(console.output.contains("msg=\"console sign-in refused\" user=mallory"), console.output)

            // Behind a TLS proxy the cookie is Secure; a `next` elsewhere goes home instead.
            let proxied = ConsoleClient(baseURL: console.baseURL, scratch: scratch)
            let form = try proxied.get("/login")
            let behindTLS = try proxied.post(
                "/login", form: [("csrf", form.csrfField ?? ""), ("name", "victor"), ("password", Self.viewerPassword), ("next", "//evil.example/")],
                headers: ["X-Forwarded-Proto: https"])
            XCTAssertEqual(behindTLS.header("Location"), "/")
            XCTAssertTrue(behindTLS.headers("Set-Cookie").contains { $0.hasPrefix("postcall_session=") && $0.contains("Secure") })

            // Signing out needs the token too; then the session is gone.
            XCTAssertEqual(try client.post("/logout").status, 403)
            XCTAssertEqual(try client.get("/").status, 200, "still signed in after a refused sign-out")
            XCTAssertEqual(try client.post("/logout", form: [("csrf", try client.csrfToken())]).status, 303)
            XCTAssertEqual(try client.get("/").status, 303)

            // A user removed from the file loses their session at the next request.
            let viewer = ConsoleClient(baseURL: console.baseURL, scratch: scratch)
            try viewer.signIn("victor", Self.viewerPassword)
            XCTAssertEqual(try viewer.get("/").status, 200)
            XCTAssertEqual(try run(["console", "user", "remove", "victor", "--users", usersFile]).status, 0)
            XCTAssertEqual(try viewer.get("/").status, 303)
        }
    }

    func testEveryChangeNeedsTheSessionsCSRFToken() throws {
        try onEachBackend {
            let history = try makeHistory()
            let console = try startConsole()
            let client = ConsoleClient(baseURL: console.baseURL, scratch: scratch)
            try client.signIn("alice", Self.operatorPassword)
            let event = history.dead[0]

            XCTAssertEqual(try client.post("/events/\(event)/retry").status, 403)
            XCTAssertEqual(try client.post("/events/\(event)/retry", form: [("csrf", "forged")]).status, 403)
            XCTAssertEqual(try client.post("/retry", form: [("webservice", "crm")]).status, 403)
            XCTAssertEqual(try client.post("/api/events/\(event)/retry", headers: ["X-CSRF-Token: forged"]).status, 403)
            XCTAssertEqual(try client.post("/api/retry?webservice=crm", basic: ("alice", Self.operatorPassword)).status, 403, "Basic only reads")
            XCTAssertEqual(try store.event(id: event)?.state, .dead, "nothing was requeued")
            XCTAssertTrue(console.output.contains("CSRF"), console.output)

            let confirm = try client.get("/events/\(event)/retry")
            XCTAssertEqual(confirm.status, 200)
            XCTAssertTrue(confirm.body.contains("Retry 1 event"), confirm.body)
            let done = try client.post("/events/\(event)/retry", form: [("csrf", try XCTUnwrap(confirm.csrfField))])
            XCTAssertEqual(done.status, 200, done.body)
            XCTAssertTrue(done.body.contains("Requeued 1 event."), done.body)
            XCTAssertEqual(try store.event(id: event)?.state, .pending)

            let viaAPI = try client.post("/api/events/\(history.dead[1])/retry", headers: ["X-CSRF-Token: \(try client.csrfToken())"])
            XCTAssertEqual(viaAPI.status, 200, viaAPI.body)
            XCTAssertEqual((try viaAPI.json() as? [String: Any])?["requeued"] as? [Int], [Int(history.dead[1])])
            XCTAssertTrue(console.output.contains("msg=\"console retry\" events=\(event) requeued=1 scope=\"event \(event)\" skipped=0 user=alice"), console.output)
        }
    }

    func testRetryingEveryDeadEventOfASearchSaysHowManyFirst() throws {
        try onEachBackend {
            let history = try makeHistory()
            let console = try startConsole()
            let client = ConsoleClient(baseURL: console.baseURL, scratch: scratch)
            try client.signIn("alice", Self.operatorPassword)

            let search = try client.get("/events?webservice=crm&state=dead")
            XCTAssertTrue(search.body.contains("Retry the 3 dead events of this search"), search.body)
            let confirm = try client.get("/retry?webservice=crm")
            XCTAssertTrue(confirm.body.contains("Retry <strong>3 dead events</strong> (webservice crm)"), confirm.body)
            XCTAssertEqual(try store.countEvents(matching: HistoryFilter(state: .dead)), 3, "asking changed nothing")
            let done = try client.post("/retry", form: [("csrf", try XCTUnwrap(confirm.csrfField)), ("webservice", "crm")])
            XCTAssertTrue(done.body.contains("Requeued 3 events."), done.body)
            for id in history.dead { XCTAssertEqual(try store.event(id: id)?.state, .pending) }
            XCTAssertEqual(try store.event(id: history.delivered)?.state, .delivered, "only the search's dead events")
            XCTAssertTrue(console.output.contains("scope=\"dead events matching webservice=crm&state=dead\""), console.output)
        }
    }

    func testAViewerReadsButMayNotRetry() throws {
        try onEachBackend {
            let history = try makeHistory()
            let console = try startConsole()
            let client = ConsoleClient(baseURL: console.baseURL, scratch: scratch)
            try client.signIn("victor", Self.viewerPassword)
            let event = history.dead[0]

            let page = try client.get("/events/\(event)")
            XCTAssertEqual(page.status, 200)
            XCTAssertFalse(page.body.contains("/retry"), "no retry link for a viewer")
            XCTAssertFalse(try client.get("/events?state=dead").body.contains("/retry"))
            let confirm = try client.get("/events/\(event)/retry")
            XCTAssertEqual(confirm.status, 403)
            XCTAssertTrue(confirm.body.contains("Your role, viewer, may read but not retry"), confirm.body)
            let token = try client.csrfToken()
            XCTAssertEqual(try client.post("/events/\(event)/retry", form: [("csrf", token)]).status, 403)
            XCTAssertEqual(try client.post("/retry", form: [("csrf", token), ("webservice", "crm")]).status, 403)
            XCTAssertEqual(try client.post("/api/events/\(event)/retry", headers: ["X-CSRF-Token: \(token)"]).status, 403)
            XCTAssertEqual(try store.event(id: event)?.state, .dead)
        }
    }

    func testWhatCallersAndReceiversSentIsEscapedEverywhere() throws {
        try onEachBackend {
            let history = try makeHistory()
            let console = try startConsole()
            let client = ConsoleClient(baseURL: console.baseURL, scratch: scratch)
            try client.signIn("alice", Self.operatorPassword)

            let event = try client.get("/events/\(history.hostile)")
            XCTAssertEqual(event.status, 200)
            XCTAssertTrue(event.body.contains("&lt;script&gt;alert(&quot;call&quot;)&lt;/script&gt;"), "the call id, escaped")
            XCTAssertTrue(event.body.contains("&lt;script&gt;alert(&apos;header&apos;)&lt;/script&gt;"), "the receiver's header, escaped")
            XCTAssertTrue(event.body.contains("&lt;img src=x onerror=&quot;alert(&apos;body&apos;)&quot;&gt;"), "the receiver's body, escaped")
            XCTAssertTrue(event.body.contains("href=\"/events?call_id=%3Cscript%3Ealert%28%22call%22%29%3C%2Fscript%3E\""), "the call's link, encoded")
            let pages = [
                event, try client.get("/events"), try client.get("/events?call_id=" + Self.formEncoded(Self.hostileCallID)),
                try client.get("/"), try client.get("/events/\(history.hostile)/retry"),
                try client.get("/events?call_id=" + Self.formEncoded(#""><script>alert(1)</script>"#)),
                try client.get("/events?since=" + Self.formEncoded("<b>x</b>")),
            ]
            for page in pages {
                for raw in ["<script>alert", "<img src=x", "onerror=\"", "<b>x</b>", "\"><script"] {
                    XCTAssertFalse(page.body.contains(raw), "\(raw) unescaped in \(page.body.prefix(300))")
                }
            }
            XCTAssertEqual(pages[6].status, 400, "a bad time is bad input")
            XCTAssertTrue(pages[6].body.contains("since &quot;&lt;b&gt;x&lt;/b&gt;&quot; is neither RFC 3339 nor a duration"), pages[6].body)
        }
    }

    func testTheJSONAPIGivesWhatTheCLIGives() throws {
        try onEachBackend {
            let history = try makeHistory()
            for index in 0..<120 { try store.enqueue(webservice: "survey", callID: "bulk-\(index % 7)") }
            let console = try startConsole()
            let client = ConsoleClient(baseURL: console.baseURL, scratch: scratch)

            // Basic reads; the same JSON as `show` and `history`.
            let basic = ("victor", Self.viewerPassword)
            let shown = try client.get("/api/events/\(history.hostile)", basic: basic)
            XCTAssertEqual(shown.status, 200, shown.body)
            let cli = try run(["show", String(history.hostile), "--format", "json"])
            XCTAssertEqual(
                try XCTUnwrap(try shown.json() as? NSDictionary), try XCTUnwrap(JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? NSDictionary))
            let listed = try XCTUnwrap(try client.get("/api/events?webservice=crm&state=dead", basic: basic).json() as? [String: Any])
            let cliList = try run(["history", "--webservice", "crm", "--state", "dead", "--format", "json"])
            XCTAssertEqual(listed["events"] as? NSArray, try JSONSerialization.jsonObject(with: Data(cliList.stdout.utf8)) as? NSArray)
            XCTAssertTrue(listed["next_cursor"] is NSNull)
            let stats = try XCTUnwrap(try client.get("/api/stats", basic: basic).json() as? [String: Any])
            let cliStats = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try run(["stats", "--format", "json"]).stdout.utf8)) as? [String: Any])
            XCTAssertEqual(Set(stats.keys), Set(cliStats.keys))
            XCTAssertEqual(stats["states"] as? NSDictionary, cliStats["states"] as? NSDictionary)
            let activity = try XCTUnwrap(try client.get("/api/activity", basic: basic).json() as? [String: Any])
            let hours = try XCTUnwrap(activity["hours"] as? [[String: Any]])
            XCTAssertEqual(hours.count, 24)
            XCTAssertEqual(hours.map { $0["delivered"] as? Int ?? 0 }.reduce(0, +), 2)
            XCTAssertEqual(hours.map { $0["failed"] as? Int ?? 0 }.reduce(0, +), 3)

            // Paging by cursor: every event once, newest first, while new events arrive.
            var seen: [Int] = []
            var cursor: String?
            repeat {
                let query = "/api/events?limit=50" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try XCTUnwrap(try client.get(query, basic: basic).json() as? [String: Any])
                seen += try XCTUnwrap(page["events"] as? [[String: Any]]).map { $0["id"] as? Int ?? 0 }
                cursor = page["next_cursor"] as? String
                if seen.count == 50 { try store.enqueue(webservice: "survey", callID: "arrived-while-paging") }
            } while cursor != nil
            XCTAssertEqual(seen.count, 125, "every event of the first page's time, once")
            XCTAssertEqual(seen, seen.sorted(by: >))
            XCTAssertEqual(Set(seen).count, seen.count)

            // Bad input: a JSON error that says what is wrong.
            for (query, message) in [
                ("/api/events?state=lost", "state \"lost\" is none of pending, in_flight, delivered, dead"),
                ("/api/events?limit=0", "limit must be 1 to 1000"), ("/api/events?cursor=abc", "cursor \"abc\" is not one this console made"),
                ("/api/events/999999", "There is no event 999999"),
            ] {
                let answer = try client.get(query, basic: basic)
                XCTAssertTrue((400...404).contains(answer.status), "\(query): \(answer.status)")
                let error = try XCTUnwrap((try answer.json() as? [String: Any])?["error"] as? [String: Any], answer.body)
                XCTAssertTrue((error["message"] as? String ?? "").contains(message), "\(query): \(answer.body)")
            }
        }
    }

    func testNoPrivateValueOnAnyPageOrAnswer() throws {
        try onEachBackend {
            let history = try makeHistory()
            let console = try startConsole()
            let client = ConsoleClient(baseURL: console.baseURL, scratch: scratch)
            try client.signIn("alice", Self.operatorPassword)
            let event = try client.get("/events/\(history.privateEvent)")
            XCTAssertTrue(event.body.contains("variables, requests and responses are not kept"), event.body)
            XCTAssertFalse(event.body.contains("/retry"), "a delivered private event cannot be sent again: its data is gone")
            for path in [
                "/", "/events", "/events?call_id=call-3003", "/events/\(history.privateEvent)", "/api/events",
                "/api/events/\(history.privateEvent)", "/api/stats", "/api/activity", "/events/\(history.privateEvent)/retry",
            ] {
                let answer = try client.get(path)
                XCTAssertFalse(answer.body.contains(Self.privatePIN), "\(path) shows the private value")
                XCTAssertFalse(answer.body.contains("pin="), "\(path) shows the private body")
            }
            XCTAssertFalse(console.output.contains(Self.privatePIN))
        }
    }

    /// A real browser (chromium through selenium, `Tests/Fixtures/console_browser.py`). With
    /// POSTCALL_SCREENSHOTS=DIR it also saves the README's two screenshots there.
    func testInABrowserAnOperatorFindsACallAndRetriesItAndAViewerMayNot() throws {
        try onEachBackend {
            let history = try makeHistory()
            let console = try startConsole()
            let dead = history.dead[0]
            let callID = try XCTUnwrap(try store.event(id: dead)?.callID)
            var arguments = [
                testsDirectory.appendingPathComponent("Fixtures/console_browser.py").path, console.baseURL,
                "--operator", "alice:\(Self.operatorPassword)", "--viewer", "victor:\(Self.viewerPassword)", "--call-id", callID,
                "--dead-event", String(dead), "--private-event", String(history.privateEvent), "--private-value", Self.privatePIN,
            ]
            if let directory = ProcessInfo.processInfo.environment["POSTCALL_SCREENSHOTS"], backend == .sqlite {
                arguments += ["--screenshots", directory]
            }
            let browser = try runProcess("/usr/bin/env", ["python3"] + arguments)
            XCTAssertEqual(browser.status, 0, browser.stdout + browser.stderr)
            XCTAssertTrue(browser.stdout.contains("ok: a viewer is refused the retry page"), browser.stdout + browser.stderr)
            XCTAssertEqual(try store.event(id: dead)?.state, .pending, "the browser's retry reached the outbox")
            XCTAssertTrue(console.output.contains("msg=\"console retry\" events=\(dead) requeued=1"), console.output)
        }
    }

    func testTheUsersFileIsManagedFromTheCommandLine() throws {
        try on(.sqlite) {
            let passwordFile = scratch.path("short")
            try "short".write(toFile: passwordFile, atomically: true, encoding: .utf8)
            let short = try run(["console", "user", "add", "ann", "--role", "viewer", "--users", usersFile, "--password-file", passwordFile])
            XCTAssertEqual(short.status, 2)
            XCTAssertTrue(short.stderr.contains("a console password must be 8 to 72 bytes long"), short.stderr)
            XCTAssertEqual(try run(["console", "user", "add", "ann", "--role", "admin", "--users", usersFile]).status, 2)
            XCTAssertEqual(try run(["console", "user", "add", "a n", "--role", "viewer", "--users", usersFile]).status, 2)
            XCTAssertFalse(FileManager.default.fileExists(atPath: usersFile), "nothing written on bad input")

            try addConsoleUser("ann", role: "viewer", password: "first-password", usersFile: usersFile)
            try addConsoleUser("ann", role: "operator", password: "second-password", usersFile: usersFile)
            let listed = try run(["console", "user", "list", "--users", usersFile])
            XCTAssertEqual(listed.stdout, "ann\toperator\n")
            let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: usersFile)[.posixPermissions] as? Int)
            XCTAssertEqual(mode, 0o600)
            let text = try String(contentsOfFile: usersFile, encoding: .utf8)
            XCTAssertFalse(text.contains("second-password"))
            XCTAssertTrue(text.contains("ann:operator:$2b$12$"), text)
            XCTAssertEqual(try run(["console", "user", "remove", "nobody", "--users", usersFile]).status, 2)

            // The default users file sits beside a SQLite outbox; PostgreSQL needs one named.
            XCTAssertEqual(try run(["console", "user", "list"]).stdout, "ann\toperator\n", "the same file, found beside the outbox")
            let postgres = try postcall(["console", "user", "list", "--db", "postgresql://postcall@127.0.0.1:1/postcall"])
            XCTAssertEqual(postgres.status, 2)
            XCTAssertTrue(postgres.stderr.contains("--users FILE or POSTCALL_CONSOLE_USERS"), postgres.stderr)

            let broken = scratch.path("broken-users")
            try "alice:admin:$2b$12$x\n".write(toFile: broken, atomically: true, encoding: .utf8)
            let refused = try run(["console", "user", "list", "--users", broken])
            XCTAssertEqual(refused.status, 2)
            XCTAssertTrue(refused.stderr.contains("line 1 is not name:role:bcrypt-hash"), refused.stderr)
        }
    }

    static func formEncoded(_ text: String) -> String {
        TemplateEncoding.formComponent.encode(text)
    }
}
