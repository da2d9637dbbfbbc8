import Foundation
import Hummingbird
import TollgateCore

/// The overview, latency and costs pages: each asks `GET /v1/stats` and `/v1/stats/timeseries`
/// over the chosen period (`?period=1h|24h|7d|30d`), as the signed-in key would.
extension Dashboard {
    enum AnalyticsPage {
        case overview, latency, costs
    }

    func analytics(_ kind: AnalyticsPage, _ request: Request, _ frame: DashboardPages.Frame, _ scope: AdminScope, _ context: BasicRequestContext) async throws -> Response {
        let now = Date()
        let period = DashboardPeriod(request.uri.queryParameters["period"].map(String.init))
        var a = DashboardPages.Analytics(period: period, now: now)
        let since = ISO8601.format(now.addingTimeInterval(-period.seconds))
        let range = "since=\(since)"
        func data(_ path: String) async throws -> [JSONValue] {
            try await call(.get, path, scope: scope, context: context).1["data"]?.arrayValue ?? []
        }
        let series = "/v1/stats/timeseries?interval=\(period.interval)&\(range)"
        a.series = try await data(series)
        a.byModel = try await data("/v1/stats?group_by=model&\(range)")
        switch kind {
        case .overview, .costs:
            a.totals = try await data("/v1/stats?\(range)")
            a.byUser = try await data("/v1/stats?group_by=user&limit=20&\(range)")
            for name in try await data("/v1/stats/properties?\(range)").compactMap(\.stringValue).prefix(3) {
                a.byProperty.append((name, try await data("/v1/stats?group_by=property.\(DashboardPages.formEncoded([("", name)]).dropFirst())&limit=20&\(range)")))
            }
            a.unpriced = try await data("/v1/pricing/unpriced")
            if kind == .costs { a.seriesByModel = try await data(series + "&group_by=model") }
        case .latency:
            a.byProvider = try await data("/v1/stats?group_by=provider&\(range)")
            a.seriesByModel = try await data(series + "&group_by=model")
        }
        switch kind {
        case .overview: return html(DashboardPages.overview(a, frame: frame))
        case .latency: return html(DashboardPages.latency(a, frame: frame))
        case .costs: return html(DashboardPages.costs(a, frame: frame))
        }
    }
}
