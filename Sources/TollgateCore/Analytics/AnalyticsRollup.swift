import Foundation

/// Turns a batch of recorded calls into analytics rows, and merges them with the rows already
/// stored under the bounded-cardinality rule. Pure: the stores read the rows a batch touches,
/// hand them here, and write back what this returns, in the batch's own transaction.
public enum AnalyticsRollup {
    /// The batch's figures per row (every resolution, every dimension each call has).
    public static func rollup(_ records: some Sequence<RequestRecord>) -> [AnalyticsKey: AnalyticsFigures] {
        // Minutes first, then hours and days from the minutes: a busy batch adds each call's
        // histograms once per dimension, not once per dimension and resolution.
        var minutes: [AnalyticsKey: AnalyticsFigures] = [:]
        for record in records {
            let figures = AnalyticsFigures(record)
            let bucket = AnalyticsResolution.minute.floor(StoredMicros.of(record.createdAt))
            for (dimension, value) in AnalyticsDimension.values(of: record) {
                let key = AnalyticsKey(group: AnalyticsGroup(resolution: .minute, bucket: bucket, project: record.project, dimension: dimension), value: value)
                minutes[key, default: AnalyticsFigures()].merge(figures)
            }
        }
        var all = minutes
        for resolution in [AnalyticsResolution.hour, .day] {
            for (key, figures) in minutes {
                var coarse = key
                coarse.group.resolution = resolution
                coarse.group.bucket = resolution.floor(key.group.bucket)
                all[coarse, default: AnalyticsFigures()].merge(figures)
            }
        }
        return all
    }

    /// Adds `other`'s figures to `rollup`'s, row by row: the rollup of both batches.
    public static func add(_ other: [AnalyticsKey: AnalyticsFigures], to rollup: inout [AnalyticsKey: AnalyticsFigures]) {
        for (key, figures) in other { rollup[key, default: AnalyticsFigures()].merge(figures) }
    }

    /// What is stored for the groups a batch touches.
    public struct Stored: Sendable {
        /// The stored rows among the batch's keys, and each touched group's ``AnalyticsDimension/otherValue`` row.
        public var rows: [AnalyticsKey: AnalyticsFigures]
        /// How many values each touched group has rows for, not counting its other row.
        public var valueCounts: [AnalyticsGroup: Int]

        public init(rows: [AnalyticsKey: AnalyticsFigures] = [:], valueCounts: [AnalyticsGroup: Int] = [:]) {
            self.rows = rows
            self.valueCounts = valueCounts
        }
    }

    /// The rows to write (insert or replace) so that the store holds `stored` plus `batch`.
    /// A value with a row gets its figures added; a new value gets a row while its group has
    /// fewer than the resolution's ``AnalyticsResolution/distinctValueCap`` values (the new
    /// values with most calls first); the rest are added to the group's other row. Sorted by key,
    /// so that writers touch rows in one order.
    public static func merge(_ batch: [AnalyticsKey: AnalyticsFigures], into stored: Stored) -> [(AnalyticsKey, AnalyticsFigures)] {
        var out: [AnalyticsKey: AnalyticsFigures] = [:]
        func add(_ key: AnalyticsKey, _ figures: AnalyticsFigures) {
            if out[key] == nil { out[key] = stored.rows[key] ?? AnalyticsFigures() }
            out[key]!.merge(figures)
        }
        var fresh: [AnalyticsGroup: [(String, AnalyticsFigures)]] = [:]
        for (key, figures) in batch {
            if key.value == AnalyticsDimension.otherValue || stored.rows[key] != nil {
                add(key, figures)
            } else {
                fresh[key.group, default: []].append((key.value, figures))
            }
        }
        for (group, values) in fresh {
            var room = group.resolution.distinctValueCap - (stored.valueCounts[group] ?? 0)
            for (value, figures) in values.sorted(by: { ($0.1.calls, $1.0) > ($1.1.calls, $0.0) }) {
                if room > 0 {
                    out[AnalyticsKey(group: group, value: value)] = figures
                    room -= 1
                } else {
                    add(AnalyticsKey(group: group, value: AnalyticsDimension.otherValue), figures)
                }
            }
        }
        return out.sorted { $0.key < $1.key }
    }
}

/// Times as stored: integer microseconds since 1970.
public enum StoredMicros {
    public static func of(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    public static func date(_ micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }
}
