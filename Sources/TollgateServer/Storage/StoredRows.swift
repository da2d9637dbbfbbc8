import Foundation
import TollgateCore

// One codec per table: each type names its table's columns once, writes its arguments in that
// order and reads itself back. Times are integer microseconds since 1970; ids are lowercase
// UUID text; booleans are 0/1 on SQLite and BOOLEAN on PostgreSQL (read back as integers).

extension RequestRecord: StoredRow {
    static let table = SQLTable("requests", [
        "id", "project", "created_at", "method", "path", "provider", "model", "status", "stream", "user_id", "properties",
        "session_id", "session_path", "session_name", "prompt_tokens", "completion_tokens", "total_tokens",
        "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd", "latency_ms", "time_to_first_token_ms",
        "upstream_latency_ms", "overhead_ms", "cache_hit", "cost_saved_usd", "attempts", "fallback_index", "request_bytes", "response_bytes", "response_truncated", "error",
    ])

    var arguments: [SQLArgument] {
        [
            .id(id), .text(project), .time(createdAt), .text(method), .text(path), .text(provider), .text(model), .int(status),
            .bool(stream), .text(userID), .text(PropertyCoding.encode(properties)), .text(sessionID), .text(sessionPath),
            .text(sessionName), .int(usage?.inputTokens), .int(usage?.outputTokens), .int(usage?.totalTokens),
            .int(usage?.cacheReadTokens), .int(usage?.cacheWriteTokens), .int(usage?.reasoningTokens), .real(costUSD),
            .real(latencyMs), .real(timeToFirstTokenMs), .real(upstreamLatencyMs), .real(overheadMs), .bool(cacheHit), .real(costSavedUSD),
            .text(attempts.map(Attempt.encode)), .int(fallbackIndex),
            .int(requestBytes), .int(responseBytes), .bool(responseTruncated), .text(error),
        ]
    }

    init(row: SQLRow) throws {
        var usage: TokenUsage?
        if row.int("total_tokens") != nil {
            usage = TokenUsage(
                inputTokens: row.int("prompt_tokens") ?? 0, outputTokens: row.int("completion_tokens") ?? 0,
                cacheReadTokens: row.int("cache_read_tokens") ?? 0, cacheWrite5mTokens: row.int("cache_write_tokens") ?? 0,
                reasoningTokens: row.int("reasoning_tokens") ?? 0
            )
        }
        self.init(
            id: try row.required("id", SQLRow.id), project: try row.required("project", SQLRow.text),
            createdAt: try row.required("created_at", SQLRow.date), method: try row.required("method", SQLRow.text),
            path: try row.required("path", SQLRow.text), provider: try row.required("provider", SQLRow.text),
            model: row.text("model"), status: try row.required("status", SQLRow.int), stream: row.bool("stream") ?? false,
            userID: row.text("user_id"), properties: PropertyCoding.decode(row.text("properties")),
            sessionID: row.text("session_id"), sessionPath: row.text("session_path"), sessionName: row.text("session_name"),
            usage: usage, costUSD: row.double("cost_usd"), latencyMs: row.double("latency_ms") ?? 0,
            timeToFirstTokenMs: row.double("time_to_first_token_ms"), upstreamLatencyMs: row.double("upstream_latency_ms"),
            overheadMs: row.double("overhead_ms"), cacheHit: row.bool("cache_hit") ?? false, costSavedUSD: row.double("cost_saved_usd"),
            attempts: row.text("attempts").flatMap(Attempt.decode), fallbackIndex: row.int("fallback_index"),
            requestBytes: row.int("request_bytes") ?? 0, responseBytes: row.int("response_bytes") ?? 0,
            responseTruncated: row.bool("response_truncated") ?? false, error: row.text("error")
        )
    }
}

/// One property of a call, indexed for `?property.<name>=` filters.
struct PropertyRow: StoredRow {
    static let table = SQLTable("request_properties", ["request_id", "name", "value"])
    var requestID: UUID
    var property: Property

    var arguments: [SQLArgument] { [.id(requestID), .text(property.key), .text(property.value)] }

