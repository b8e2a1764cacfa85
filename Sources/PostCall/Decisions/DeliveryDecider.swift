import PostCallCCurl

/// Every decision about one attempt, made without I/O: whether a claimed event is sent, what a
/// finished exchange means (delivered, retried at a given time, dead, or a redirect to follow),
/// and what the history and the logs say about it. The worker gathers the inputs (the claimed
/// entry, its webservice, what libcurl left behind, the clock) and performs the actions.
///
/// The rules, in one place:
/// - 2xx is delivered, except a SOAP response whose body is a Fault or is not a SOAP envelope.
/// - 408, 425, 429 and 5xx, timeouts and connection failures are retried; other 4xx are not.
/// - A SOAP fault decides over the status: Server/Receiver faults are retried, the others not.
/// - 3xx follows ``RedirectRule``: never a delivery.
/// - A transient failure is retried with ``RetryPolicy``'s backoff (counted within the current
///   retry budget, so `postcall retry` starts the schedule afresh) until the budget ends; then
///   the event is dead.
/// - An attempt our own stop interrupted is retried at once and does not use up the budget.
/// - A store failure while preparing leaves the event to its lease: nothing is recorded or erased.
/// - A private webservice's history keeps only the error class; logs only ever get the class.
struct DeliveryDecider: Sendable {
    var retryPolicy: RetryPolicy
    /// Crash strikes (the worker died while running the event alone) before an event is given up.
    var crashLimit: Int

    /// An attempt's outcome and what the history and the logs say of it.
    struct Decision: Sendable, Equatable {
        enum Outcome: Sendable, Equatable {
            case delivered
            case retry(at: Milliseconds)
            case dead
        }

        var outcome: Outcome
        /// The text the history keeps; only the class for a private webservice.
        var error: String? = nil
        /// The class alone, for logs and metrics: never call data.
        var errorClass: String? = nil
        /// Counts towards pausing the webservice (see ``CircuitBreaker``).
        var isEndpointFailure = false
        /// The attempt does not count against the retry budget.
        var refundsAttempt = false

        static let delivered = Decision(outcome: .delivered)
    }

    enum StartAction: Sendable, Equatable {
        /// Send this request.
        case send(HTTPRequest)
        /// Record this outcome without sending anything.
        case finish(Decision, isPrivate: Bool)
        /// Do nothing: the lease brings the event back once the store works again.
        case leaveToLease(reason: String)
    }

    enum FinishAction: Sendable, Equatable {
        case record(Decision)
        /// Send this request next, within the same attempt.
        case follow(HTTPRequest)
    }

    // MARK: Before sending

    /// What to do with a claimed entry, given its webservice as loaded from the store (or why it
    /// could not be) and the outbox's id for its Idempotency-Key.
    func start(
        _ entry: ClaimedEntry, webservice loaded: Result<CompiledWebservice, PostCallError>, outboxID: String
    ) -> StartAction {
        let compiled: CompiledWebservice
        switch loaded {
        case .failure(let error) where !error.isBadInput:
            return .leaveToLease(reason: error.message)
        case .failure(let error):
            // A configuration that cannot be used does not get better by waiting. What the
            // webservice would keep is unknown, so the event's data is kept for `postcall retry`;
            // the error names no call data.
            return .finish(permanentFailure(AttemptFailure(errorClass: "configuration", detail: error.message, isTransient: false), isPrivate: false), isPrivate: false)
        case .success(let loaded):
            compiled = loaded
        }
        if entry.crashStrikes >= crashLimit {
            let failure = AttemptFailure(
                errorClass: "gave up",
                detail: "\(entry.crashStrikes) workers died while delivering this event alone; check the worker logs, then `postcall retry \(entry.id)`",
                isTransient: false)
            return .finish(permanentFailure(failure, isPrivate: false), isPrivate: compiled.webservice.isPrivate)
        }
        do {
            let values = try TemplateValues(
                variablesJSON: entry.variablesJSON, callID: entry.callID, reason: entry.reason, eventID: entry.id,
                outboxID: outboxID, createdAt: entry.createdAt, attempt: entry.attempt)
            return .send(try compiled.template.render(values, eventID: entry.id))
        } catch {
            // Rendering is pure: it fails on the event's data or the templates, never on the store.
            let message = (error as? PostCallError)?.message ?? "\(error)"
            let failure = AttemptFailure(errorClass: "request", detail: message, isTransient: false)
            let isPrivate = compiled.webservice.isPrivate
            return .finish(permanentFailure(failure, isPrivate: isPrivate), isPrivate: isPrivate)
        }
    }

