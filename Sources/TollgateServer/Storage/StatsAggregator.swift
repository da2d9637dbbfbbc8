/// Groups per-call samples into `GET /v1/stats` rows: counts, token sums, cost and latency
/// percentiles, which SQL cannot compute portably.
enum StatsAggregator {
    struct Sample {
        var group: String?
        var latencyMs: Double
        var promptTokens: Int
        var completionTokens: Int
        var totalTokens: Int
        var costUSD: Double?
        var hasUsage: Bool
    }

    /// The per-call sample query for a stats request: group value, latency, tokens, cost.
    static func query(_ query: StatsQuery) -> (sql: String, arguments: [SQLArgument]) {
        var base = RecordQuery()
        base.project = query.project
        base.since = query.since
        base.until = query.until
        let filter = SQLFilter(base)
        var arguments = filter.arguments
        let groupExpression: String
        switch query.grouping {
        case .user: groupExpression = "r.user_id"
        case .model: groupExpression = "r.model"
        case .property(let name):
            groupExpression = "(SELECT p.value FROM request_properties p WHERE p.request_id = r.id AND p.name = ?)"
            arguments.insert(.text(name.lowercased()), at: 0)
        }
        return ("SELECT \(groupExpression) AS grp, latency_ms, prompt_tokens, completion_tokens, total_tokens, cost_usd FROM requests r WHERE \(filter.sql)", arguments)
    }

    static func aggregate(_ samples: [Sample]) -> [StatsRow] {
        var groups: [String?: [Sample]] = [:]
        for sample in samples { groups[sample.group, default: []].append(sample) }
        return groups.map { group, samples in
            let latencies = samples.map(\.latencyMs).sorted()
            return StatsRow(
                group: group, count: samples.count,
                promptTokens: samples.reduce(0) { $0 + $1.promptTokens },
                completionTokens: samples.reduce(0) { $0 + $1.completionTokens },
                totalTokens: samples.reduce(0) { $0 + $1.totalTokens },
                costUSD: samples.reduce(0) { $0 + ($1.costUSD ?? 0) },
                unpricedCount: samples.filter { $0.hasUsage && $0.costUSD == nil }.count,
                latencyP50Ms: percentile(latencies, 0.50), latencyP95Ms: percentile(latencies, 0.95)
            )
        }
        .sorted { ($0.count, $1.group ?? "") > ($1.count, $0.group ?? "") }
    }

    /// Nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }
}
