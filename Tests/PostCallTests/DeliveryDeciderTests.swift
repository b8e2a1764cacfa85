import PostCallCCurl
import XCTest

@testable import PostCall

/// The delivery decisions, table by table, with a fixed clock and a seeded random generator: no
/// sockets, no database.
final class DeliveryDeciderTests: XCTestCase {
    private let now: Milliseconds = 1_764_079_200_000
    private let decider = DeliveryDecider(
        retryPolicy: RetryPolicy(firstDelay: 10_000, multiplier: 3, maximumDelay: 4 * 3_600_000), crashLimit: 3)
    private let rest = Webservice(name: "survey", url: "http://127.0.0.1/x", maxAttempts: 12, maxAgeMilliseconds: 86_400_000)
    private let request = HTTPRequest(
        method: "POST", url: "http://crm.example/survey?a=1",
        headers: [
            .init(name: "Authorization", value: "Bearer t"), .init(name: "X-Api-Key", value: "k"),
            .init(name: "X-Trace", value: "1"), .init(name: "Idempotency-Key", value: "o-1"),
        ], body: Array("q1=5".utf8))

    /// A generator that always draws the same numbers.
    private struct Fixed: RandomNumberGenerator {
        var state: UInt64 = 42
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }

    private func entry(attempt: Int = 1, retryBaseAttempt: Int = 0, createdAt: Milliseconds? = nil, crashStrikes: Int = 0) -> ClaimedEntry {
        ClaimedEntry(
            id: 7, webservice: "survey", callID: "call-1", reason: "hangup", variablesJSON: #"{"q1":"5"}"#, attempt: attempt,
            createdAt: createdAt ?? now - 1_000, retryBaseAttempt: retryBaseAttempt, crashStrikes: crashStrikes)
    }

    private func response(_ status: Int, headers: [Webservice.Field] = [], body: String = "", redirect: String? = nil) -> FinishedTransfer {
        FinishedTransfer(
            curlCode: CURLE_OK, httpStatus: status, headers: ResponseHeaders(headers), body: Array(body.utf8), bodyBytes: body.utf8.count,
            redirectURL: redirect)
    }

    private func finish(
        _ transfer: FinishedTransfer, webservice: Webservice? = nil, entry: ClaimedEntry? = nil, redirects: Int = 0
    ) -> DeliveryDecider.FinishAction {
        var generator = Fixed()
        return decider.finish(
            transfer, request: request, entry: entry ?? self.entry(), webservice: webservice ?? rest, redirectsFollowed: redirects,
            now: now, using: &generator)
    }

    private func decision(_ action: DeliveryDecider.FinishAction, file: StaticString = #filePath, line: UInt = #line) -> DeliveryDecider.Decision? {
        guard case .record(let decision) = action else {
            XCTFail("expected an outcome, got \(action)", file: file, line: line)
            return nil
        }
        return decision
    }

    private enum Kind: Equatable { case delivered, retry, dead }

    private func kind(_ decision: DeliveryDecider.Decision?) -> Kind? {
        switch decision?.outcome {
        case .delivered: .delivered
        case .retry: .retry
        case .dead: .dead
        case nil: nil
        }
    }

    // MARK: Status codes

    func testStatusCodes() {
        let table: [(status: Int, kind: Kind, error: String?)] = [
            (200, .delivered, nil), (201, .delivered, nil), (202, .delivered, nil), (204, .delivered, nil),
            (400, .dead, "http 400"), (401, .dead, "http 401"), (403, .dead, "http 403"), (404, .dead, "http 404"),
            (410, .dead, "http 410"), (422, .dead, "http 422"),
            (408, .retry, "http 408"), (425, .retry, "http 425"), (429, .retry, "http 429"),
            (500, .retry, "http 500"), (502, .retry, "http 502"), (503, .retry, "http 503"), (504, .retry, "http 504"),
        ]
        for row in table {
            let made = decision(finish(response(row.status)))
            XCTAssertEqual(kind(made), row.kind, "\(row.status)")
            XCTAssertEqual(made?.error, row.error, "\(row.status)")
            XCTAssertEqual(made?.errorClass, row.error, "\(row.status)")
            XCTAssertEqual(made?.isEndpointFailure, row.kind == .retry, "\(row.status): only transient failures pause a webservice")
        }
    }

    // MARK: Transport failures

