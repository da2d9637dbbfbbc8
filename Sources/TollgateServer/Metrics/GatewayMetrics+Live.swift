import Prometheus

extension GatewayMetrics {
    /// Live streams open now (set when `/metrics` is read).
    func liveSubscribers(_ count: Int) {
        registry.makeGauge(descriptor: .init(namespace: "tollgate", metricName: "live_subscribers", helpText: "Live streams open (GET /v1/requests/live, dashboard Live pages)"))
            .set(Int64(count))
    }

    /// Calls a live stream skipped because it fell behind (it was told how many).
    func liveEventsDropped(_ count: Int) {
        registry.makeCounter(descriptor: .init(namespace: "tollgate", metricName: "live_events_dropped", unitName: "total", helpText: "Calls a live stream skipped because it fell behind"), labels: [])
            .increment(by: Int64(count))
    }
}
