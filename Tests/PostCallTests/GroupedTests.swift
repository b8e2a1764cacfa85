import XCTest

@testable import PostCall

final class GroupedTests: XCTestCase {
    func testGroupsKeepTheOrderKeysFirstAppearInAndLeaveNilValuesOut() {
        let batch = [("a", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 0), ("b", 5), ("c", 6)]
        let groups = batch.grouped(by: \.0) { $0.1 == 0 ? nil : $0.1 }
        XCTAssertEqual(groups.map(\.key), ["a", "b", "c"])
        XCTAssertEqual(groups.map(\.values), [[1, 2, 4], [3, 5], [6]])
        XCTAssertTrue([(String, Int)]().grouped(by: \.0, value: \.1).isEmpty)
    }
}
