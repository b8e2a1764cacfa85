import XCTest

@testable import PostCall

final class RetryPolicyTests: XCTestCase {
    func testCeilingsGrowThreefoldToTheCap() {
        let policy = RetryPolicy()
        XCTAssertEqual(
            (1...9).map { policy.ceiling(afterAttempt: $0) },
            [10_000, 30_000, 90_000, 270_000, 810_000, 2_430_000, 7_290_000, 14_400_000, 14_400_000])
    }

    func testFullJitterStaysWithinOneSecondAndTheCeiling() {
        let policy = RetryPolicy()
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...12 {
            let ceiling = policy.ceiling(afterAttempt: attempt)
            let delays = (0..<200).map { _ in policy.delay(afterAttempt: attempt, using: &generator) }
            XCTAssertTrue(delays.allSatisfy { (1_000...ceiling).contains($0) }, "attempt \(attempt)")
            // Full jitter spreads over the whole range, not a narrow band near the ceiling.
            XCTAssertLessThan(delays.min() ?? 0, ceiling / 3, "attempt \(attempt)")
        }
    }

    func testRetryAfterIsHonouredAndCapped() {
        let policy = RetryPolicy()
        XCTAssertGreaterThanOrEqual(policy.delay(afterAttempt: 1, retryAfter: 120_000), 120_000)
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: 99_000_000), policy.maximumRetryAfter)
        XCTAssertEqual(RetryPolicy.retryAfter("120", now: 0), 120_000)
        XCTAssertEqual(RetryPolicy.retryAfter(" 0 ", now: 0), 0)
        XCTAssertNil(RetryPolicy.retryAfter("-5", now: 0))
        XCTAssertNil(RetryPolicy.retryAfter("soon", now: 0))
        let now = Timestamp.parseWhen("2025-11-25T14:00:00Z") ?? 0
        XCTAssertEqual(RetryPolicy.retryAfter("Tue, 25 Nov 2025 14:01:30 GMT", now: now), 90_000)
    }

    func testGivingUpNeedsBothTheAttemptsAndTheAge() {
        let policy = RetryPolicy()
        let webservice = Webservice(name: "s", url: "http://h/", maxAttempts: 12, maxAgeMilliseconds: 86_400_000)
        let created: Milliseconds = 0
        XCTAssertTrue(policy.mayRetry(attempt: 12, startedAt: created, now: 3_600_000, webservice: webservice), "young: keep going")
        XCTAssertTrue(policy.mayRetry(attempt: 3, startedAt: created, now: 90_000_000, webservice: webservice), "few attempts: keep going")
        XCTAssertFalse(policy.mayRetry(attempt: 12, startedAt: created, now: 86_400_000, webservice: webservice))
        var attemptsOnly = webservice
        attemptsOnly.maxAgeMilliseconds = 0
        XCTAssertFalse(policy.mayRetry(attempt: 12, startedAt: created, now: 1, webservice: attemptsOnly))
        XCTAssertTrue(policy.mayRetry(attempt: 11, startedAt: created, now: 1, webservice: attemptsOnly))
    }
}
