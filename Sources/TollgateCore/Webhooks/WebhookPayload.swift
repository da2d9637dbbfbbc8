import Foundation

/// The JSON body of a webhook delivery, in Helicone's shape (SPEC §6).
///
/// Receivers written from Helicone's doc verify the signature over
/// `JSON.stringify(JSON.parse(body))`, so the body is built as a `JSONValue` and written with
/// `serialized()`, which produces exactly those bytes.
public enum WebhookPayload {
    /// The most UTF-8 bytes of a body carried inline; the full bodies sit behind `request_response_url`.
    public static let bodyLimit = 10_240

    /// The delivery body as compact JSON, members in this order:
    /// `request_id`, `user_id` (only when known), `request_body`, `response_body`; with
    /// `includeData` also `request_response_url` (null when there is none), `model`, `provider` and
    /// `metadata` {`cost` (null when unpriced), `promptTokens`, `completionTokens`, `totalTokens`,
    /// `latencyMs`, then `cacheReadTokens`, `cacheWriteTokens`, `reasoningTokens`,
    /// `timeToFirstTokenMs`}; last, always, `properties` (names as sent), `status`, `stream` and
    /// `created_at`. Helicone's fields come first and in its order; ours only follow them.
    ///
    /// Token counts are 0 when usage is unknown; times are whole milliseconds. A body that is nil
    /// (omitted by the caller) is sent as "". For a stream, pass the reconstructed completion as
    /// `responseBody`.
    public static func build(record: RequestRecord, requestBody: [UInt8]?, responseBody: [UInt8]?, includeData: Bool, requestResponseURL: String?) -> [UInt8] {
        var members: [(String, JSONValue)] = [("request_id", .string(record.id.uuidString.lowercased()))]
        if let userID = record.userID { members.append(("user_id", .string(userID))) }
        members.append(("request_body", .string(truncatedText(requestBody ?? []))))
        members.append(("response_body", .string(truncatedText(responseBody ?? []))))
        if includeData {
            let usage = record.usage ?? TokenUsage()
            members.append(("request_response_url", requestResponseURL.map(JSONValue.string) ?? .null))
            members.append(("model", record.model.map(JSONValue.string) ?? .null))
            members.append(("provider", .string(record.provider)))
            members.append(("metadata", .object([
                ("cost", record.costUSD.map(JSONValue.number) ?? .null),
                ("promptTokens", .number(Double(usage.inputTokens))),
                ("completionTokens", .number(Double(usage.outputTokens))),
                ("totalTokens", .number(Double(usage.totalTokens))),
                ("latencyMs", .number(record.latencyMs.rounded())),
                ("cacheReadTokens", .number(Double(usage.cacheReadTokens))),
                ("cacheWriteTokens", .number(Double(usage.cacheWriteTokens))),
                ("reasoningTokens", .number(Double(usage.reasoningTokens))),
                ("timeToFirstTokenMs", record.timeToFirstTokenMs.map { .number($0.rounded()) } ?? .null),
            ])))
        }
        members.append(("properties", .object(record.properties.map { ($0.name, .string($0.value)) })))
        members.append(("status", .number(Double(record.status))))
        members.append(("stream", .bool(record.stream)))
        members.append(("created_at", .string(timestamp(record.createdAt))))
        return JSONValue.object(members).serialized()
    }

    /// `bytes` as text, cut to at most `limit` UTF-8 bytes at a character boundary, so the cut never
    /// leaves half a character. Invalid UTF-8 is first repaired with U+FFFD; the limit applies to
    /// the repaired text.
    public static func truncatedText(_ bytes: [UInt8], limit: Int = bodyLimit) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        let utf8 = text.utf8
        guard utf8.count > limit else { return text }
        var end = utf8.index(utf8.startIndex, offsetBy: max(0, limit))
        while end > utf8.startIndex, UTF8.isContinuation(utf8[end]) {
            end = utf8.index(before: end)
        }
        return String(text[..<end])
    }

    /// A sample delivery for `POST /v1/webhooks/{id}/test`: Helicone's example values (gpt-4o-mini,
    /// 10 + 15 tokens, cost 0.0015, 1200 ms) with short chat bodies naming the webhook, and the
    /// property `Tollgate-Test: true` so a receiver can tell it from real traffic.
    public static func test(webhookID: UUID, includeData: Bool, requestResponseURL: String?, requestID: UUID = UUID(), now: Date = Date()) -> [UInt8] {
        let record = RequestRecord(
            id: requestID, project: "test", createdAt: now, method: "POST", path: "/v1/chat/completions",
            provider: "openai", model: "gpt-4o-mini", status: 200, stream: false, userID: "user-123",
            properties: [Property(name: "Tollgate-Test", value: "true")], sessionID: nil, sessionPath: nil,
            sessionName: nil, usage: TokenUsage(inputTokens: 10, outputTokens: 15), costUSD: 0.0015,
            latencyMs: 1200, timeToFirstTokenMs: nil, requestBytes: 0, responseBytes: 0, error: nil
        )
        let request: JSONValue = [
            "model": "gpt-4o-mini",
            "messages": [["role": "user", "content": .string("Test delivery for webhook \(webhookID.uuidString.lowercased())")]],
        ]
        let response: JSONValue = [
            "id": "chatcmpl-test", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [["index": 0, "message": ["role": "assistant", "content": "Webhook received."], "finish_reason": "stop"]],
            "usage": ["prompt_tokens": 10, "completion_tokens": 15, "total_tokens": 25],
        ]
        return build(record: record, requestBody: request.serialized(), responseBody: response.serialized(), includeData: includeData, requestResponseURL: requestResponseURL)
    }

    /// ISO 8601 in UTC with milliseconds, as JavaScript's `Date.toISOString()` writes it. The time
    /// is cut (never rounded up) to the millisecond, so a `created_at` passed back as `since`
    /// includes its own call; it is rounded to the microsecond first, because a `Date` made from
    /// whole milliseconds (x.123) is often a hair below them as a double and must not print as x.122.
    public static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1_000_000).rounded()).floorDiv(1000)
        let (days, msOfDay) = (ms.floorDiv(86_400_000), ms.floorMod(86_400_000))
        let (year, month, day) = CivilDate.from(daysSince1970: days)
        func pad(_ n: Int64, _ width: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(msOfDay / 3_600_000, 2)):\(pad(msOfDay / 60_000 % 60, 2)):\(pad(msOfDay / 1000 % 60, 2)).\(pad(msOfDay % 1000, 3))Z"
    }
}

private extension Int64 {
    func floorDiv(_ d: Int64) -> Int64 { (self - floorMod(d)) / d }
    func floorMod(_ d: Int64) -> Int64 { ((self % d) + d) % d }
}
