/// When a webservice that keeps failing is paused, so its receiver is not hammered while down.
///
/// Events of a paused webservice stay `pending` and use up no attempts; the first claim after the
/// pause is the probe, and one delivery closes the breaker again.
public struct CircuitBreaker: Sendable, Equatable {
    /// Transient failures in a row that open the breaker.
    public var threshold: Int
    /// The pause grows by this much for every `threshold` failures in a row.
    public var pausePerThreshold: Milliseconds
    public var maximumPause: Milliseconds

    public init(threshold: Int = 5, pausePerThreshold: Milliseconds = 5_000, maximumPause: Milliseconds = 600_000) {
        self.threshold = threshold
        self.pausePerThreshold = pausePerThreshold
        self.maximumPause = maximumPause
    }
}
