import Foundation
import Prometheus
import TollgateCore

/// Webhook delivery metrics, in the gateway's registry.
final class WebhookMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let pendingGauge: Gauge
    let oldestGauge: Gauge
    let disabledGauge: Gauge
    let duration: ValueHistogram

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        pendingGauge = registry.makeGauge(descriptor: .init(namespace: "tollgate", metricName: "webhook_deliveries_pending", helpText: "Deliveries waiting for a (re)try"))
        oldestGauge = registry.makeGauge(descriptor: .init(namespace: "tollgate", metricName: "webhook_oldest_pending_age", unitName: "seconds", helpText: "Age of the oldest pending delivery"))
        disabledGauge = registry.makeGauge(descriptor: .init(namespace: "tollgate", metricName: "webhooks_disabled", helpText: "Webhooks that are disabled"))
        duration = registry.makeValueHistogram(descriptor: .init(namespace: "tollgate", metricName: "webhook_attempt_duration", unitName: "milliseconds", helpText: "Duration of delivery attempts"), labels: [], buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 120_000])
    }

    func attempted(outcome: AttemptOutcome, durationMs: Double, final status: DeliveryStatus) {
        let label: String
        switch outcome {
        case .delivered: label = "delivered"
        case .rejected: label = "rejected"
        case .timedOut: label = "timed_out"
        case .connectionFailed: label = "connection_failed"
        case .refusedDestination: label = "refused_destination"
        }
        registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "webhook_attempts", unitName: "total", helpText: "Delivery attempts by outcome"), labels: [("outcome", label)]).increment()
        if status != .pending {
            registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "webhook_deliveries", unitName: "total", helpText: "Deliveries finished, by final status"), labels: [("status", status.rawValue)]).increment()
        }
        duration.record(durationMs)
    }

    func pending(count: Int, oldest: Date?) {
        pendingGauge.set(Int64(count))
        oldestGauge.set(oldest.map { Date().timeIntervalSince($0) } ?? 0)
    }

    func disabled(_ count: Int) {
        disabledGauge.set(Int64(count))
    }
}
