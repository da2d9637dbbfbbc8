import Prometheus
import TollgateCore

/// The gateway's Prometheus metrics, one registry per running app (so tests are independent).
/// Per-call metrics are updated by the recorder, off the request path.
public final class GatewayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let latencyBuckets: [Double] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000]
    let queueDepthGauge: Gauge

    public init() {
        queueDepthGauge = registry.makeGauge(descriptor: .init(namespace: "tollgate", metricName: "record_queue_depth", helpText: "Finished calls waiting to be written"))
    }

    /// Counts a written batch: one registry look-up per label set in the batch, not per call.
    func recorded(_ batch: [(record: RequestRecord, unpriced: Bool)]) {
        var requests: [[String]: Int64] = [:]
        var latencies: [String: [Double]] = [:]
        var firstTokens: [String: [Double]] = [:]
        var tokens: [[String]: Int64] = [:]
        var costs: [[String]: Double] = [:]
        var failures: [[String]: Int64] = [:]
        var unpriced: [String: Int64] = [:]
        var cacheHits: [[String]: (count: Int64, saved: Double)] = [:]
        for (record, isUnpriced) in batch {
            let model = record.model ?? "unknown"
            requests[[record.provider, model, String(record.status)], default: 0] += 1
            latencies[record.provider, default: []].append(record.latencyMs)
            if let ttft = record.timeToFirstTokenMs { firstTokens[record.provider, default: []].append(ttft) }
            if let usage = record.usage {
                tokens[[record.provider, model, "prompt"], default: 0] += Int64(usage.inputTokens)
                tokens[[record.provider, model, "completion"], default: 0] += Int64(usage.outputTokens)
            }
            if let cost = record.costUSD { costs[[record.provider, model], default: 0] += cost }
            if isUnpriced { unpriced[model, default: 0] += 1 }
            if record.cacheHit {
                cacheHits[[record.provider, model], default: (0, 0)].count += 1
                cacheHits[[record.provider, model], default: (0, 0)].saved += record.costSavedUSD ?? 0
            }
            if let error = record.error, let kind = error.split(separator: ":").first {
                failures[[record.provider, String(kind)], default: 0] += 1
            }
        }
        for (key, count) in requests {
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "requests", unitName: "total", helpText: "Recorded calls"),
                                 labels: [("provider", key[0]), ("model", key[1]), ("status", key[2])]).increment(by: count)
        }
        for (provider, values) in latencies {
            let histogram = registry.makeValueHistogram(descriptor: .init(namespace: "tollgate", metricName: "request_latency", unitName: "milliseconds", helpText: "Request received to last byte sent"), labels: [("provider", provider)], buckets: latencyBuckets)
            for value in values { histogram.record(value) }
        }
        for (provider, values) in firstTokens {
            let histogram = registry.makeValueHistogram(descriptor: .init(namespace: "tollgate", metricName: "time_to_first_token", unitName: "milliseconds", helpText: "Request received to first upstream body byte of a stream"), labels: [("provider", provider)], buckets: latencyBuckets)
            for value in values { histogram.record(value) }
        }
        for (key, count) in tokens {
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "tokens", unitName: "total", helpText: "Tokens by kind"),
                                 labels: [("provider", key[0]), ("model", key[1]), ("kind", key[2])]).increment(by: count)
        }
        for (key, cost) in costs {
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "cost", unitName: "usd_total", helpText: "Cost of priced calls in USD"),
                                 labels: [("provider", key[0]), ("model", key[1])]).increment(by: cost)
        }
        for (model, count) in unpriced {
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "unpriced_requests", unitName: "total", helpText: "Calls with usage but no price for their model (cost null); see GET /v1/pricing/unpriced"),
                                 labels: [("model", model)]).increment(by: count)
        }
        for (key, hits) in cacheHits {
            let labels = [("provider", key[0]), ("model", key[1])]
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "cache_hits", unitName: "total", helpText: "Calls answered from the response cache"), labels: labels)
                .increment(by: hits.count)
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "cache_saved", unitName: "usd_total", helpText: "What the cache hits would have cost in USD"), labels: labels)
                .increment(by: hits.saved)
        }
        for (key, count) in failures {
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "request_failures", unitName: "total", helpText: "Calls that did not complete normally"),
                                 labels: [("provider", key[0]), ("kind", key[1])]).increment(by: count)
        }
    }

    func recordsDropped(_ count: Int, reason: String) {
        registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "records_dropped", unitName: "total", helpText: "Calls answered but not recorded"), labels: [("reason", reason)]).increment(by: Int64(count))
    }

    func bodyUploadFailed() {
        registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "body_upload_failures", unitName: "total", helpText: "Bodies that could not be put in S3 and were kept in the database"), labels: []).increment()
    }

    func bodyUploadsSkipped(_ count: Int) {
        registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "body_uploads_skipped", unitName: "total", helpText: "Bodies kept in the database because S3 was behind (record queue half full)"), labels: []).increment(by: Int64(count))
    }

    func queueDepth(_ depth: Int) {
        queueDepthGauge.set(Int64(depth))
    }
}