    func testCurlCodes() {
        let table: [(code: CURLcode, kind: Kind, errorClass: String)] = [
            (CURLE_OPERATION_TIMEDOUT, .retry, "timeout"), (CURLE_COULDNT_RESOLVE_HOST, .retry, "dns"),
            (CURLE_COULDNT_CONNECT, .retry, "connect"), (CURLE_RECV_ERROR, .retry, "connection"),
            (CURLE_SEND_ERROR, .retry, "connection"), (CURLE_GOT_NOTHING, .retry, "connection"),
            (CURLE_SSL_CONNECT_ERROR, .retry, "tls"), (CURLE_PEER_FAILED_VERIFICATION, .retry, "tls"),
            (CURLE_URL_MALFORMAT, .dead, "url"), (CURLE_UNSUPPORTED_PROTOCOL, .dead, "url"),
            (CURLE_OUT_OF_MEMORY, .retry, "transport"),
        ]
        for row in table {
            let failed = FinishedTransfer(curlCode: row.code, errorDetail: "Failed to connect to 10.1.2.3 port 443")
            let made = decision(finish(failed))
            XCTAssertEqual(kind(made), row.kind, "\(row.code)")
            XCTAssertEqual(made?.errorClass, row.errorClass, "\(row.code)")
            // A certificate the receiver presents that is not trusted says where trust comes from.
            let explained = row.code == CURLE_PEER_FAILED_VERIFICATION
                ? "the receiver's certificate is not trusted by the system's CAs; a private CA needs --ca-file: " : ""
            XCTAssertEqual(made?.error, "\(row.errorClass): \(explained)Failed to connect to 10.1.2.3 port 443", "\(row.code)")
        }
    }

    /// TLS failures name the webservice's files that they concern.
    func testTLSFailuresNameTheirFiles() {
        let tls = TLSFiles(caFile: "/etc/ca.pem", clientCertificate: "/etc/me.pem", clientKey: "/etc/me.key")
        let table: [(CURLcode, String)] = [
            (CURLE_SSL_CACERT_BADFILE, "tls: cannot use the CA file /etc/ca.pem (--ca-file): x"),
            (CURLE_SSL_CERTPROBLEM, "tls: cannot use the client certificate /etc/me.pem or its key /etc/me.key (--client-cert, --client-key): x"),
            (CURLE_PEER_FAILED_VERIFICATION, "tls: the receiver's certificate is not trusted by the CA file /etc/ca.pem (--ca-file): x"),
        ]
        for (code, message) in table {
            XCTAssertEqual(AttemptFailure.classify(curlCode: code, detail: "x", tls: tls).message(isPrivate: false), message)
            XCTAssertEqual(AttemptFailure.classify(curlCode: code, detail: "x", tls: tls).message(isPrivate: true), "tls")
        }
    }

    func testAnOversizedBodyStillCountsAsTheResponseItsStatusSays() {
        var big = response(200)
        big.curlCode = CURLE_WRITE_ERROR
        big.bodyTooLarge = true
        XCTAssertEqual(kind(decision(finish(big))), .delivered)
        big.bodyTooLarge = false
        XCTAssertEqual(kind(decision(finish(big))), .retry, "a write error of our own that is not the size cap is a failure")
    }

    // MARK: Redirects

    func testRedirectsAreNeverDeliveriesAndAreNotFollowedByDefault() {
        let table: [(status: Int, kind: Kind)] = [(301, .dead), (308, .dead), (302, .retry), (303, .retry), (307, .retry)]
        for row in table {
            let made = decision(finish(response(row.status, headers: [.init(name: "Location", value: "https://crm.example/new")],
                                                redirect: "https://crm.example/new")))
            XCTAssertEqual(kind(made), row.kind, "\(row.status)")
            XCTAssertEqual(made?.errorClass, "http \(row.status)")
            XCTAssertEqual(made?.error?.hasPrefix("http \(row.status): redirect to https://crm.example/new not followed"), true, "\(String(describing: made?.error))")
            XCTAssertEqual(made?.isEndpointFailure, false)
        }
        let withoutLocation = decision(finish(response(302)))
        XCTAssertEqual(kind(withoutLocation), .dead)
        XCTAssertEqual(kind(decision(finish(response(304)))), .dead, "304 to a POST is no delivery")
        XCTAssertEqual(kind(decision(finish(response(300, redirect: "http://a/")))), .dead)
    }