    init(requestID: UUID, property: Property) {
        self.requestID = requestID
        self.property = property
    }

    init(row: SQLRow) throws {
        self.init(requestID: try row.required("request_id", SQLRow.id), property: Property(name: try row.required("name", SQLRow.text), value: row.text("value") ?? ""))
    }
}

/// A call's bodies, when they are kept in the database rather than in S3.
struct BodiesRow: StoredRow {
    static let table = SQLTable("bodies", ["request_id", "request", "response", "response_reconstructed"])
    var requestID: UUID
    var bodies: StoredBodies

    var arguments: [SQLArgument] {
        [.id(requestID), .bytes(bodies.request), .bytes(bodies.response), .bytes(bodies.reconstructedResponse)]
    }

    init(requestID: UUID, bodies: StoredBodies) {
        self.requestID = requestID
        self.bodies = bodies
    }

    init(row: SQLRow) throws {
        self.init(
            requestID: try row.required("request_id", SQLRow.id),
            bodies: StoredBodies(request: row.bytes("request"), response: row.bytes("response"), reconstructedResponse: row.bytes("response_reconstructed"))
        )
    }
}

/// An evaluation score of a call; one per name, the last one set wins.
struct ScoreRow: StoredRow {
    static let table = SQLTable("request_scores", ["request_id", "name", "value", "is_bool", "updated_at"])
    static let upsert = table.insert(
        conflict: "ON CONFLICT (request_id, name) DO UPDATE SET value = excluded.value, is_bool = excluded.is_bool, updated_at = excluded.updated_at"
    )
    var requestID: UUID
    var score: Score
    var updatedAt: Date

    var arguments: [SQLArgument] { [.id(requestID), .text(score.name), .real(score.value), .bool(score.isBool), .time(updatedAt)] }

    init(requestID: UUID, score: Score, updatedAt: Date) {
        self.requestID = requestID
        self.score = score
        self.updatedAt = updatedAt
    }

    init(row: SQLRow) throws {
        self.init(
            requestID: try row.required("request_id", SQLRow.id),
            score: Score(name: try row.required("name", SQLRow.text), value: row.double("value") ?? 0, isBool: row.bool("is_bool") ?? false),
            updatedAt: row.date("updated_at") ?? Date(timeIntervalSince1970: 0)
        )
    }
}

extension Webhook: StoredRow {
    static let table = SQLTable("webhooks", [
        "id", "project", "destination", "sample_rate", "include_data", "property_filters", "hmac_key", "previous_key",
        "previous_key_expires_at", "enabled", "disabled_reason", "failing_since", "created_at", "updated_at",
    ])

    var arguments: [SQLArgument] {
        [
            .id(id), .text(project), .text(destination), .real(sampleRate), .bool(includeData), .text(PropertyCoding.encode(propertyFilters)),
            .text(hmacKey), .text(previousKey), .time(previousKeyExpiresAt), .bool(enabled), .text(disabledReason),
            .time(failingSince), .time(createdAt), .time(updatedAt),
        ]
    }

    init(row: SQLRow) throws {
        self.init(
            id: try row.required("id", SQLRow.id), project: try row.required("project", SQLRow.text),
            destination: try row.required("destination", SQLRow.text), sampleRate: row.double("sample_rate") ?? 100,
            includeData: row.bool("include_data") ?? true, propertyFilters: PropertyCoding.decode(row.text("property_filters")),
            hmacKey: try row.required("hmac_key", SQLRow.text), previousKey: row.text("previous_key"),
            previousKeyExpiresAt: row.date("previous_key_expires_at"), enabled: row.bool("enabled") ?? false,
            disabledReason: row.text("disabled_reason"), failingSince: row.date("failing_since"),
            createdAt: try row.required("created_at", SQLRow.date), updatedAt: try row.required("updated_at", SQLRow.date)
        )
    }
}

/// A delivery with its lease: who may send it until when (not part of ``Delivery``, which is
/// what the API shows).
struct DeliveryRow: StoredRow {
    static let table = SQLTable("deliveries", [
        "id", "webhook_id", "request_id", "status", "attempts", "next_attempt_at", "lease_until", "created_at", "last_error", "last_status_code",
    ])
    var delivery: Delivery
    var leaseUntil: Date?