    // MARK: After an exchange

    /// What a finished exchange means. `request` is what was sent; `redirectsFollowed` counts
    /// the redirects this attempt already followed.
    func finish<Generator: RandomNumberGenerator>(
        _ transfer: FinishedTransfer, request: HTTPRequest, entry: ClaimedEntry, webservice: Webservice,
        redirectsFollowed: Int = 0, now: Milliseconds, using generator: inout Generator
    ) -> FinishAction {
        let failure: AttemptFailure?
        if transfer.hasResponse, let status = transfer.httpStatus {
            if webservice.kind == .soap, let soapFailure = SOAPResponseCheck.failure(status: status, body: transfer.body) {
                failure = soapFailure
            } else if (300..<400).contains(status) {
                switch RedirectRule.judge(
                    status: status, target: transfer.redirectURL ?? transfer.location, request: request,
                    followRedirects: webservice.followRedirects, followed: redirectsFollowed)
                {
                case .follow(let next): return .follow(next)
                case .fail(let redirectFailure): failure = redirectFailure
                }
            } else {
                failure = AttemptFailure.classify(httpStatus: status)
            }
        } else if let address = transfer.deniedAddress {
            failure = AttemptFailure(
                errorClass: "network denied",
                detail: "the worker's --deny-networks covers \(address); --allow-networks can make an exception",
                isTransient: false)
        } else {
            failure = AttemptFailure.classify(curlCode: transfer.curlCode, detail: transfer.errorDetail, tls: webservice.tls)
        }
        let retryAfter = failure == nil ? nil : Self.retryAfter(in: transfer.headers, now: now)
        return .record(decide(failure, entry: entry, webservice: webservice, retryAfter: retryAfter, now: now, using: &generator))
    }

    /// The outcome of an attempt that failed with `failure` (`nil`: delivered).
    func decide<Generator: RandomNumberGenerator>(
        _ failure: AttemptFailure?, entry: ClaimedEntry, webservice: Webservice, retryAfter: Milliseconds? = nil,
        now: Milliseconds, using generator: inout Generator
    ) -> Decision {
        guard let failure else { return .delivered }
        let message = failure.message(isPrivate: webservice.isPrivate)
        guard failure.isTransient else { return permanentFailure(failure, isPrivate: webservice.isPrivate) }
        let budgetAttempt = entry.attemptInBudget
        if retryPolicy.mayRetry(attempt: budgetAttempt, startedAt: entry.budgetStartedAt, now: now, webservice: webservice) {
            let delay = retryPolicy.delay(afterAttempt: budgetAttempt, retryAfter: retryAfter, using: &generator)
            return Decision(
                outcome: .retry(at: now + delay), error: message, errorClass: failure.errorClass,
                isEndpointFailure: failure.isEndpointFailure)
        }
        return Decision(
            outcome: .dead, error: AttemptFailure.gaveUpPrefix(attempts: budgetAttempt) + message, errorClass: failure.errorClass,
            isEndpointFailure: failure.isEndpointFailure)
    }

    /// An attempt that our own stop cut short: never the receiver's fault, so it is due again at
    /// once and does not use up the event's budget, even if it was the last attempt.
    func interrupted(now: Milliseconds) -> Decision {
        Decision(
            outcome: .retry(at: now), error: "interrupted: the worker stopped before the receiver answered",
            errorClass: "interrupted", refundsAttempt: true)
    }

    /// Dead at once. A permanent failure says nothing of the receiver's health (a 4xx, a bad
    /// configuration), so it never counts towards pausing the webservice.
    private func permanentFailure(_ failure: AttemptFailure, isPrivate: Bool) -> Decision {
        Decision(outcome: .dead, error: failure.message(isPrivate: isPrivate), errorClass: failure.errorClass)
    }

    /// The response's `Retry-After`, if it has a valid one.
    static func retryAfter(in headers: ResponseHeaders, now: Milliseconds) -> Milliseconds? {
        guard let value = headers.last(named: "retry-after") else { return nil }
        return RetryPolicy.retryAfter(value, now: now)
    }
}