    func testFollowedRedirectsKeepMethodAndBodyAndDropSecretsAcrossOrigins() {
        var following = rest
        following.followRedirects = true
        guard case .follow(let sameOrigin) = finish(response(303, redirect: "http://crm.example:80/moved"), webservice: following) else {
            return XCTFail("a redirect must be followed")
        }
        XCTAssertEqual(sameOrigin.method, "POST", "303 must not turn the POST into a GET")
        XCTAssertEqual(sameOrigin.body, request.body)
        XCTAssertEqual(sameOrigin.url, "http://crm.example:80/moved")
        XCTAssertEqual(sameOrigin.headers, request.headers, "same origin: every header stays")

        guard case .follow(let otherOrigin) = finish(response(301, redirect: "https://crm.example/moved"), webservice: following) else {
            return XCTFail("a redirect must be followed")
        }
        XCTAssertEqual(otherOrigin.method, "POST")
        XCTAssertEqual(otherOrigin.body, request.body)
        XCTAssertEqual(otherOrigin.headers.map(\.name), ["X-Trace", "Idempotency-Key"], "http -> https is another origin: no secret header")

        XCTAssertEqual(kind(decision(finish(response(302, redirect: "https://x/"), webservice: following, redirects: 3))), .dead)
        XCTAssertEqual(kind(decision(finish(response(302, redirect: "ftp://x/"), webservice: following))), .dead)
    }

    func testOrigins() {
        XCTAssertEqual(RedirectRule.origin(of: "http://A.example/x"), "http://a.example:80")
        XCTAssertEqual(RedirectRule.origin(of: "http://a.example:80/x"), "http://a.example:80")
        XCTAssertEqual(RedirectRule.origin(of: "https://user:pw@a.example?q"), "https://a.example:443")
        XCTAssertEqual(RedirectRule.origin(of: "http://[::1]:8080/"), "http://[::1]:8080")
        XCTAssertNil(RedirectRule.origin(of: "file:///etc/passwd"))
    }

    // MARK: SOAP

    private var soap: Webservice {
        var webservice = rest
        webservice.kind = .soap
        return webservice
    }

    private static func fault11(_ code: String, detail: String = "") -> String {
        """
        <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>\
        <faultcode>s:\(code)</faultcode><faultstring>call-1 refused</faultstring><detail>\(detail)</detail>\
        </s:Fault></s:Body></s:Envelope>
        """
    }

    func testSOAPResponses() {
        let envelope = #"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><r/></s:Body></s:Envelope>"#
        let fault12 = """
            <e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value></e:Code>\
            <e:Reason><e:Text xml:lang="en">bad</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>
            """
        let longDetail = String(repeating: "at Survey.Save() in C:\\\\src\\\\Survey.cs:line 42\n", count: 400)
        let table: [(status: Int, body: String, kind: Kind, errorClass: String?)] = [
            (200, envelope, .delivered, nil),
            (202, "", .delivered, nil),
            (200, Self.fault11("Client"), .dead, "soap fault Client"),
            (500, Self.fault11("Client"), .dead, "soap fault Client"),
            (500, Self.fault11("Server"), .retry, "soap fault Server"),
            (200, Self.fault11("Client", detail: longDetail), .dead, "soap fault Client"),
            (400, fault12, .dead, "soap fault Sender"),
            (200, "<html><body>Service unavailable</body></html>", .retry, "invalid response"),
            (200, "{\"ok\":true}", .retry, "invalid response"),
            (503, "<html>busy</html>", .retry, "http 503"),
        ]
        for row in table {
            let made = decision(finish(response(row.status, body: row.body), webservice: soap))
            XCTAssertEqual(kind(made), row.kind, "\(row.status) \(row.body.prefix(60))")
            XCTAssertEqual(made?.errorClass, row.errorClass, "\(row.status) \(row.body.prefix(60))")
        }
        XCTAssertGreaterThan(Self.fault11("Client", detail: longDetail).utf8.count, 16_384, "the long fault must exceed the old 4 KiB window")
    }

    func testASOAPFaultCutOffByTheInspectionBoundIsStillFound() {
        let fault = Array(Self.fault11("Client", detail: String(repeating: "x", count: 10_000)).utf8)
        let made = decision(finish(response(200, body: String(decoding: fault.prefix(8_000), as: UTF8.self)), webservice: soap))
        XCTAssertEqual(made?.errorClass, "soap fault Client")
    }

    // MARK: Budgets and backoff

