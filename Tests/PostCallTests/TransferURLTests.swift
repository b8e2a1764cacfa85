import XCTest
@testable import PostCall

/// A URL whose path and query alone were replaced must be the URL libcurl parses from the text.
final class TransferURLTests: XCTestCase {
    func testReplacingThePathAndQueryGivesTheURLParsedWhole() throws {
        let cases: [(first: String, second: String, partial: Bool)] = [
            ("http://127.0.0.1:18099/bench/call-0?a=1", "http://127.0.0.1:18099/bench/call-1", true),
            ("http://127.0.0.1:18099/bench/call-0", "http://127.0.0.1:18099/bench/call-1?q1=5&ani=+15551230000", true),
            ("http://127.0.0.1:18099/", "http://127.0.0.1:18099/x/y-z_~.a..b/c!$'()*,;=:@?d=e&f=/?g", true),
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:18099/", true),
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:18099/a?b?c=d/e", true),
            ("http://u:p@[::1]:8080/a", "http://u:p@[::1]:8080/b?c", true),
            ("HTTP://Example.COM/a", "HTTP://Example.COM/b", true),
            // Percent-encodings, which a part set alone has in lower case.
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:18099/a?ani=%2B15551230000", false),
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:18099/x/%2F..%2F", false),
            // Dot segments, which the parser removes.
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:18099/a/../b", false),
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:18099/a/./b?c", false),
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:18099/a#fragment", false),
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:18099/a?", false),
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:18099?x=1", false),
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:18099/a b", false),
            // Another origin, one that starts like it included.
            ("http://127.0.0.1:18099/a", "http://127.0.0.1:180990/a", false),
            ("http://127.0.0.1:18099/a", "https://127.0.0.1:18099/a", false),
            // A fragment parsed before would stay with a path and query set alone.
            ("http://127.0.0.1:18099/a#f", "http://127.0.0.1:18099/b", false),
            ("http://127.0.0.1:18099?x=1", "http://127.0.0.1:18099/b", false),
        ]
        for (first, second, partial) in cases {
            let url = try TransferURL()
            XCTAssertTrue(url.set(first), first)
            let whole = try TransferURL()
            let parsed = whole.set(second)
            XCTAssertEqual(url.set(second), parsed, second)
            XCTAssertEqual(url.partialUpdates, partial ? 1 : 0, "\(first) then \(second)")
            if parsed { XCTAssertEqual(url.text, whole.text, "\(first) then \(second)") }
        }
    }

    /// A URL libcurl refuses is left to `CURLOPT_URL`, whose error the transfer reports.
    func testAURLTheParserRefusesIsNotSet() throws {
        let url = try TransferURL()
        XCTAssertFalse(url.set("http://exa mple.com/a"))
        XCTAssertTrue(url.set("http://example.com/a"))
        XCTAssertFalse(url.set("http://example.com/a\u{7F}b c"))
        XCTAssertEqual(url.text, "http://example.com/a")
    }
}
