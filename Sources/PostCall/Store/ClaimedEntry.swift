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
    /// Where the current retry budget starts: `postcall retry` resets it, and an attempt our own
    /// stop interrupted moves it on, so that attempt does not count.
    public var retryBaseAttempt: Int = 0
    public var retryBaseAt: Milliseconds? = nil
    /// Claims of this event whose worker died while it ran alone (see `lease_solo` in the schema).
    public var crashStrikes: Int = 0
    /// This claim runs the event alone, because an earlier claim of it lost its lease.
    public var isSolo: Bool = false

    /// Attempts made since the retry budget started.
    public var attemptInBudget: Int { attempt - retryBaseAttempt }
    /// When the retry budget started.
    public var budgetStartedAt: Milliseconds { retryBaseAt ?? createdAt }
}
