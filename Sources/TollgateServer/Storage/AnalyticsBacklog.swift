import TollgateCore

/// The batches a store wrote while more calls were waiting, whose analytics wait in memory to be
/// merged with a later batch's (``SQLStore/insert(_:moreWaiting:)``): under load one merge every
/// ``maxAge`` instead of one a batch. Each is also a row in `analytics_pending`, so that calls a
/// stopped gateway had not merged are merged by the next one (``SQLStore/mergePendingAnalytics(writtenBefore:)``).
struct AnalyticsBacklog: Sendable {
    /// The pending batches' rollups, added together.
    private(set) var rollup: [AnalyticsKey: AnalyticsFigures] = [:]
    /// Their `analytics_pending` ids.
    private(set) var ids: Set<String> = []
    /// When the oldest of them was written.
    private(set) var since: ContinuousClock.Instant?

    /// How long a batch's calls may wait for their analytics, and how many batches.
    static let maxAge = Duration.seconds(1)
    static let maxBatches = 200

    var isEmpty: Bool { ids.isEmpty }

    /// Whether one more batch may leave its analytics for later.
    func accepts(at now: ContinuousClock.Instant) -> Bool {
        ids.count < Self.maxBatches && since.map { now - $0 < Self.maxAge } ?? true
    }

    /// Adds a pending batch's rollup; a batch already held (written twice) is held once.
    mutating func add(_ id: String, _ batch: [AnalyticsKey: AnalyticsFigures], at now: ContinuousClock.Instant) {
        guard ids.insert(id).inserted else { return }
        if since == nil { since = now }
        AnalyticsRollup.add(batch, to: &rollup)
    }

    /// Lets go of every batch held: after a merge took care of them (counted by it, or by another
    /// gateway before it), or left them to ``SQLStore/mergePendingAnalytics(writtenBefore:)``.
    /// A batch added during the merge is let go of too, still pending in the store, for the next
    /// gateway that looks for pending batches; writers write one batch at a time, so the recorder
    /// never does that.
    mutating func clear() {
        self = AnalyticsBacklog()
    }
}
