import Foundation
import Testing
@testable import TollgateCore

/// The analytics pages' pure parts: a period's buckets, timeseries JSON turned into chart series.
@Suite struct AnalyticsPagesTests {
    static let now = ISO8601DateFormatter().date(from: "2026-12-03T12:34:56Z")!

    @Test("a cost table shows a dash, not $0, for a group none of whose calls had a price")
    func unpricedGroupsHaveNoCost() {
        func line(_ group: String, count: Double, unpriced: Double, cost: Double) -> JSONValue {
            .object([("group", .string(group)), ("count", .number(count)), ("total_tokens", .number(10)), ("cost_usd", .number(cost)), ("unpriced_count", .number(unpriced))])
        }
        let html = DashboardPages.costTable([line("gpt-4o-mini", count: 2, unpriced: 0, cost: 0.00048), line("gpt-9-preview", count: 1, unpriced: 1, cost: 0)], heading: "Model").markup
        #expect(html.contains("<td>gpt-9-preview</td><td class=\"num\">1</td><td class=\"num\">10</td><td class=\"num\">–</td>"))
        #expect(!html.contains("$0<"))
    }

    @Test("a period's chart spans its buckets, oldest first, up to the current one")
    func periodBuckets() {
        let hours = DashboardPeriod.day.buckets(now: Self.now)
        #expect(hours.count == 25)
        #expect(ISO8601Micros.format(hours.first!) == "2026-12-02T12:00:00Z")
        #expect(ISO8601Micros.format(hours.last!) == "2026-12-03T12:00:00Z")
        #expect(DashboardPeriod("7d") == .week && DashboardPeriod("nonsense") == .day)
        #expect(DashboardPeriod.hour.interval == .minute && DashboardPeriod.month.interval == .day)
    }

    @Test("counts are drawn as 0 where a bucket had no calls, percentiles are left out there; the costliest groups are kept")
    func seriesFromTimeseries() {
        let buckets = DashboardPeriod.hour.buckets(now: Self.now).suffix(3).map { $0 }
        func line(_ bucket: Int64, _ group: String?, cost: Double, p50: Double?) -> JSONValue {
            .object([("bucket", .string(ISO8601Micros.format(bucket))), ("group", group.map { .string($0) } ?? .null),
                     ("count", .number(1)), ("cost_usd", .number(cost)), ("latency_p50_ms", p50.map { .number($0) } ?? .null)])
        }
        let lines = [line(buckets[0], "a", cost: 1, p50: 100), line(buckets[2], "a", cost: 2, p50: 300), line(buckets[1], "b", cost: 0.5, p50: 50)]
        let costs = DashboardPages.series(lines, field: "cost_usd", buckets: buckets, zero: true, limit: 1)
        #expect(costs.map(\.name) == ["a"], "only the costliest group with limit 1")
        #expect(costs[0].points.map(\.y) == [1, 0, 2])
        let latency = DashboardPages.series(lines, field: "latency_p50_ms", buckets: buckets, zero: false)
        #expect(latency.map(\.name) == ["a", "b"])
        #expect(latency[0].points.map(\.y) == [100, 300] && latency[1].points.map(\.y) == [50])
        #expect(latency[0].points.map(\.x) == [Double(buckets[0]) / 1e6, Double(buckets[2]) / 1e6])
    }
}
