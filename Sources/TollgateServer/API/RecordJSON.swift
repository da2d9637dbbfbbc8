import Foundation
import TollgateCore

/// The read API's JSON form of a record (SPEC §4 names).
enum RecordJSON {
    static func scores(_ scores: [Score]) -> JSONValue {
        .object(scores.map { ($0.name, $0.isBool ? .bool($0.value != 0) : .number($0.value)) })
    }

    static func encode(_ r: RequestRecord, scores: [Score] = []) -> JSONValue {
        func int(_ v: Int?) -> JSONValue { v.map { .number(Double($0)) } ?? .null }
        func double(_ v: Double?) -> JSONValue { v.map { .number($0) } ?? .null }
        func string(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        return .object([
            ("id", .string(r.id.uuidString.lowercased())),
            ("project", .string(r.project)),
            ("created_at", .string(ISO8601.format(r.createdAt))),
            ("method", .string(r.method)),
            ("path", .string(r.path)),
            ("provider", .string(r.provider)),
            ("model", string(r.model)),
            ("status", .number(Double(r.status))),
            ("stream", .bool(r.stream)),
            ("user_id", string(r.userID)),
            ("properties", .object(r.properties.map { ($0.name, .string($0.value)) })),
            ("session_id", string(r.sessionID)),
            ("session_path", string(r.sessionPath)),
            ("session_name", string(r.sessionName)),
            ("prompt_tokens", int(r.usage?.inputTokens)),
            ("completion_tokens", int(r.usage?.outputTokens)),
            ("total_tokens", int(r.usage?.totalTokens)),
            ("cache_read_tokens", int(r.usage?.cacheReadTokens)),
            ("cache_write_tokens", int(r.usage?.cacheWriteTokens)),
            ("reasoning_tokens", int(r.usage?.reasoningTokens)),
            ("cost_usd", double(r.costUSD)),
            ("latency_ms", .number(r.latencyMs)),
            ("time_to_first_token_ms", double(r.timeToFirstTokenMs)),
            ("upstream_latency_ms", double(r.upstreamLatencyMs)),
            ("overhead_ms", double(r.overheadMs)),
            ("cache_hit", .bool(r.cacheHit)),
            ("cost_saved_usd", double(r.costSavedUSD)),
            ("attempts", r.attempts.map { .array($0.map(\.json)) } ?? .null),
            ("fallback_index", int(r.fallbackIndex)),
            ("request_bytes", .number(Double(r.requestBytes))),
            ("response_bytes", .number(Double(r.responseBytes))),
            ("response_truncated", .bool(r.responseTruncated)),
            ("error", string(r.error)),
            ("scores", Self.scores(scores)),
        ])
    }
}

/// ISO 8601 with milliseconds, UTC, as the API writes and reads times.
enum ISO8601 {
    /// The same text webhooks carry (as JavaScript's `toISOString` writes it), cut to the millisecond.
    static func format(_ date: Date) -> String {
        WebhookPayload.timestamp(date)
    }

    /// Accepts ISO 8601 with or without fractional seconds, or seconds since 1970.
    static func parse(_ text: String) -> Date? {
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        if let d = try? Date(text, strategy: .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted)) { return d }
        if let d = try? Date(text, strategy: .iso8601) { return d }
        return nil
    }
}
