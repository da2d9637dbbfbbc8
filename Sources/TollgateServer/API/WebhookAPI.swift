import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TollgateCore

/// The webhook management API (SPEC §6), in Helicone's `{"data", "error"}` envelope. Every
/// webhook belongs to a project; a project's admin key sees and changes only that project's.
struct WebhookAPI: Sendable {
    let store: any WebhookStore
    let auth: AdminAuth
    let registry: WebhookRegistry
    let destinations: DestinationPolicy
    let wakeup: Wakeup
    let rotationGrace: TimeInterval

    func register(on router: ManagementRouter) {
        router.post("/v1/webhooks") { request, _ in try await auth.guarded(request) { try await create(request, scope: $0) } }
        router.get("/v1/webhooks") { request, _ in try await auth.guarded(request) { try await list(request, scope: $0) } }
        router.get("/v1/webhooks/:id") { request, context in
            try await auth.guarded(request) { scope in try await withWebhook(context, scope) { .data(json($0)) } }
        }
        router.patch("/v1/webhooks/:id") { request, context in
            try await auth.guarded(request) { scope in try await withWebhook(context, scope) { try await update($0, request) } }
        }
        router.delete("/v1/webhooks/:id") { request, context in
            try await auth.guarded(request) { scope in
                try await withWebhook(context, scope) { webhook in
                    _ = try await store.deleteWebhook(id: webhook.id)
                    try await registry.refresh()
                    return .data(.object([("id", .string(webhook.id.uuidString.lowercased())), ("deleted", .bool(true))]))
                }
            }
        }
        router.post("/v1/webhooks/:id/test") { request, context in
            try await auth.guarded(request) { scope in try await withWebhook(context, scope) { try await test($0) } }
        }
        router.post("/v1/webhooks/:id/rotate-key") { request, context in
            try await auth.guarded(request) { scope in try await withWebhook(context, scope) { try await rotate($0) } }
        }
        router.get("/v1/webhooks/:id/deliveries") { request, context in
            try await auth.guarded(request) { scope in try await withWebhook(context, scope) { try await deliveries($0, request) } }
        }
        router.get("/v1/webhooks/:id/deliveries/:delivery") { request, context in
            try await auth.guarded(request) { scope in
                try await withWebhook(context, scope) { webhook in
                    guard let delivery = try await ownDelivery(context, of: webhook) else { return .failure(.notFound, "no such delivery") }
                    return .data(try await deliveryJSON(delivery))
                }
            }
        }
        router.post("/v1/webhooks/:id/deliveries/:delivery/resend") { request, context in
            try await auth.guarded(request) { scope in
                try await withWebhook(context, scope) { webhook in
                    guard let delivery = try await ownDelivery(context, of: webhook) else { return .failure(.notFound, "no such delivery") }
                    let count = try await store.resend(deliveryIDs: [delivery.id])
                    wakeup.signal()
                    return .data(.object([("resent", .number(Double(count)))]))
                }
            }
        }
        router.post("/v1/webhooks/:id/resend") { request, context in
            try await auth.guarded(request) { scope in try await withWebhook(context, scope) { try await resendSince($0, request) } }
        }
    }

    /// What a handler answers: envelope data or an error with its status.
    enum Answer {
        case data(JSONValue)
        case failure(HTTPResponse.Status, String)

        var response: Response {
            switch self {
            case .data(let value): Envelope.data(value)
            case .failure(let status, let message): Envelope.failure(status, message)
            }
        }
    }

    func withWebhook(_ context: BasicRequestContext, _ scope: AdminScope, _ body: (Webhook) async throws -> Answer) async throws -> Response {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else {
            return Envelope.failure(.badRequest, "webhook id must be a UUID")
        }
        guard let webhook = try await store.webhook(id: id), scope.allows(webhook.project) else {
            return Envelope.failure(.notFound, "no webhook \(raw)")
        }
        return try await body(webhook).response
    }

