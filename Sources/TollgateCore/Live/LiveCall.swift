import Foundation

/// One recorded call as the live view shows it: the columns of the Requests list, under the
/// names the read API gives them, and never a body.
public struct LiveCall: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var project: String
    public var provider: String
    public var model: String?
    public var status: Int
    public var userID: String?
    public var properties: [Property]
    public var totalTokens: Int?
    public var costUSD: Double?
    public var latencyMs: Double
    public var timeToFirstTokenMs: Double?
    public var cacheHit: Bool
    public var error: String?

    public init(_ record: RequestRecord) {
        id = record.id
        createdAt = record.createdAt
        project = record.project
        provider = record.provider
        model = record.model
        status = record.status
        userID = record.userID
        properties = record.properties
        totalTokens = record.usage?.totalTokens
        costUSD = record.costUSD
        latencyMs = record.latencyMs
        timeToFirstTokenMs = record.timeToFirstTokenMs
        cacheHit = record.cacheHit
        error = record.error
    }

    /// The event's JSON: the same names and values as the call's record in `GET /v1/requests`.
    public var json: JSONValue {
        func string(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        func number(_ v: Double?) -> JSONValue { v.map { .number($0) } ?? .null }
        return .object([
            ("id", .string(id.uuidString.lowercased())),
            ("created_at", .string(WebhookPayload.timestamp(createdAt))),
            ("project", .string(project)),
            ("provider", .string(provider)),
            ("model", string(model)),
            ("status", .number(Double(status))),
            ("user_id", string(userID)),
            ("properties", .object(properties.map { ($0.name, .string($0.value)) })),
            ("total_tokens", number(totalTokens.map(Double.init))),
            ("cost_usd", number(costUSD)),
            ("latency_ms", .number(latencyMs)),
            ("time_to_first_token_ms", number(timeToFirstTokenMs)),
            ("cache_hit", .bool(cacheHit)),
            ("error", string(error)),
        ])
    }
}
