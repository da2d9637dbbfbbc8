import Prometheus
import TollgateCore

/// The gateway's Prometheus metrics, one registry per running app (so tests are independent).
/// Per-call metrics are updated by the recorder, off the request path.
public final class GatewayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let latencyBuckets: [Double] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000]
    let queueDepthGauge: Gauge
    let unpricedCounter: Counter

    public init() {
        queueDepthGauge = registry.makeGauge(descriptor: .init(namespace: "tollgate", metricName: "record_queue_depth", helpText: "Finished calls waiting to be written"))
        unpricedCounter = registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "unpriced_requests", unitName: "total", helpText: "Calls with usage but no price for their model (cost null)"))
    }

    func recorded(_ record: RequestRecord, unpriced: Bool) {
        let model = record.model ?? "unknown"
        let labels = [("provider", record.provider), ("model", model), ("status", String(record.status))]
        registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "requests", unitName: "total", helpText: "Recorded calls"), labels: labels).increment()
        registry.makeValueHistogram(descriptor: .init(namespace: "tollgate", metricName: "request_latency", unitName: "milliseconds", helpText: "Request received to last byte sent"), labels: [("provider", record.provider)], buckets: latencyBuckets).record(record.latencyMs)
        if let ttft = record.timeToFirstTokenMs {
            registry.makeValueHistogram(descriptor: .init(namespace: "tollgate", metricName: "time_to_first_token", unitName: "milliseconds", helpText: "Request received to first upstream body byte of a stream"), labels: [("provider", record.provider)], buckets: latencyBuckets).record(ttft)
        }
        if let usage = record.usage {
            let tokens = registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "tokens", unitName: "total", helpText: "Tokens by kind"), labels: [("provider", record.provider), ("model", model), ("kind", "prompt")])
            tokens.increment(by: Int64(usage.inputTokens))
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "tokens", unitName: "total", helpText: "Tokens by kind"), labels: [("provider", record.provider), ("model", model), ("kind", "completion")]).increment(by: Int64(usage.outputTokens))
        }
        if let cost = record.costUSD {
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "cost", unitName: "usd_total", helpText: "Cost of priced calls in USD"), labels: [("provider", record.provider), ("model", model)]).increment(by: cost)
        }
        if unpriced { unpricedCounter.increment() }
        if let error = record.error, let kind = error.split(separator: ":").first {
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "request_failures", unitName: "total", helpText: "Calls that did not complete normally"), labels: [("provider", record.provider), ("kind", String(kind))]).increment()
        }
    }

    func recordsDropped(_ count: Int, reason: String) {
        registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "records_dropped", unitName: "total", helpText: "Calls answered but not recorded"), labels: [("reason", reason)]).increment(by: Int64(count))
    }

    func bodyUploadFailed() {
        registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "body_upload_failures", unitName: "total", helpText: "Bodies that could not be put in S3 and were kept in the database"), labels: []).increment()
    }

    func queueDepth(_ depth: Int) {
        queueDepthGauge.set(Int64(depth))
    }
}
