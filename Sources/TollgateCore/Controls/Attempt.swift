import Foundation

/// One time a call was sent upstream, as its record shows it when the caller asked for retries
/// or fallbacks (SPEC §7): where it went, what came back and how long it took.
public struct Attempt: Sendable, Equatable {
    /// The target's origin and path (no query: a query may carry a provider key).
    public var url: String
    /// The answer's status; nil when no answer came (no connection, timeout).
    public var status: Int?
    public var durationMs: Double
    /// Why no answer came, for an attempt without one.
    public var error: String?
    /// The start of the answer's body, for an attempt whose answer the client did not get.
    public var response: String?

    /// Most of a passed-over answer kept on the record.
    public static let keptResponseBytes = 1024

    public init(url: String, status: Int?, durationMs: Double, error: String? = nil, response: String? = nil) {
        self.url = url
        self.status = status
        self.durationMs = durationMs
        self.error = error
        self.response = response
    }

    public var json: JSONValue {
        .object([
            ("url", .string(url)),
            ("status", status.map { .number(Double($0)) } ?? .null),
            ("duration_ms", .number((durationMs * 1000).rounded() / 1000)),
            ("error", error.map(JSONValue.string) ?? .null),
            ("response", response.map(JSONValue.string) ?? .null),
        ])
    }

    public init?(json: JSONValue) {
        guard let fields = json.objectValue else { return nil }
        let field = { (name: String) in fields.first { $0.0 == name }?.1 }
        guard let url = field("url")?.stringValue else { return nil }
        self.init(
            url: url, status: field("status")?.intValue, durationMs: field("duration_ms")?.doubleValue ?? 0,
            error: field("error")?.stringValue, response: field("response")?.stringValue
        )
    }

    /// A list of attempts as one JSON text (how the store keeps it).
    public static func encode(_ attempts: [Attempt]) -> String {
        String(decoding: JSONValue.array(attempts.map(\.json)).serialized(), as: UTF8.self)
    }

    public static func decode(_ text: String) -> [Attempt]? {
        guard let value = try? JSONParser.parse(Array(text.utf8)), let items = value.arrayValue else { return nil }
        return items.compactMap(Attempt.init(json:))
    }

    /// The start of a passed-over answer's body as text (invalid UTF-8 replaced).
    public static func responseStart(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(keptResponseBytes), as: UTF8.self)
    }
}

/// What follows an attempt whose answer the client has not seen yet: give it to the client, send
/// it again to the same target after a wait (`Helicone-Retry-*`), or move on to the next
/// `Helicone-Fallbacks` entry. Retries come first: an entry is retried within its bounds before
/// the call falls back to the next one.
public enum AttemptPlan {
    public enum Step: Sendable, Equatable {
        case answer
        case retry(afterMs: Int)
        case fallback(to: Int)
    }

    /// - Parameters:
    ///   - status: the attempt's answer status, nil when none came.
    ///   - entry: the fallback entry it went to (0 without fallbacks).
    ///   - retriesMade: retries already made on this entry.
    ///   - unit: a random number in 0..<1 for the backoff's jitter.
    public static func next(
        status: Int?, retryAfter: String?, entry: Int, fallbacks: [FallbackTarget]?, retry: RetryControl?,
        retriesMade: Int, now: Date, unit: Double
    ) -> Step {
        if let retry, let wait = retry.next(status: status, retryAfter: retryAfter, retriesMade: retriesMade, now: now, unit: unit) {
            return .retry(afterMs: wait)
        }
        if let fallbacks, entry + 1 < fallbacks.count {
            let passes = status.map { fallbacks[entry].fallsThrough(status: $0) } ?? true
            if passes { return .fallback(to: entry + 1) }
        }
        return .answer
    }
}
