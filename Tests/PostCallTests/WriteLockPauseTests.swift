import XCTest

@testable import PostCall

final class WriteLockPauseTests: XCTestCase {
    /// An insert that met a whole hold is, when it ends, in the busy handler's sleep that the
    /// pause lasts: its looks are at 0, 1, 3, 8, 18, 33 ms and so on.
    func testThePauseLastsTheSleepAnInsertIsInWhenTheHoldEnds() {
        let pause = WriteLockPause.worker
        let table: [(hold: UInt64, pause: UInt64)] = [
            (0, 2_100), (900, 2_100), (2_999, 2_100),
            (3_000, 5_100), (7_999, 5_100),
            (8_000, 10_100), (17_999, 10_100),
            (18_000, 15_100), (32_999, 15_100),
            (33_000, 20_100), (200_000, 50_100), (227_999, 50_100),
            (228_000, 100_100), (5_000_000, 100_100),
        ]
        for (hold, expected) in table {
            XCTAssertEqual(pause.microseconds(afterHolding: hold), expected, "after a hold of \(hold) µs")
        }
    }

    /// Whatever the hold, the next look of an insert that met it falls inside the pause.
    func testAnInsertThatMetTheHoldLooksDuringThePause() {
        let pause = WriteLockPause(minimumMicroseconds: 0)
        let looks = WriteLockPause.busyHandlerSleeps.reduce(into: [UInt64(0)]) { $0.append($0.last! + $1 * 1_000) }
        for hold in stride(from: UInt64(0), to: 220_000, by: 250) {
            for arrival in stride(from: UInt64(0), through: hold, by: 500) {
                // The first look after the hold ends, of an insert that arrived `arrival` into it.
                guard let next = looks.map({ arrival + $0 }).first(where: { $0 > hold }) else { continue }
                XCTAssertLessThanOrEqual(
                    next - hold, pause.microseconds(afterHolding: hold),
                    "an insert arriving \(arrival) µs into a hold of \(hold) µs looks after the pause")
            }
        }
    }
}
