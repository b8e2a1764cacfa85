/// What happened in one attempt, as the worker reports it to the store.
public struct AttemptRecord: Sendable {
    /// How the attempt left the event.
    public enum Outcome: String, Sendable, Codable {
        /// Accepted by the receiver: the event is `delivered`.
        case delivered
        /// Failed transiently: the event is `pending` again until `nextAttemptAt`.
        case retry
        /// Failed for good, or out of attempts: the event is `dead`.
        case failed
    }

    public var entry: ClaimedEntry
    public var worker: String
    public var startedAt: Milliseconds
    public var durationMilliseconds: Int64
    public var outcome: Outcome
    public var httpStatus: Int?
    /// A short, support-readable reason; never call data for a private webservice.
    public var error: String?
    /// JSON summaries; `nil` for a private webservice.
    public var requestSummary: String?
    public var responseSummary: String?
    /// When a `.retry` becomes due.
    public var nextAttemptAt: Milliseconds?
    /// Private webservice: erase the event's variables once it reaches a final state.
    public var isPrivate: Bool
    /// A transient failure that says the receiver is unwell (timeout, 5xx, connection refused):
    /// counts towards pausing the webservice.
    public var isEndpointFailure: Bool = false
    /// The attempt does not count against the retry budget (our own stop interrupted it).
    public var refundsAttempt: Bool = false
    /// The error's class alone, for logs: never call data.
    public var errorClass: String?
    /// Real paths of uploaded files to delete once this outcome is recorded (see ``FileRules``).
    public var filesToDelete: [String] = []

    public init(
        entry: ClaimedEntry, worker: String, startedAt: Milliseconds, durationMilliseconds: Int64, outcome: Outcome,
        httpStatus: Int? = nil, error: String? = nil, requestSummary: String? = nil, responseSummary: String? = nil,
        nextAttemptAt: Milliseconds? = nil, isPrivate: Bool = false
    ) {
        self.entry = entry
        self.worker = worker
        self.startedAt = startedAt
        self.durationMilliseconds = durationMilliseconds
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.error = error
        self.requestSummary = requestSummary
        self.responseSummary = responseSummary
        self.nextAttemptAt = nextAttemptAt
        self.isPrivate = isPrivate
    }

    /// When the attempt ended.
    public var finishedAt: Milliseconds { startedAt + durationMilliseconds }

    /// The event's state after this attempt.
    var resultingState: EventState {
        switch outcome {
        case .delivered: .delivered
        case .retry: .pending
        case .failed: .dead
        }
    }
}
