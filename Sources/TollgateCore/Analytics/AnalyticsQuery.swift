import Foundation

/// A question to the analytics API (`GET /v1/stats`, `GET /v1/stats/timeseries`), and how it is
/// answered.
public struct AnalyticsQuery: Sendable {
    /// Nil means every project (the global admin key).
    public var project: String?
    public var grouping: AnalyticsDimension = .none
    /// `model=`, `user_id=`, `property.<name>=`: every one must hold.
    public var filters: [(dimension: AnalyticsDimension, value: String)] = []
    public var since: Date?
    public var until: Date?
    /// Set for a timeseries: the bucket width.
    public var interval: AnalyticsResolution?

    public init(project: String? = nil, grouping: AnalyticsDimension = .none) {
        self.project = project
        self.grouping = grouping
    }

    /// The most buckets one timeseries answer may hold.
    public static let maxBuckets = 10_000

    /// How the answer is found.
    public enum Plan: Sendable, Equatable {
        /// From the rows of one dimension (the filter's, when there is one, restricted to its
        /// value; else the grouping's) over these pieces. `totals` adds the `none` rows, from
        /// which the calls without the grouped property are worked out.
        case aggregates(dimension: AnalyticsDimension, value: String?, pieces: [AnalyticsRange.Piece], totals: Bool)
        /// From the stored calls that match the filters, through the index of one of them, up to
        /// ``AnalyticsScan/limit`` calls: when filters and grouping name different dimensions,
        /// which no one row set counts together.
        case scan
    }

    /// The time range in microseconds: `since` (else the start of time, or for a timeseries one
    /// hour, day or 30 days of minutes, hours or days before `until`) to `until` (else now).
    public func range(now: Date) -> (since: Int64, until: Int64) {
        let until = StoredMicros.of(self.until ?? now)
        if let since { return (StoredMicros.of(since), until) }
        guard let interval else { return (0, until) }
        let span: Int64 = switch interval {
        case .minute: 3600
        case .hour: 86400
        case .day: 30 * 86400
        }
        return (until - span * 1_000_000, until)
    }

    public func plan(now: Date) -> Plan {
        let distinct = Set(filters.map(\.dimension))
        if distinct.count > 1 || (distinct.count == 1 && grouping != .none && distinct.first != grouping) { return .scan }
        // Two different values of one dimension: no call has both.
        if filters.count > 1, Set(filters.map(\.value)).count > 1 { return .aggregates(dimension: filters[0].dimension, value: nil, pieces: [], totals: false) }
        let (since, until) = range(now: now)
        let pieces: [AnalyticsRange.Piece]
        if let interval {
            let start = interval.floor(since), end = interval.ceil(until)
            pieces = start < end ? [AnalyticsRange.Piece(interval, start, end)] : []
        } else {
            pieces = AnalyticsRange.pieces(since: since, until: until, now: StoredMicros.of(now))
        }
        if let filter = filters.first {
            return .aggregates(dimension: filter.dimension, value: filter.value, pieces: pieces, totals: false)
        }
        if case .property = grouping { return .aggregates(dimension: grouping, value: nil, pieces: pieces, totals: true) }
        return .aggregates(dimension: grouping, value: nil, pieces: pieces, totals: false)
    }

    /// How many buckets a timeseries answer spans, to refuse one too long to draw or send.
    public func bucketCount(now: Date) -> Int {
        guard let interval else { return 1 }
        let (since, until) = range(now: now)
        return Int(max(0, (interval.ceil(until) - interval.floor(since)) / interval.micros))
    }
}
