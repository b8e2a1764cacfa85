import PostCallCCurl
import XCTest

@testable import PostCall

final class HeaderListTests: XCTestCase {
    private func lines(_ list: UnsafeMutablePointer<curl_slist>?) -> [String] {
        var lines: [String] = []
        var node = list
        while let current = node {
            lines.append(String(cString: current.pointee.data))
            node = current.pointee.next
        }
        return lines
    }

    func testLinesSurviveTheMemoryGrowingAndAreForgottenOnReuse() {
        let headers = HeaderList()
        XCTAssertNil(headers.list())
        // More lines and more text than it starts with: both grow while lines are added.
        let long = String(repeating: "v", count: 300)
        for index in 0..<20 { headers.append(name: "X-\(index)", value: index.isMultiple(of: 5) ? long : "é\(index)") }
        headers.append(line: "Expect:")
        let expected = (0..<20).map { "X-\($0): " + ($0.isMultiple(of: 5) ? long : "é\($0)") } + ["Expect:"]
        XCTAssertEqual(lines(headers.list()), expected)

        headers.removeAll()
        XCTAssertNil(headers.list())
        headers.append(name: "Idempotency-Key", value: "abc-1")
        XCTAssertEqual(lines(headers.list()), ["Idempotency-Key: abc-1"])
    }
}