    func testRetriesUntilBothAttemptsAndAgeAreUsedUp() {
        var strict = rest
        strict.maxAttempts = 3
        strict.maxAgeMilliseconds = 0
        let table: [(attempt: Int, base: Int, kind: Kind, error: String)] = [
            (1, 0, .retry, "http 503"), (2, 0, .retry, "http 503"), (3, 0, .dead, "gave up after 3 attempts: http 503"),
            // After `postcall retry` (base 3) the budget counts afresh.
            (4, 3, .retry, "http 503"), (6, 3, .dead, "gave up after 3 attempts: http 503"),
        ]
        for row in table {
            let made = decision(finish(response(503), webservice: strict, entry: entry(attempt: row.attempt, retryBaseAttempt: row.base)))
            XCTAssertEqual(kind(made), row.kind, "attempt \(row.attempt) base \(row.base)")
            XCTAssertEqual(made?.error, row.error)
        }
        // The age rule keeps a young event retrying past its attempts.
        var young = strict
        young.maxAgeMilliseconds = 3_600_000
        XCTAssertEqual(kind(decision(finish(response(503), webservice: young, entry: entry(attempt: 9)))), .retry)
        XCTAssertEqual(kind(decision(finish(response(503), webservice: young, entry: entry(attempt: 9, createdAt: now - 7_200_000)))), .dead)
    }

    func testBackoffCountsTheAttemptWithinTheFreshBudget() {
        // The 10th attempt overall but the 1st after `postcall retry`: the first ceiling (10 s),
        // not the 4 h the total count would give.
        for seed in UInt64(1)...50 {
            var generator = Fixed(state: seed)
            let made = decider.finish(
                response(503), request: request, entry: entry(attempt: 10, retryBaseAttempt: 9), webservice: rest, now: now,
                using: &generator)
            guard case .record(let decision) = made, case .retry(let at) = decision.outcome else { return XCTFail("\(made)") }
            XCTAssertLessThanOrEqual(at - now, 10_000)
            XCTAssertGreaterThanOrEqual(at - now, 1_000)
        }
    }

    func testRetryAfterIsHonoured() {
        let made = decision(finish(response(429, headers: [.init(name: "Retry-After", value: "120")])))
        guard case .retry(let at) = made?.outcome else { return XCTFail("429 must be retried") }
        XCTAssertEqual(at - now, 120_000)
    }

    // MARK: Private webservices

    func testAPrivateWebserviceKeepsOnlyTheErrorClass() {
        var secret = soap
        secret.isPrivate = true
        let table: [(FinishedTransfer, String)] = [
            (response(500, body: Self.fault11("Server", detail: "call-1 +15551230000")), "soap fault Server"),
            (FinishedTransfer(curlCode: CURLE_COULDNT_CONNECT, errorDetail: "Failed to connect to crm.example/call-1"), "connect"),
            (response(301, redirect: "https://crm.example/survey/call-1"), "http 301"),
        ]
        for (transfer, expected) in table {
            let made = decision(finish(transfer, webservice: secret))
            XCTAssertEqual(made?.error, expected)
            XCTAssertEqual(made?.errorClass, expected)
        }
        XCTAssertEqual(AttemptFailure.privateForm(of: "soap fault Client: call-1 refused (x)"), "soap fault Client")
        XCTAssertEqual(AttemptFailure.privateForm(of: "gave up after 3 attempts: connect: Failed to connect to a"), "gave up after 3 attempts: connect")
        XCTAssertEqual(AttemptFailure.privateForm(of: "http 503"), "http 503")
    }

    // MARK: Interruptions, store failures, crashes

    func testAnInterruptionIsDueAtOnceAndRefundsTheAttempt() {
        let made = decider.interrupted(now: now)
        XCTAssertEqual(made.outcome, .retry(at: now))
        XCTAssertTrue(made.refundsAttempt)
        XCTAssertFalse(made.isEndpointFailure)
        XCTAssertEqual(made.errorClass, "interrupted")
    }