    func ownDelivery(_ context: BasicRequestContext, of webhook: Webhook) async throws -> Delivery? {
        guard let raw = context.parameters.get("delivery"), let id = UUID(uuidString: raw.hasPrefix("msg_") ? String(raw.dropFirst(4)) : raw),
              let delivery = try await store.delivery(id: id), delivery.webhookID == webhook.id else { return nil }
        return delivery
    }

    static func body(_ request: Request) async throws -> JSONValue? {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        guard buffer.readableBytes > 0 else { return .object([]) }
        return try? JSONParser.parse(buffer.readableBytesView)
    }

    func create(_ request: Request, scope: AdminScope) async throws -> Response {
        guard let input = try await Self.body(request), input.objectValue != nil else {
            return Envelope.failure(.badRequest, "body must be a JSON object")
        }
        let project: String
        switch scope {
        case .project(let p): project = p
        case .all: project = input["project"]?.stringValue ?? "default"
        }
        let now = Date()
        var webhook = Webhook(
            id: UUID(), project: project, destination: "", sampleRate: 100, includeData: true, propertyFilters: [],
            hmacKey: WebhookSignature.generateKey(), previousKey: nil, previousKeyExpiresAt: nil, enabled: true,
            disabledReason: nil, failingSince: nil, createdAt: now, updatedAt: now
        )
        if let problem = apply(input, to: &webhook, creating: true) { return Envelope.failure(.badRequest, problem) }
        try await store.createWebhook(webhook)
        try await registry.refresh()
        return Envelope.data(json(webhook, withKey: true), status: .created)
    }

    func list(_ request: Request, scope: AdminScope) async throws -> Response {
        let webhooks = try await store.webhooks(project: scope.project(requested: request.uri.queryParameters["project"].map(String.init)))
        return Envelope.data(.array(webhooks.map { json($0) }))
    }

    func update(_ webhook: Webhook, _ request: Request) async throws -> Answer {
        guard let input = try await Self.body(request), input.objectValue != nil else { return .failure(.badRequest, "body must be a JSON object") }
        var updated = webhook
        if let problem = apply(input, to: &updated, creating: false) { return .failure(.badRequest, problem) }
        if updated.enabled, !webhook.enabled {
            updated.disabledReason = nil
            updated.failingSince = nil
        }
        updated.updatedAt = Date()
        try await store.updateWebhook(updated)
        try await registry.refresh()
        return .data(json(updated))
    }

    /// Applies the fields present in `input` (camelCase as Helicone's API, snake_case accepted);
    /// returns a problem to report, or nil.
    func apply(_ input: JSONValue, to webhook: inout Webhook, creating: Bool) -> String? {
        if let destination = input["destination"] {
            guard let url = destination.stringValue else { return "destination must be a URL string" }
            if case .failure(let refusal) = destinations.checkURL(url) { return refusal.message }
            webhook.destination = url
        } else if creating {
            return "destination is required"
        }
        let config = input["config"]
        if let rate = config?["sampleRate"] ?? config?["sample_rate"] ?? input["sampleRate"] ?? input["sample_rate"] {
            guard let value = rate.doubleValue, (0...100).contains(value) else { return "sampleRate must be a number from 0 to 100" }
            webhook.sampleRate = value
        }
        if let filters = config?["propertyFilters"] ?? config?["property_filters"] ?? input["propertyFilters"] ?? input["property_filters"] {
            do {
                webhook.propertyFilters = try PropertyFilters.parse(filters)
            } catch {
                return error.message
            }
        }
        if let include = input["includeData"] ?? input["include_data"] {
            guard let value = include.boolValue else { return "includeData must be true or false" }
            webhook.includeData = value
        }
        if let enabled = input["enabled"] {
            guard let value = enabled.boolValue else { return "enabled must be true or false" }
            webhook.enabled = value
        }
        return nil
    }

    func test(_ webhook: Webhook) async throws -> Answer {
        let delivery = Delivery(id: UUID(), webhookID: webhook.id, requestID: nil, status: .pending, attempts: 0, nextAttemptAt: Date(), createdAt: Date())
        try await store.enqueue([delivery])
        wakeup.signal()
        return .data(.object([("delivery_id", .string(delivery.id.uuidString.lowercased())), ("webhook_id", .string(delivery.messageID))]))
    }

