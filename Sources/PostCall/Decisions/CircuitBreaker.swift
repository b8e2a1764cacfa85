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

extension CircuitBreaker {
    /// A webservice's health as the breaker sees it.
    public struct Health: Sendable, Equatable {
        /// Endpoint failures since the last delivery.
        public var consecutiveFailures: Int
        /// While in the future, the webservice's events wait.
        public var pausedUntil: Milliseconds?

        public init(consecutiveFailures: Int = 0, pausedUntil: Milliseconds? = nil) {
            self.consecutiveFailures = consecutiveFailures
            self.pausedUntil = pausedUntil
        }
    }

    /// What one recorded attempt says about its receiver.
    public enum Signal: Sendable, Equatable {
        /// Delivered: the receiver works; the breaker closes.
        case delivered
        /// A failure that says the receiver is unwell (timeout, 5xx, refused connection).
        case endpointFailure
        /// Anything else (a 4xx, a redirect, an interrupted attempt): says nothing of its health.
        case neutral
    }

    /// The health after `signals`, in the order their attempts finished. From `threshold`
    /// failures in a row on, the webservice pauses for `pausePerThreshold` per `threshold`
    /// failures, at most `maximumPause`, counted from `now`.
    public func health(after signals: [Signal], from health: Health, now: Milliseconds) -> Health {
        var result = health
        for signal in signals {
            switch signal {
            case .delivered:
                result = Health()
            case .endpointFailure:
                result.consecutiveFailures += 1
                if result.consecutiveFailures >= threshold {
                    let pause = pausePerThreshold * Milliseconds(result.consecutiveFailures / threshold)
                    result.pausedUntil = now + min(maximumPause, pause)
                }
            case .neutral:
                continue
            }
        }
        return result
    }
}
