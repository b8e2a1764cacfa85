import Prometheus

/// The worker's Prometheus metrics. Counters and the histogram are updated as attempts finish;
/// the queue gauges are read from the database when scraped.
///
/// Updated by the delivery thread and scraped by the metrics thread: the caches below are the
/// delivery thread's alone, and swift-prometheus's registry and metrics are thread-safe.
final class WorkerMetrics: @unchecked Sendable {
    let registry: PrometheusCollectorRegistry
    private let inFlight: Gauge
    private let oldestPendingAge: Gauge
    private let events: [String: Gauge]
    private let leasesLost: Counter
    /// Each webservice's metrics, made as its first attempt is counted: one lookup per attempt.
    private var byWebservice: [String: WebserviceMetrics] = [:]

    private struct WebserviceMetrics {
        let deliveries: Counter
        let retries: Counter
        let failures: Counter
        let latency: DurationHistogram
    }

    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// A metric's full name as it appears on the wire, and its help text.
    private static func metric(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        inFlight = registry.makeGauge(descriptor: Self.metric("postcall_transfers_in_flight", "HTTP transfers this worker is running now."))
        oldestPendingAge = registry.makeGauge(
            descriptor: Self.metric("postcall_oldest_pending_age_seconds", "Age of the oldest pending event in the outbox, 0 when none."))
        events = Dictionary(uniqueKeysWithValues: ["pending", "in_flight", "dead"].map { state in
            (state, registry.makeGauge(descriptor: Self.metric("postcall_events", "Events in the outbox by state."), labels: [("state", state)]))
        })
        leasesLost = registry.makeCounter(
            descriptor: Self.metric("postcall_leases_lost_total", "Outcomes dropped because another worker had taken the event over."))
    }

    func transfersInFlight(_ count: Int) { inFlight.set(Int64(count)) }

    func leaseLost() { leasesLost.increment() }

    /// Counts a recorded attempt and its duration.
    func attempt(webservice: String, outcome: AttemptRecord.Outcome, durationMilliseconds: Int64) {
        let metrics = byWebservice[webservice] ?? makeMetrics(for: webservice)
        switch outcome {
        case .delivered: metrics.deliveries.increment()
        case .retry: metrics.retries.increment()
        case .failed: metrics.failures.increment()
        }
        metrics.latency.recordNanoseconds(durationMilliseconds * 1_000_000)
    }

    private func makeMetrics(for webservice: String) -> WebserviceMetrics {
        let failures = Self.metric("postcall_failures_total", "Failed attempts; outcome retry goes back to pending, failed is dead.")
        let made = WebserviceMetrics(
            deliveries: registry.makeCounter(
                descriptor: Self.metric("postcall_deliveries_total", "Events delivered."), labels: [("webservice", webservice)]),
            retries: registry.makeCounter(
                descriptor: failures, labels: [("webservice", webservice), ("outcome", AttemptRecord.Outcome.retry.rawValue)]),
            failures: registry.makeCounter(
                descriptor: failures, labels: [("webservice", webservice), ("outcome", AttemptRecord.Outcome.failed.rawValue)]),
            latency: registry.makeDurationHistogram(
                descriptor: Self.metric("postcall_attempt_duration_seconds", "Time from sending a request to its outcome."),
                labels: [("webservice", webservice)], buckets: Self.latencyBuckets))
        byWebservice[webservice] = made
        return made
    }

    /// Reads the queue gauges from the database, then writes every metric in the text format.
    func exposition(store: OutboxStore?) -> [UInt8] {
        if let depths = try? store?.queueDepths() {
            for (state, gauge) in events { gauge.set(Int64(depths.counts[state] ?? 0)) }
            oldestPendingAge.set(depths.oldestPendingAgeSeconds ?? 0)
        }
        return registry.emitToBuffer()
    }
}
