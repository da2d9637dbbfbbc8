import Foundation
import Hummingbird
import TollgateCore

/// `GET /v1/pricing/{model}` (which entry prices a model, and at what rates) and
/// `GET /v1/pricing/unpriced` (the models whose calls were recorded with `cost_usd: null`).
/// Admin key; Helicone's envelope.
struct PricingAPI: Sendable {
    let pricing: PricingTable
    let store: any RecordStore
    let auth: AdminAuth
    /// The provider a model is looked up for when the query names none.
    let defaultProvider: String

    func register(on router: ManagementRouter) {
        router.get("/v1/pricing/unpriced") { request, _ in
            try await self.auth.guarded(request) { try await self.unpriced(request, scope: $0) }
        }
        // `**`: model names may hold slashes (`openai/gpt-5.5`, Groq's `openai/gpt-oss-120b`).
        router.get("/v1/pricing/**") { request, context in
            try await self.auth.guarded(request) { _ in
                self.price(model: context.parameters.getCatchAll().joined(separator: "/"), request: request)
            }
        }
    }

    /// Query `provider` (default: the default provider) decides `provider/model` entries.
    func price(model rawModel: String, request: Request) -> Response {
        let model = rawModel.removingPercentEncoding ?? rawModel
        guard !model.isEmpty else { return Envelope.failure(.badRequest, "name a model: /v1/pricing/{model}") }
        let provider = request.uri.queryParameters.get("provider") ?? defaultProvider
        guard let report = PriceReport.json(model: model, provider: provider, table: pricing) else {
            return Envelope.failure(.notFound, "no price for model '\(model)' (provider \(provider)): its calls are recorded with cost_usd null and listed at /v1/pricing/unpriced; add it under pricing.overrides")
        }
        return Envelope.data(report)
    }

    func unpriced(_ request: Request, scope: AdminScope) async throws -> Response {
        let project = scope.project(requested: request.uri.queryParameters.get("project"))
        let models = try await store.unpricedModels(project: project)
        return Envelope.data(.array(models.map { row in
            .object([
                ("model", row.model.map(JSONValue.string) ?? .null),
                ("provider", .string(row.provider)),
                ("count", .number(Double(row.calls))),
                ("last_seen", .string(ISO8601.format(row.lastSeen))),
            ])
        }))
    }
}