    var arguments: [SQLArgument] {
        let d = delivery
        return [
            .id(d.id), .id(d.webhookID), .id(d.requestID), .text(d.status.rawValue), .int(d.attempts), .time(d.nextAttemptAt),
            .time(leaseUntil), .time(d.createdAt), .text(d.lastError), .int(d.lastStatusCode),
        ]
    }

    init(_ delivery: Delivery, leaseUntil: Date? = nil) {
        self.delivery = delivery
        self.leaseUntil = leaseUntil
    }

    init(row: SQLRow) throws {
        self.init(
            Delivery(
                id: try row.required("id", SQLRow.id), webhookID: try row.required("webhook_id", SQLRow.id), requestID: row.id("request_id"),
                status: row.text("status").flatMap(DeliveryStatus.init(rawValue:)) ?? .pending, attempts: row.int("attempts") ?? 0,
                nextAttemptAt: row.date("next_attempt_at"), createdAt: try row.required("created_at", SQLRow.date),
                lastError: row.text("last_error"), lastStatusCode: row.int("last_status_code")
            ),
            leaseUntil: row.date("lease_until")
        )
    }
}

extension DeliveryAttempt: StoredRow {
    static let table = SQLTable("delivery_attempts", ["delivery_id", "number", "started_at", "duration_ms", "status_code", "response_head", "error"])

    var arguments: [SQLArgument] {
        [.id(deliveryID), .int(number), .time(startedAt), .real(durationMs), .int(statusCode), .text(responseHead), .text(error)]
    }

    init(row: SQLRow) throws {
        self.init(
            deliveryID: try row.required("delivery_id", SQLRow.id), number: row.int("number") ?? 0,
            startedAt: try row.required("started_at", SQLRow.date), durationMs: row.double("duration_ms") ?? 0,
            statusCode: row.int("status_code"), responseHead: row.text("response_head"), error: row.text("error")
        )
    }
}

extension CachedAnswer: StoredRow {
    static let table = SQLTable("cache_entries", [
        "key", "bucket_index", "project", "created_at", "expires_at", "status", "headers", "body", "stream", "request_id", "bytes",
    ])

    var arguments: [SQLArgument] {
        [
            .text(key), .int(bucketIndex), .text(project), .time(createdAt), .time(expiresAt), .int(status),
            .text(JSONValue.array(headers.map { .array([.string($0.0), .string($0.1)]) }).serializedString()), .bytes(body),
            .bool(stream), .id(requestID), .int(body.count),
        ]
    }

    init(row: SQLRow) throws {
        var headers: [(String, String)] = []
        if let text = row.text("headers"), case .array(let pairs)? = try? JSONValue.parse(text) {
            headers = pairs.compactMap { pair in
                guard case .array(let parts) = pair, parts.count == 2, let name = parts[0].stringValue, let value = parts[1].stringValue else { return nil }
                return (name, value)
            }
        }
        self.init(
            key: try row.required("key", SQLRow.text), bucketIndex: row.int("bucket_index") ?? 0, project: try row.required("project", SQLRow.text),
            createdAt: try row.required("created_at", SQLRow.date), expiresAt: try row.required("expires_at", SQLRow.date),
            status: row.int("status") ?? 200, headers: headers, body: row.bytes("body") ?? [], stream: row.bool("stream") ?? false,
            requestID: try row.required("request_id", SQLRow.id)
        )
    }
}

/// Properties as stored in a record's `properties` column: a JSON object in the order sent.
enum PropertyCoding {
    static func encode(_ properties: [Property]) -> String {
        JSONValue.object(properties.map { ($0.name, .string($0.value)) }).serializedString()
    }

    static func decode(_ text: String?) -> [Property] {
        guard let text, let value = try? JSONValue.parse(text), let object = value.objectValue else { return [] }
        return object.compactMap { name, value in value.stringValue.map { Property(name: name, value: $0) } }
    }
}
