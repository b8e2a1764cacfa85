import XCTest

@testable import PostCall

/// The claimed events waiting for a slot: started in claim order across webservices, skipping
/// those whose webservice has no room, stale ones taken out first.
final class WaitingEventsTests: XCTestCase {
    private let failed: Result<CompiledWebservice, PostCallError> = .failure(PostCallError(.invalidInput, "unused"))

    private func event(_ id: Int64, _ webservice: String, claimedAt: Milliseconds) -> WaitingEvents.Event {
        WaitingEvents.Event(
            entry: ClaimedEntry(
                id: id, webservice: webservice, callID: "call-\(id)", reason: "hangup", variablesJSON: "{}", attempt: 1,
                createdAt: 0),
            webservice: failed, claimedAt: claimedAt)
    }

    private func waiting(_ events: [(Int64, String, Milliseconds)]) -> WaitingEvents {
        var waiting = WaitingEvents()
        for (id, webservice, claimedAt) in events { waiting.append(event(id, webservice, claimedAt: claimedAt)) }
        return waiting
    }

    func testEventsStartInClaimOrderAcrossWebservices() {
        var waiting = waiting([(1, "a", 10), (2, "b", 10), (3, "a", 11), (4, "c", 12), (5, "b", 12)])
        var started: [Int64] = []
        while let next = waiting.removeOldest(where: { _ in true }) { started.append(next.entry.id) }
        XCTAssertEqual(started, [1, 2, 3, 4, 5])
        XCTAssertTrue(waiting.isEmpty)
        XCTAssertNil(waiting.oldestClaimedAt)
    }

    func testAWebserviceWithoutRoomIsSkippedAndKeepsItsOrder() {
        var waiting = waiting([(1, "full", 10), (2, "free", 11), (3, "full", 12), (4, "free", 13)])
        XCTAssertEqual(waiting.removeOldest(where: { $0 != "full" })?.entry.id, 2)
        XCTAssertEqual(waiting.removeOldest(where: { $0 != "full" })?.entry.id, 4)
        XCTAssertNil(waiting.removeOldest(where: { $0 != "full" }))
        XCTAssertEqual(waiting.count, 2)
        XCTAssertEqual(waiting.oldestClaimedAt, 10)
        XCTAssertEqual(waiting.removeOldest(where: { _ in true })?.entry.id, 1)
        XCTAssertEqual(waiting.removeOldest(where: { _ in true })?.entry.id, 3)
    }

    func testStaleEventsAreTakenOutOfEveryQueue() {
        var waiting = waiting([(1, "a", 10), (2, "b", 11), (3, "a", 20), (4, "b", 21), (5, "c", 9)])
        XCTAssertEqual(Set(waiting.removeClaimed(before: 20).map(\.id)), [1, 2, 5])
        XCTAssertEqual(waiting.count, 2)
        XCTAssertEqual(waiting.oldestClaimedAt, 20)
        XCTAssertEqual(waiting.countsByWebservice.map(\.webservice), ["a", "b"])
        XCTAssertEqual(waiting.removeClaimed(before: 20), [])
    }

    func testCountsPerWebserviceAndRemovingAll() {
        var waiting = waiting([(1, "a", 10), (2, "b", 10), (3, "a", 11)])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: waiting.countsByWebservice.map { ($0.webservice, $0.count) }), ["a": 2, "b": 1])
        XCTAssertEqual(Set(waiting.removeAll().map(\.id)), [1, 2, 3])
        XCTAssertTrue(waiting.isEmpty)
        XCTAssertTrue(waiting.countsByWebservice.isEmpty)
    }

    /// Taking from the front compacts the queue now and then: order survives it.
    func testALongQueueKeepsItsOrderThroughCompaction() {
        var waiting = WaitingEvents()
        for id in Int64(0)..<300 { waiting.append(event(id, "a", claimedAt: id)) }
        var started: [Int64] = []
        for round in Int64(0)..<200 {
            started.append(waiting.removeOldest(where: { _ in true })?.entry.id ?? -1)
            waiting.append(event(300 + round, "a", claimedAt: 300 + round))
        }
        while let next = waiting.removeOldest(where: { _ in true }) { started.append(next.entry.id) }
        XCTAssertEqual(started, Array(0..<500))
    }
}
