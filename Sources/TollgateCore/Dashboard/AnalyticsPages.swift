import Foundation

/// The period a dashboard page covers, chosen by `?period=`: the range and the bucket width of
/// its charts.
public enum DashboardPeriod: String, CaseIterable, Sendable {
    case hour = "1h"
    case day = "24h"
    case week = "7d"
    case month = "30d"

    /// `?period=` as given, else the last 24 hours.
    public init(_ name: String?) {
        self = name.flatMap(DashboardPeriod.init(rawValue:)) ?? .day
    }

    public var seconds: TimeInterval {
        switch self {
        case .hour: 3600
        case .day: 86400
        case .week: 7 * 86400
        case .month: 30 * 86400
        }
    }

    /// The timeseries interval of its charts: about 24 to 168 points.
    public var interval: AnalyticsResolution {
        switch self {
        case .hour: .minute
        case .day, .week: .hour
        case .month: .day
        }
    }

    public var label: String {
        switch self {
        case .hour: "Last hour"
        case .day: "Last 24 hours"
        case .week: "Last 7 days"
        case .month: "Last 30 days"
        }
    }

    /// The bucket starts (microseconds) the charts span, oldest first, ending with the current one.
    public func buckets(now: Date) -> [Int64] {
        let end = interval.floor(StoredMicros.of(now))
        let start = interval.floor(StoredMicros.of(now.addingTimeInterval(-seconds)))
        return Array(stride(from: start, through: end, by: Int(interval.micros)))
    }
}

/// The analytics pages (SPEC §9: overview, latency, costs), drawn from the JSON of
/// `GET /v1/stats` and `GET /v1/stats/timeseries`.
extension DashboardPages {
    /// What the analytics pages are given: the API's `data` arrays.
    public struct Analytics: Sendable {
        public var period: DashboardPeriod
        public var now: Date
        /// `GET /v1/stats` over the period, no grouping: one line or none.
        public var totals: [JSONValue] = []
        /// `GET /v1/stats/timeseries`, no grouping.
        public var series: [JSONValue] = []
        /// `GET /v1/stats/timeseries?group_by=model`.
        public var seriesByModel: [JSONValue] = []
        public var byModel: [JSONValue] = []
        public var byProvider: [JSONValue] = []
        public var byUser: [JSONValue] = []
        /// Per property name, its `GET /v1/stats?group_by=property.<name>` lines.
        public var byProperty: [(name: String, lines: [JSONValue])] = []
        /// `GET /v1/pricing/unpriced`.
        public var unpriced: [JSONValue] = []

        public init(period: DashboardPeriod, now: Date) {
            self.period = period
            self.now = now
        }
    }

