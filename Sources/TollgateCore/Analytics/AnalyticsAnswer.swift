import Foundation

/// One line of an analytics answer: a group (and for a timeseries, a bucket) and its figures.
public struct AnalyticsLine: Sendable, Equatable {
    /// A timeseries bucket's start, microseconds; nil in `GET /v1/stats`.
    public var bucket: Int64?
    /// The group's value: nil for no grouping, and for calls with no model, user or grouped property.
    public var group: String?
    /// The calls of values past the distinct-value cap, counted together.
    public var isOther: Bool
    public var figures: AnalyticsFigures

    public init(bucket: Int64?, group: String?, isOther: Bool = false, figures: AnalyticsFigures) {
        self.bucket = bucket
        self.group = group
        self.isOther = isOther
        self.figures = figures
    }

    /// The API's JSON: `bucket` (timeseries), `group`, `other` when true, then the figures.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let bucket { members.append(("bucket", .string(ISO8601Micros.format(bucket)))) }
        members.append(("group", isOther ? .string("(other)") : group.map { .string($0) } ?? .null))
        if isOther { members.append(("other", .bool(true))) }
        return .object(members + figures.fields)
    }
}

/// Combines stored rows into the lines of an answer. Pure.
public enum AnalyticsAnswer {
    /// A stored row as read back: its bucket start, value and figures.
    public struct Row: Sendable {
        public var resolution: AnalyticsResolution
        public var bucket: Int64
        public var value: String
        public var figures: AnalyticsFigures

        public init(resolution: AnalyticsResolution, bucket: Int64, value: String, figures: AnalyticsFigures) {
            self.resolution = resolution
            self.bucket = bucket
            self.value = value
            self.figures = figures
        }
    }

    /// Whether rows read for one filtered `value` (with the dimension's other rows) count all its
    /// calls: false when some bucket has an other row but no row for the value, so the value's
    /// calls there may be folded into other.
    public static func isExact(_ rows: [Row], value: String) -> Bool {
        var withValue = Set<[Int64]>(), withOther = Set<[Int64]>()
        for row in rows {
            let bucket = [row.resolution.rawValue, row.bucket]
            if row.value == value { withValue.insert(bucket) } else if row.value == AnalyticsDimension.otherValue { withOther.insert(bucket) }
        }
        return withOther.isSubset(of: withValue)
    }

    /// The lines for `query` from the rows its ``AnalyticsQuery/Plan/aggregates(dimension:value:pieces:totals:)``
    /// plan read (`totals`: the `none` rows, when asked for).
    public static func lines(_ rows: [Row], totals: [Row] = [], query: AnalyticsQuery) -> [AnalyticsLine] {
        let interval = query.interval
        let grouped = query.grouping != .none
        let filterValue = query.filters.first?.value
        struct Key: Hashable { var bucket: Int64?; var value: String? }
        var sums: [Key: AnalyticsFigures] = [:]
        var perBucket: [Int64?: AnalyticsFigures] = [:]
        for row in rows {
            if let filterValue, row.value != filterValue { continue }
            let bucket = interval.map { $0.floor(row.bucket) }
            let value: String? = grouped ? row.value : nil
            sums[Key(bucket: bucket, value: value), default: AnalyticsFigures()].merge(row.figures)
            perBucket[bucket, default: AnalyticsFigures()].merge(row.figures)
        }
        if case .property = query.grouping {
            // Calls without the property: all calls less those with it.
            var absent: [Int64?: AnalyticsFigures] = [:]
            for row in totals {
                absent[interval.map { $0.floor(row.bucket) }, default: AnalyticsFigures()].merge(row.figures)
            }
            for (bucket, var figures) in absent {
                if let tagged = perBucket[bucket] { figures.subtract(tagged) }
                if figures.calls > 0 { sums[Key(bucket: bucket, value: "\u{0}absent"), default: AnalyticsFigures()].merge(figures) }
            }
        }
        let lines = sums.map { key, figures -> AnalyticsLine in
            let value = key.value
            let isOther = value == AnalyticsDimension.otherValue
            let group: String? = switch query.grouping {
            case .none: nil
            case .property: value == "\u{0}absent" ? nil : value
            case .model, .user: value == "" ? nil : value
            case .provider, .status: value
            }
            return AnalyticsLine(bucket: key.bucket, group: isOther ? nil : group, isOther: isOther, figures: figures)
        }
        return sorted(lines)
    }

    /// Oldest bucket first; in a bucket, most cost first, then most calls, the other group last.
    public static func sorted(_ lines: [AnalyticsLine]) -> [AnalyticsLine] {
        lines.sorted { a, b in
            if a.bucket != b.bucket { return (a.bucket ?? 0) < (b.bucket ?? 0) }
            if a.isOther != b.isOther { return !a.isOther }
            if a.figures.costUSD != b.figures.costUSD { return a.figures.costUSD > b.figures.costUSD }
            if a.figures.calls != b.figures.calls { return a.figures.calls > b.figures.calls }
            return (a.group ?? "") < (b.group ?? "")
        }
    }
}

/// Answers a query from the stored calls themselves, one call at a time, in memory that grows
/// with the groups, not the calls; for the queries no one row set answers (``AnalyticsQuery/Plan/scan``).
public struct AnalyticsScan: Sendable {
    /// At most this many calls are read; a query matching more is refused (narrow the range or a filter).
    public static let limit = 100_000

    public let query: AnalyticsQuery
    public private(set) var calls = 0
    private var sums: [Key: AnalyticsFigures] = [:]
    private struct Key: Hashable { var bucket: Int64?; var group: String? }

    public init(query: AnalyticsQuery) {
        self.query = query
    }

    /// Counts one call that matched the filters.
    public mutating func add(_ record: RequestRecord) {
        calls += 1
        let bucket = query.interval.map { $0.floor(StoredMicros.of(record.createdAt)) }
        var group: String?
        if query.grouping != .none {
            group = query.grouping.value(of: record)
            if group == "", query.grouping == .model || query.grouping == .user { group = nil }
        }
        sums[Key(bucket: bucket, group: group), default: AnalyticsFigures()].merge(AnalyticsFigures(record))
    }

    public var lines: [AnalyticsLine] {
        AnalyticsAnswer.sorted(sums.map { AnalyticsLine(bucket: $0.key.bucket, group: $0.key.group, figures: $0.value) })
    }
}

/// `2026-12-03T12:00:00Z` for a bucket start in microseconds (UTC, whole seconds).
public enum ISO8601Micros {
    public static func format(_ micros: Int64) -> String {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let second = seconds - days * 86400
        let (year, month, day) = CivilDate.from(daysSince1970: days)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(second / 3600)):\(two(second % 3600 / 60)):\(two(second % 60))Z"
    }
}
