import Foundation
import Hummingbird
import TollgateCore

/// `GET /v1/stats` and `GET /v1/stats/timeseries` (SPEC §8), answered from the analytics rows
/// kept as calls are recorded: their time and memory depend on the range and the groups, not on
/// the number of calls stored.
struct StatsAPI: Sendable {
    let store: any RecordStore
    let auth: AdminAuth

    func register(on router: ManagementRouter) {
        router.get("/v1/stats") { request, _ in try await self.auth.guarded(request) { try await self.answer(request, scope: $0, timeseries: false) } }
        router.get("/v1/stats/timeseries") { request, _ in
            try await self.auth.guarded(request) { try await self.answer(request, scope: $0, timeseries: true) }
        }
        router.get("/v1/stats/properties") { request, _ in try await self.auth.guarded(request) { try await self.properties(request, scope: $0) } }
    }

    /// A query string that is not a valid analytics question: answered 400 with this text.
    struct Refusal: Error {
        var message: String
    }

    func answer(_ request: Request, scope: AdminScope, timeseries: Bool) async throws -> Response {
        do {
            let parameters = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
            var limit = Int.max
            if let text = parameters.first(where: { $0.0 == "limit" })?.1 {
                guard let n = Int(text), n > 0 else { throw Refusal(message: "limit must be a positive integer") }
                limit = n
            }
            var query = try Self.parse(parameters.filter { $0.0 != "limit" }, timeseries: timeseries)
            query.project = scope.project(requested: query.project)
            var lines = try await Self.lines(query, store: store, now: Date())
            if lines.count > limit {
                // The costliest groups: of each bucket in a timeseries, of the whole answer otherwise.
                var kept: [Int64?: Int] = [:]
                lines = lines.filter { line in
                    kept[line.bucket, default: 0] += 1
                    return kept[line.bucket]! <= limit
                }
            }
            return Envelope.data(.array(lines.map(\.json)))
        } catch let refusal as Refusal {
            return Envelope.failure(.badRequest, refusal.message)
        }
    }

    /// `GET /v1/stats/properties` (`since`, `until`, `project`): the property names calls were
    /// tagged with in the range (whole days), at most 100, for `group_by=property.<name>`.
    func properties(_ request: Request, scope: AdminScope) async throws -> Response {
        do {
            var query = try Self.parse(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, timeseries: false)
            query.project = scope.project(requested: query.project)
            let (since, until) = query.range(now: Date())
            let names = try await store.propertyNames(project: query.project, start: since, end: until)
            return Envelope.data(.array(names.map { .string(String($0.dropFirst("property.".count))) }))
        } catch let refusal as Refusal {
            return Envelope.failure(.badRequest, refusal.message)
        }
    }

    /// Reads `group_by`, `since`, `until`, `project`, `interval` (timeseries) and the filters
    /// `model`, `user_id`, `status`, `property.<name>`.
    static func parse(_ parameters: [(String, String)], timeseries: Bool) throws -> AnalyticsQuery {
        var query = AnalyticsQuery()
        if timeseries { query.interval = .hour }
        for (rawName, value) in parameters {
            let name = rawName.removingPercentEncoding ?? rawName
            switch name {
            case "group_by":
                guard let dimension = AnalyticsDimension(name: value) else {
                    throw Refusal(message: "group_by must be none, model, provider, status, user or property.<name>, got '\(value)'")
                }
                query.grouping = dimension
            case "since", "until":
                guard let date = ISO8601.parse(value) else { throw Refusal(message: "\(name) must be an ISO 8601 time") }
                if name == "since" { query.since = date } else { query.until = date }
            case "project": query.project = value
            case "interval" where timeseries:
                guard let interval = AnalyticsResolution(name: value) else { throw Refusal(message: "interval must be minute, hour or day, got '\(value)'") }
                query.interval = interval
            case "model": query.filters.append((.model, value))
            case "user_id": query.filters.append((.user, value))
            case "status":
                guard Int(value) != nil else { throw Refusal(message: "status must be an integer") }
                query.filters.append((.status, value))
            default:
                guard name.hasPrefix("property."), name.count > "property.".count else { throw Refusal(message: "unknown query parameter '\(name)'") }
                query.filters.append((.property(String(name.dropFirst("property.".count)).lowercased()), value))
            }
        }
        if let since = query.since, let until = query.until, since > until { throw Refusal(message: "since must not be after until") }
        if query.bucketCount(now: Date()) > AnalyticsQuery.maxBuckets {
            throw Refusal(message: "that range holds more than \(AnalyticsQuery.maxBuckets) buckets of this interval; use a longer interval or a shorter range")
        }
        return query
    }

    /// The answer's lines: from the analytics rows when one dimension's rows count the calls
    /// asked about, else from the matching calls themselves (bounded by ``AnalyticsScan/limit``).
    static func lines(_ query: AnalyticsQuery, store: any RecordStore, now: Date) async throws -> [AnalyticsLine] {
        switch query.plan(now: now) {
        case .scan:
            return try await scan(query, store: store, now: now)
        case .aggregates(let dimension, let value, let pieces, let totals):
            let values = value.map { [$0, AnalyticsDimension.otherValue] }
            let rows = try await store.analyticsRows(dimension: dimension.name, values: values, project: query.project, pieces: pieces)
            if let value, !AnalyticsAnswer.isExact(rows, value: value) {
                // This value's calls were folded into other somewhere in the range: count them one by one.
                return try await scan(query, store: store, now: now)
            }
            let totalRows = totals ? try await store.analyticsRows(dimension: AnalyticsDimension.none.name, values: nil, project: query.project, pieces: pieces) : []
            return AnalyticsAnswer.lines(rows, totals: totalRows, query: query)
        }
    }

    static func scan(_ query: AnalyticsQuery, store: any RecordStore, now: Date) async throws -> [AnalyticsLine] {
        var records = RecordQuery()
        records.project = query.project
        let (since, until) = query.range(now: now)
        records.since = StoredMicros.date(since)
        records.until = StoredMicros.date(until)
        for (dimension, value) in query.filters {
            switch dimension {
            case .model: records.model = value
            case .user: records.userID = value
            case .status: records.status = Int(value)
            case .property(let name): records.properties.append(Property(name: name, value: value))
            case .none, .provider: break
            }
        }
        guard let scan = try await store.scan(records, into: AnalyticsScan(query: query)) else {
            throw Refusal(message: "these filters match more than \(AnalyticsScan.limit) calls in the range, and no analytics row counts them together; narrow since/until, or group by the filtered dimension")
        }
        return scan.lines
    }
}