    func testStartingAnEvent() throws {
        let compiled = CompiledWebservice(webservice: rest, template: try RequestTemplate(rest))
        let table: [(Result<CompiledWebservice, PostCallError>, ClaimedEntry, String)] = [
            (.success(compiled), entry(), "send"),
            (.failure(PostCallError(.databaseBusy, "locked")), entry(), "lease"),
            (.failure(PostCallError(.diskFull, "full")), entry(), "lease"),
            (.failure(PostCallError(.database, "I/O error")), entry(), "lease"),
            (.failure(PostCallError(.notFound, "webservice survey no longer exists")), entry(), "dead, kept"),
            (.failure(PostCallError(.invalidInput, "malformed headers")), entry(), "dead, kept"),
            (.success(compiled), entry(crashStrikes: 2), "send"),
            (.success(compiled), entry(crashStrikes: 3), "dead, kept"),
        ]
        for (loaded, entry, expected) in table {
            let action = decider.start(entry, webservice: loaded, outboxID: "abc")
            switch action {
            case .send(let request):
                XCTAssertEqual(expected, "send")
                XCTAssertEqual(request.header("Idempotency-Key"), "abc-7")
            case .leaveToLease: XCTAssertEqual(expected, "lease", "\(loaded)")
            case .finish(let decision, let isPrivate):
                XCTAssertEqual(expected, "dead, kept", "\(loaded)")
                XCTAssertEqual(decision.outcome, .dead)
                XCTAssertFalse(isPrivate, "nothing known to be private is erased")
            }
        }
    }

    func testVariablesThatCannotBeDecodedFailTheEventForGood() throws {
        var broken = entry()
        broken = ClaimedEntry(
            id: broken.id, webservice: broken.webservice, callID: broken.callID, reason: broken.reason, variablesJSON: "[1]",
            attempt: 1, createdAt: now)
        guard case .finish(let decision, _) = decider.start(
            broken, webservice: .success(CompiledWebservice(webservice: rest, template: try RequestTemplate(rest))), outboxID: "o")
        else { return XCTFail("expected a failure") }
        XCTAssertEqual(decision.outcome, .dead)
        XCTAssertEqual(decision.errorClass, "request")
    }

    // MARK: Circuit breaker

    func testTheBreakerOpensAfterFailuresInARowAndADeliveryClosesIt() {
        let breaker = CircuitBreaker(threshold: 3, pausePerThreshold: 5_000, maximumPause: 12_000)
        typealias Health = CircuitBreaker.Health
        let table: [(from: Health, signals: [CircuitBreaker.Signal], to: Health)] = [
            (Health(), [.endpointFailure, .endpointFailure], Health(consecutiveFailures: 2)),
            (Health(), [.endpointFailure, .endpointFailure, .endpointFailure], Health(consecutiveFailures: 3, pausedUntil: now + 5_000)),
            (Health(consecutiveFailures: 5), [.endpointFailure], Health(consecutiveFailures: 6, pausedUntil: now + 10_000)),
            (Health(consecutiveFailures: 20), [.endpointFailure], Health(consecutiveFailures: 21, pausedUntil: now + 12_000)),
            (Health(consecutiveFailures: 7, pausedUntil: now - 1), [.delivered], Health()),
            // A delivery in the batch resets the count before the failures after it add to it.
            (Health(consecutiveFailures: 2), [.endpointFailure, .delivered, .endpointFailure], Health(consecutiveFailures: 1)),
            (Health(consecutiveFailures: 2), [.neutral, .neutral], Health(consecutiveFailures: 2)),
        ]
        for row in table {
            XCTAssertEqual(breaker.health(after: row.signals, from: row.from, now: now), row.to, "\(row.from) + \(row.signals)")
        }
    }

    // MARK: Store outages

    /// A database outage: said once, retried fast at first, then at most every 5 s; a success ends it.
    func testAStoreOutageIsSaidOnceAndRetriedWithBackoff() {
        var outage = StoreOutage()
        XCTAssertFalse(outage.recover(), "no outage to end")
        let table: [(failedAt: Milliseconds, says: Bool, retryAt: Milliseconds)] = [
            (now, true, now + 250), (now + 250, false, now + 750), (now + 750, false, now + 1_750),
            (now + 1_750, false, now + 3_750), (now + 3_750, false, now + 7_750), (now + 7_750, false, now + 12_750),
        ]
        for row in table {
            XCTAssertEqual(outage.fail(now: row.failedAt), row.says, "\(row)")
            XCTAssertEqual(outage.retryAt, row.retryAt, "\(row)")
        }
        for _ in 0..<100 { _ = outage.fail(now: now) }
        XCTAssertEqual(outage.retryAt, now + StoreOutage.maximumDelay, "the shift never overflows")
        XCTAssertTrue(outage.recover())
        XCTAssertFalse(outage.isOngoing)
        XCTAssertTrue(outage.fail(now: now), "the next outage is said again")
    }
}
