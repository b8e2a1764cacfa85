/// How a worker process claims and delivers.
public struct WorkerConfiguration: Sendable {
    /// The lease owner name recorded on claimed rows and attempts.
    public var workerID: String
    /// Transfers in flight at once.
    public var concurrency: Int
    /// Added to each entry's timeout to form its lease, covering the time to record the outcome.
    public var leaseGrace: Milliseconds
    /// How often an idle worker looks for due events when no change notification arrives.
    public var idlePollInterval: Milliseconds
    /// How long a stopping worker lets transfers finish before it interrupts them.
    public var drainTimeout: Milliseconds
    public var retryPolicy: RetryPolicy
    public var userAgent: String

    public init(
        workerID: String, concurrency: Int = 64, leaseGrace: Milliseconds = 30_000,
        idlePollInterval: Milliseconds = 1_000, drainTimeout: Milliseconds = 30_000,
        retryPolicy: RetryPolicy = RetryPolicy(), userAgent: String = "postcall/0.1"
    ) {
        self.workerID = workerID
        self.concurrency = concurrency
        self.leaseGrace = leaseGrace
        self.idlePollInterval = idlePollInterval
        self.drainTimeout = drainTimeout
        self.retryPolicy = retryPolicy
        self.userAgent = userAgent
    }
}
