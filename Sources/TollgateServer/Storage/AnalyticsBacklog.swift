import TollgateCore

/// The batches a store wrote while more calls were waiting, whose analytics it keeps in memory
/// to merge with a later batch's (``SQLStore/insert(_:moreWaiting:)``): under load one merge a
/// second instead of one a batch. Each is also a row in `analytics_pending`, so that calls a
/// stopped gateway had not merged are merged by the next one (``SQLStore/mergePendingAnalytics(writtenBefore:)``).
struct AnalyticsBacklog: Sendable {
    /// Each pending batch's rollup, by its `analytics_pending` id.
    private(set) var entries: [String: [AnalyticsKey: AnalyticsFigures]] = [:]
    /// When the oldest of them was written.
    private(set) var since: ContinuousClock.Instant?

    /// How long a batch's calls may wait for their analytics, and how many batches.
    static let maxAge = Duration.seconds(1)
    static let maxBatches = 200

    /// Whether one more batch may leave its analytics for later.
    func accepts(at now: ContinuousClock.Instant) -> Bool {
        entries.count < Self.maxBatches && since.map { now - $0 < Self.maxAge } ?? true
    }

    mutating func add(_ id: String, _ rollup: [AnalyticsKey: AnalyticsFigures], at now: ContinuousClock.Instant) {
        if entries.isEmpty { since = now }
        entries[id] = rollup
    }

    /// Drops the batches a merge took care of (counted by it, or by another gateway before it).
    mutating func remove(_ ids: some Sequence<String>, at now: ContinuousClock.Instant) {
        for id in ids { entries[id] = nil }
        since = entries.isEmpty ? nil : now
    }
}
