/// An outbox row leased to this worker for one attempt.
public struct ClaimedEntry: Sendable, Equatable {
    /// The event id.
    public let id: Int64
    public let webservice: String
    public let callID: String
    public let reason: String
    public let variablesJSON: String
    /// The 1-based number of this claim; it fences the lease, so an outcome is recorded only by
    /// the worker whose claim is current.
    public let attempt: Int
    public let createdAt: Milliseconds
    /// Where the current retry budget starts: `postcall retry` resets it.
    public var retryBaseAttempt: Int = 0
    public var retryBaseAt: Milliseconds? = nil

    /// Attempts made since the retry budget started.
    public var attemptInBudget: Int { attempt - retryBaseAttempt }
    /// When the retry budget started.
    public var budgetStartedAt: Milliseconds { retryBaseAt ?? createdAt }
}