    func rotate(_ webhook: Webhook) async throws -> Answer {
        var rotated = webhook
        let now = Date()
        rotated.previousKey = webhook.hmacKey
        rotated.previousKeyExpiresAt = now.addingTimeInterval(rotationGrace)
        rotated.hmacKey = WebhookSignature.generateKey()
        rotated.updatedAt = now
        try await store.updateWebhook(rotated)
        try await registry.refresh()
        return .data(json(rotated, withKey: true))
    }

    func deliveries(_ webhook: Webhook, _ request: Request) async throws -> Answer {
        let params = request.uri.queryParameters
        let limit = params["limit"].flatMap { Int(String($0)) }.map { max(1, min($0, 200)) } ?? 50
        let before = params["before"].flatMap { ISO8601.parse(String($0)) }
        var items: [JSONValue] = []
        for delivery in try await store.deliveries(webhookID: webhook.id, limit: limit, before: before) {
            items.append(try await deliveryJSON(delivery))
        }
        return .data(.array(items))
    }

    func resendSince(_ webhook: Webhook, _ request: Request) async throws -> Answer {
        guard let input = try await Self.body(request), let raw = input["since"]?.stringValue, let since = ISO8601.parse(raw) else {
            return .failure(.badRequest, #"body must be {"since": "<ISO 8601 time>"}"#)
        }
        let count = try await store.resend(webhookID: webhook.id, since: since)
        wakeup.signal()
        return .data(.object([("resent", .number(Double(count)))]))
    }

    func deliveryJSON(_ d: Delivery) async throws -> JSONValue {
        let attempts = try await store.attempts(deliveryID: d.id)
        return .object([
            ("id", .string(d.id.uuidString.lowercased())),
            ("webhook_id", .string(d.messageID)),
            ("request_id", d.requestID.map { .string($0.uuidString.lowercased()) } ?? .null),
            ("status", .string(d.status.rawValue)),
            ("attempts", .number(Double(d.attempts))),
            ("next_attempt_at", d.status == .pending ? (d.nextAttemptAt.map { .string(ISO8601.format($0)) } ?? .null) : .null),
            ("created_at", .string(ISO8601.format(d.createdAt))),
            ("last_status_code", d.lastStatusCode.map { .number(Double($0)) } ?? .null),
            ("last_error", d.lastError.map { .string($0) } ?? .null),
            ("attempt_log", .array(attempts.map { a in
                .object([
                    ("number", .number(Double(a.number))),
                    ("started_at", .string(ISO8601.format(a.startedAt))),
                    ("duration_ms", .number(a.durationMs)),
                    ("status_code", a.statusCode.map { .number(Double($0)) } ?? .null),
                    ("response", a.responseHead.map { .string($0) } ?? .null),
                    ("error", a.error.map { .string($0) } ?? .null),
                ])
            })),
        ])
    }

    func json(_ w: Webhook, withKey: Bool = false) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("id", .string(w.id.uuidString.lowercased())),
            ("project", .string(w.project)),
            ("destination", .string(w.destination)),
            ("config", .object([
                ("sampleRate", .number(w.sampleRate)),
                ("propertyFilters", PropertyFilters.json(w.propertyFilters)),
            ])),
            ("include_data", .bool(w.includeData)),
            ("enabled", .bool(w.enabled)),
            ("disabled_reason", w.disabledReason.map { .string($0) } ?? .null),
            ("failing_since", w.failingSince.map { .string(ISO8601.format($0)) } ?? .null),
            ("created_at", .string(ISO8601.format(w.createdAt))),
            ("updated_at", .string(ISO8601.format(w.updatedAt))),
        ]
        if withKey {
            fields.append(("hmac_key", .string(w.hmacKey)))
            fields.append(("webhook_secret", .string(WebhookSignature.whsecForm(of: w.hmacKey))))
            if let previous = w.previousKeyExpiresAt {
                fields.append(("previous_key_valid_until", .string(ISO8601.format(previous))))
            }
        }
        return .object(fields)
    }
}
