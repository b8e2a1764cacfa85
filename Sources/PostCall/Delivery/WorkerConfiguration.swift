/// How a worker process claims and delivers.
public struct WorkerConfiguration: Sendable {
    /// The lease owner name recorded on claimed rows and attempts.
    public var workerID: String
    /// Transfers in flight at once.
    public var concurrency: Int
    /// Transfers in flight at once for any one webservice, so a slow receiver leaves slots for
    /// the others.
    public var webserviceConcurrency: Int
    /// Added to each entry's timeout to form its lease, covering the time to record the outcome.
    public var leaseGrace: Milliseconds
    /// How often an idle worker looks for due events when no change notification arrives.
    public var idlePollInterval: Milliseconds
    /// How long a stopping worker lets transfers finish before it interrupts them.
    public var drainTimeout: Milliseconds
    public var retryPolicy: RetryPolicy
    public var circuitBreaker: CircuitBreaker
    /// Claims that ended without an outcome (the worker died) before an event is given up.
    public var crashLimit: Int
    public var userAgent: String
    /// Serve Prometheus metrics on this port (0 picks a free one); `nil` serves none.
    public var metricsPort: Int?
    public var metricsHost: String = "127.0.0.1"
    /// The folders uploads may be read from (and deleted in); empty: `recordings` beside the database.
    public var fileDirectories: [String] = []
    /// The addresses deliveries may connect to (`--deny-networks`, `--allow-networks`).
    public var networkPolicy = NetworkPolicy()
    /// Decrypts the webservices' signing secrets (`POSTCALL_SECRET_KEY_FILE`).
    public var secretKey: SecretKey?

    public init(
        workerID: String, concurrency: Int = 64, webserviceConcurrency: Int? = nil, leaseGrace: Milliseconds = 30_000,
        idlePollInterval: Milliseconds = 1_000, drainTimeout: Milliseconds = 30_000,
        retryPolicy: RetryPolicy = RetryPolicy(), circuitBreaker: CircuitBreaker = CircuitBreaker(), crashLimit: Int = 3,
        userAgent: String = "postcall/0.1"
    ) {
        self.workerID = workerID
        self.concurrency = concurrency
        self.webserviceConcurrency = webserviceConcurrency ?? max(1, (concurrency * 3 + 3) / 4)
        self.circuitBreaker = circuitBreaker
        self.crashLimit = crashLimit
        self.leaseGrace = leaseGrace
        self.idlePollInterval = idlePollInterval
        self.drainTimeout = drainTimeout
        self.retryPolicy = retryPolicy
        self.userAgent = userAgent
    }
}
