import XCTest

@testable import PostCall
@testable import PostCallConsole

/// The console's pure parts, table by table: sessions under an injected clock, cursors, search
/// input, where a sign-in may lead, escaping, the chart's scale.
final class ConsolePiecesTests: XCTestCase {
    func testSessionsEndWhenIdleAndAfterTheirLifetime() {
        let sessions = ConsoleSessions(idleTimeout: 1_000, lifetime: 5_000)
        let session = sessions.open(userName: "alice", now: 0)
        XCTAssertNotEqual(session.token, session.csrfToken)
        XCTAssertEqual(session.token.count, 43, "32 bytes, base64url without padding")
        let rows: [(Milliseconds, Bool)] = [(999, true), (1_900, true), (2_800, true), (3_700, true), (4_600, true), (4_999, true), (5_000, false)]
        for (now, live) in rows {
            XCTAssertEqual(sessions.session(token: session.token, now: now) != nil, live, "at \(now)")
        }
        let idle = sessions.open(userName: "bob", now: 0)
        XCTAssertNil(sessions.session(token: idle.token, now: 1_000), "a second idle ends it")
        XCTAssertNil(sessions.session(token: "guessed", now: 0))
        let closed = sessions.open(userName: "carol", now: 0)
        sessions.close(token: closed.token)
        XCTAssertNil(sessions.session(token: closed.token, now: 1))
    }

    func testSecretsCompareWholly() {
        let rows: [(String, String, Bool)] = [("abc", "abc", true), ("abc", "abd", false), ("abc", "abcd", false), ("", "", true), ("", "a", false)]
        for (given, expected, same) in rows { XCTAssertEqual(ConsoleSessions.sameSecret(given, expected), same, "\(given) \(expected)") }
    }

    func testCursorTokens() {
        XCTAssertEqual(HistoryCursor(token: "1700000000000.42"), HistoryCursor(createdAt: 1_700_000_000_000, id: 42))
        XCTAssertEqual(HistoryCursor(createdAt: 5, id: 7).token, "5.7")
        for bad in ["", "1", "1.", ".1", "a.b", "1.2.3", "-1.2", "1.0", "1.-2", "99999999999999999999.1"] {
            XCTAssertNil(HistoryCursor(token: bad), bad)
        }
    }

    func testSearchInputBecomesAHistoryFilterOrSaysWhatIsWrong() throws {
        let now: Milliseconds = 1_800_000_000_000
        let filter = try ConsoleSearch(callID: " call-1 ", webservice: "", state: "dead", since: "2h", until: nil, cursor: "5.7")
            .filter(limit: 50, now: now)
        XCTAssertEqual(filter.callID, "call-1")
        XCTAssertNil(filter.webservice, "an empty field is no filter")
        XCTAssertEqual(filter.state, .dead)
        XCTAssertEqual(filter.since, now - 7_200_000)
        XCTAssertEqual(filter.after, HistoryCursor(createdAt: 5, id: 7))
        let bad: [(ConsoleSearch, String)] = [
            (ConsoleSearch(state: "lost"), "state \"lost\" is none of"),
            (ConsoleSearch(since: "yesterday"), "since \"yesterday\" is neither RFC 3339"),
            (ConsoleSearch(until: "2026-13-01T00:00:00Z"), "until"),
            (ConsoleSearch(cursor: "x"), "cursor \"x\" is not one this console made"),
        ]
        for (search, message) in bad {
            XCTAssertThrowsError(try search.filter(limit: 50, now: now)) { error in
                XCTAssertTrue((error as? PostCallError)?.message.contains(message) == true, "\(error)")
            }
        }
        XCTAssertEqual(ConsoleSearch(callID: "a b&c", state: "dead", cursor: "").query, "call_id=a+b%26c&state=dead")
    }

    func testASignInLeadsOnlyToThisConsole() {
        let rows: [(String?, String)] = [
            ("/events?call_id=x", "/events?call_id=x"), (nil, "/"), ("", "/"), ("https://evil.example/", "/"),
            ("//evil.example/", "/"), ("/\\evil.example", "/"), ("/a\r\nSet-Cookie: x", "/"), ("events", "/"),
        ]
        for (next, target) in rows { XCTAssertEqual(ConsoleServer.localTarget(next), target, "\(String(describing: next))") }
    }

    func testTextIsEscapedAndOnlyHTMLValuesAreMarkup() {
        let hostile = #"<script>alert("x")</script> & 'y'"#
        let page: HTML = "<p title=\"\(hostile)\">\(hostile)</p>\(HTML("<br>"))"
        XCTAssertEqual(
            page.description,
            "<p title=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;y&apos;\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;y&apos;</p><br>")
        let optional: String? = nil
        XCTAssertEqual(HTML("<i>\(optional)</i>").description, "<i></i>")
    }

    func testTheChartScaleReadsInRoundNumbers() {
        let rows: [(Int, Int)] = [(0, 1), (1, 1), (2, 2), (3, 5), (6, 10), (11, 20), (21, 50), (51, 100), (4_321, 5_000)]
        for (peak, ceiling) in rows { XCTAssertEqual(DeliveryChart.niceCeiling(peak), ceiling, "\(peak)") }
        let activity = DeliveryActivity(hours: (0..<24).map { DeliveryActivity.Hour(start: Milliseconds($0) * 3_600_000, delivered: $0, failed: 1) })
        let svg = DeliveryChart.render(activity).description
        XCTAssertEqual(svg.components(separatedBy: "<rect").count - 1, 48)
        XCTAssertTrue(svg.contains("<title>23:00 UTC: 23 delivered</title>"), svg)
    }
}