    /// Links to the same page over each period, the current one marked.
    static func periodPicker(_ current: DashboardPeriod, path: String) -> HTML {
        let links: [HTML] = DashboardPeriod.allCases.map { period in
            "<a href=\"\(path)?period=\(period.rawValue)\"\(period == current ? HTML(" aria-current=\"true\"") : "")>\(period.label)</a>"
        }
        return "<nav class=\"periods\" aria-label=\"Period\">\(links)</nav>"
    }

    /// One series per group (the `limit` groups with most of `rank` over the period; the rest
    /// left out), or one unnamed series with no grouping, with `field` at every bucket. Buckets
    /// with no calls are 0 when `zero` (counts, cost), else left out (percentiles).
    public static func series(
        _ lines: [JSONValue], field: String, name: String? = nil, buckets: [Int64], zero: Bool, rank: String = "cost_usd", limit: Int = 5
    ) -> [SVGChart.Series] {
        var byGroup: [String: [Int64: Double]] = [:]
        var totals: [String: Double] = [:]
        for line in lines {
            guard let bucket = line["bucket"]?.stringValue.flatMap(parseTime) else { continue }
            let group = line["other"]?.boolValue == true ? "(other)" : line["group"]?.stringValue ?? (name ?? "(none)")
            if let value = line[field]?.doubleValue { byGroup[group, default: [:]][bucket] = value }
            totals[group, default: 0] += (line[rank]?.doubleValue ?? 0) + (line["count"]?.doubleValue ?? 0) * 1e-12
        }
        // A cost chart leaves out the groups that cost nothing known (unpriced models are listed, not drawn at $0).
        let groups = totals.filter { name != nil || field != "cost_usd" || $0.value >= 1e-9 }
            .sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(limit).map(\.key)
        return groups.map { group in
            let values = byGroup[group] ?? [:]
            let points: [(x: Double, y: Double)] = buckets.compactMap { bucket in
                let x = Double(bucket) / 1_000_000
                if let y = values[bucket] { return (x, y) }
                return zero ? (x, 0) : nil
            }
            return SVGChart.Series(name: group, points: points)
        }
        .filter { !$0.points.isEmpty }
    }

    static func parseTime(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text).map(StoredMicros.of)
    }

    /// The x axis label for a chart of this period: clock time, or the date for days.
    static func axisLabel(_ period: DashboardPeriod) -> (Double) -> String {
        { seconds in
            let formatter = DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = switch period {
            case .hour: "HH:mm 'UTC'"
            case .day, .week: "MMM d, HH:mm 'UTC'"
            case .month: "MMM d"
            }
            return formatter.string(from: Date(timeIntervalSince1970: seconds))
        }
    }

    static func msLabel(_ v: Double) -> String { v >= 1000 ? String(format: "%.1f s", v / 1000) : "\(number(v)) ms" }
    static func countLabel(_ v: Double) -> String { v >= 1_000_000 ? "\(number(v / 1_000_000))M" : v >= 1000 ? "\(number(v / 1000))k" : number(v) }

    static func chart(_ series: [SVGChart.Series], _ period: DashboardPeriod, now: Date, title: String, y: (Double) -> String) -> HTML {
        let buckets = period.buckets(now: now)
        let range = (Double(buckets.first ?? 0) / 1_000_000, Double(buckets.last ?? 0) / 1_000_000)
        return SVGChart.line(series, xLabel: axisLabel(period), yLabel: y, title: title, xRange: range)
    }

    /// Dollars on an axis: short, three significant digits.
    static func usdAxis(_ v: Double) -> String { v == 0 ? "$0" : v >= 1 ? String(format: "$%.2f", v) : String(format: "$%.3g", v) }

    /// The bars of the `limit` groups with most cost (unpriced calls are listed, not drawn as $0).
    static func topByCost(_ lines: [JSONValue], title: String, limit: Int = 8) -> HTML {
        let items: [(label: String, value: Double)] = lines.compactMap { line in
            let cost = line["cost_usd"]?.doubleValue ?? 0
            guard cost > 0 else { return nil }
            return (label: groupLabel(line), value: cost)
        }
        return SVGChart.bars(Array(items.sorted { $0.value > $1.value }.prefix(limit)), valueLabel: usd, title: title)
    }

    static func groupLabel(_ line: JSONValue) -> String {
        line["other"]?.boolValue == true ? "(other values)" : line["group"]?.stringValue ?? "(none)"
    }

    /// Overview: totals, the period's charts, top models, users and property values by cost.
    public static func overview(_ a: Analytics, frame: Frame) -> HTML {
        let t = a.totals.first ?? .null
        func total(_ field: String) -> Double { t[field]?.doubleValue ?? 0 }
        let summary: HTML = """
            <dl class="totals"><div><dt>Calls</dt><dd>\(countLabel(total("count")))</dd></div>\
            <div><dt>Cost</dt><dd>\(usd(total("cost_usd")))</dd></div>\
            <div><dt>Tokens</dt><dd>\(countLabel(total("total_tokens")))</dd></div>\
            <div><dt>Errors</dt><dd>\(countLabel(total("error_count")))</dd></div>\
            <div><dt>Latency p50 / p95</dt><dd>\(ms(t["latency_p50_ms"])) / \(ms(t["latency_p95_ms"]))</dd></div>\
            <div><dt>Unpriced calls</dt><dd>\(countLabel(total("unpriced_count")))</dd></div></dl>
            """
        let buckets = a.period.buckets(now: a.now)
        let calls = series(a.series, field: "count", name: "calls", buckets: buckets, zero: true)
            + series(a.series, field: "error_count", name: "errors", buckets: buckets, zero: true)
        let tokens = series(a.series, field: "prompt_tokens", name: "prompt", buckets: buckets, zero: true)
            + series(a.series, field: "completion_tokens", name: "completion", buckets: buckets, zero: true)
        let latency = series(a.series, field: "latency_p50_ms", name: "p50", buckets: buckets, zero: false)
            + series(a.series, field: "latency_p95_ms", name: "p95", buckets: buckets, zero: false)
        let ttft = series(a.series, field: "time_to_first_token_p50_ms", name: "p50", buckets: buckets, zero: false)
            + series(a.series, field: "time_to_first_token_p95_ms", name: "p95", buckets: buckets, zero: false)
        let charts: HTML = """
            <div class="charts">\
            \(chart(calls, a.period, now: a.now, title: "Calls and errors", y: countLabel))\
            \(chart(series(a.series, field: "cost_usd", name: "cost", buckets: buckets, zero: true), a.period, now: a.now, title: "Cost (USD)", y: usdAxis))\
            \(chart(tokens, a.period, now: a.now, title: "Tokens", y: countLabel))\
            \(chart(latency, a.period, now: a.now, title: "Latency", y: msLabel))\
            \(chart(ttft, a.period, now: a.now, title: "Time to first token (streams)", y: msLabel))</div>
            """
        var tops: [HTML] = [topByCost(a.byModel, title: "Top models by cost"), topByCost(a.byUser, title: "Top users by cost")]
        for property in a.byProperty {
            tops.append(topByCost(property.lines.filter { $0["group"]?.stringValue != nil || $0["other"]?.boolValue == true }, title: "Top \(property.name) values by cost"))
        }
        return page(title: "Overview", frame: frame, content: """
            \(periodPicker(a.period, path: "/dashboard"))<p class="period">\(a.period.label)</p>\(summary)\(charts)\
            <div class="charts">\(tops)</div>\(unpricedModels(a.unpriced))
            """)
    }

    /// Latency: per model and per provider percentiles, tokens per second and the gateway's
    /// overhead, and latency by model over time.
    public static func latency(_ a: Analytics, frame: Frame) -> HTML {
        let buckets = a.period.buckets(now: a.now)
        let charts: HTML = """
            <div class="charts">\
            \(chart(series(a.seriesByModel, field: "latency_p95_ms", buckets: buckets, zero: false, rank: "count"), a.period, now: a.now, title: "Latency p95 by model", y: msLabel))\
            \(chart(series(a.seriesByModel, field: "time_to_first_token_p50_ms", buckets: buckets, zero: false, rank: "count"), a.period, now: a.now, title: "Time to first token p50 by model", y: msLabel))\
            \(chart(series(a.seriesByModel, field: "output_tokens_per_second_p50", buckets: buckets, zero: false, rank: "count"), a.period, now: a.now, title: "Output tokens per second p50 by model", y: { number(($0 * 10).rounded() / 10) }))\
            \(chart(series(a.series, field: "overhead_p50_ms", name: "p50", buckets: buckets, zero: false) + series(a.series, field: "overhead_p99_ms", name: "p99", buckets: buckets, zero: false), a.period, now: a.now, title: "Gateway overhead", y: msLabel))</div>
            """
        return page(title: "Latency", frame: frame, content: """
            \(periodPicker(a.period, path: "/dashboard/latency"))<p class="period">\(a.period.label)</p>\
            <h2>By model</h2>\(latencyTable(a.byModel, heading: "Model"))<h2>By provider</h2>\(latencyTable(a.byProvider, heading: "Provider"))\(charts)
            """)
    }

    static func latencyTable(_ lines: [JSONValue], heading: String) -> HTML {
        guard !lines.isEmpty else { return "<p class=\"empty\">No calls in this period.</p>" }
        let rows: [HTML] = lines.sorted { ($0["count"]?.doubleValue ?? 0) > ($1["count"]?.doubleValue ?? 0) }.map { l in
            """
            <tr><td>\(groupLabel(l))</td><td class="num">\(int(l["count"]))</td>\
            <td class="num">\(ms(l["latency_p50_ms"]))</td><td class="num">\(ms(l["latency_p90_ms"]))</td>\
            <td class="num">\(ms(l["latency_p95_ms"]))</td><td class="num">\(ms(l["latency_p99_ms"]))</td>\
            <td class="num">\(ms(l["time_to_first_token_p50_ms"]))</td><td class="num">\(ms(l["time_to_first_token_p95_ms"]))</td>\
            <td class="num">\(l["output_tokens_per_second_p50"]?.doubleValue.map { String(format: "%.1f", $0) } ?? "–")</td>\
            <td class="num">\(ms(l["overhead_p50_ms"]))</td><td class="num">\(ms(l["overhead_p99_ms"]))</td></tr>
            """
        }
        return """
            <table class="latency"><thead><tr><th>\(heading)</th><th class="num">Calls</th><th class="num">p50</th><th class="num">p90</th>\
            <th class="num">p95</th><th class="num">p99</th><th class="num">TTFT p50</th><th class="num">TTFT p95</th>\
            <th class="num">Tokens/s p50</th><th class="num">Overhead p50</th><th class="num">Overhead p99</th></tr></thead><tbody>\(rows)</tbody></table>
            """
    }

    /// Costs: spend over time by model, spend by model, user and property value; unpriced models.
    public static func costs(_ a: Analytics, frame: Frame) -> HTML {
        let buckets = a.period.buckets(now: a.now)
        var tables: [HTML] = [costTable(a.byModel, heading: "Model"), costTable(a.byUser, heading: "User")]
        for property in a.byProperty { tables.append(costTable(property.lines, heading: "Property \(property.name)")) }
        return page(title: "Costs", frame: frame, content: """
            \(periodPicker(a.period, path: "/dashboard/costs"))<p class="period">\(a.period.label)</p>\
            <div class="charts">\
            \(chart(series(a.series, field: "cost_usd", name: "all models", buckets: buckets, zero: true), a.period, now: a.now, title: "Spend over time", y: usdAxis))\
            \(chart(series(a.seriesByModel, field: "cost_usd", buckets: buckets, zero: true), a.period, now: a.now, title: "Spend by model over time", y: usdAxis))</div>\
            \(tables)\(unpricedModels(a.unpriced))
            """)
    }

    /// A group's cost, or a dash when none of its calls had a price (not $0: nobody knows it).
    static func knownCost(_ line: JSONValue) -> String {
        let count = line["count"]?.intValue ?? 0
        if count > 0, line["unpriced_count"]?.intValue == count { return "–" }
        return usd(line["cost_usd"]?.doubleValue ?? 0)
    }

    static func costTable(_ lines: [JSONValue], heading: String) -> HTML {
        let rows: [HTML] = lines.prefix(20).map { l in
            """
            <tr><td>\(groupLabel(l))</td><td class="num">\(int(l["count"]))</td><td class="num">\(int(l["total_tokens"]))</td>\
            <td class="num">\(knownCost(l))</td><td class="num">\(int(l["unpriced_count"]))</td></tr>
            """
        }
        let table: HTML = lines.isEmpty
            ? "<p class=\"empty\">No calls in this period.</p>"
            : """
                <table class="costs"><thead><tr><th>\(heading)</th><th class="num">Calls</th><th class="num">Tokens</th>\
                <th class="num">Cost</th><th class="num">Unpriced calls</th></tr></thead><tbody>\(rows)</tbody></table>
                """
        return "<h2>Spend by \(heading.lowercased())</h2>\(table)"
    }
}
