import Foundation

/// Everything the hot path knows about one call once its response is finished: the raw facts,
/// nothing parsed. It is handed off the request path and turned into a ``RequestRecord`` there.
public struct Exchange: Sendable {
    public var id: UUID
    public var project: String
    public var receivedAt: Date
    public var method: String
    public var path: String
    public var target: UpstreamTarget?
    public var tags: GatewayTags
    /// HTTP status sent to the client (0 when nothing was sent).
    public var status: Int
    /// Whether the response was `text/event-stream`.
    public var stream: Bool
    /// True when the gateway added `stream_options.include_usage` on the way up.
    public var injectedUsage: Bool
    /// The request body as the client sent it.
    public var requestBody: [UInt8]
    /// The response body as upstream sent it (before any filtering for the client), or its
    /// first bytes when it was larger than the gateway keeps (see ``BodyCapture``).
    public var responseBody: [UInt8]
    /// The response's last bytes when `responseBody` holds only its start; nil otherwise.
    public var responseTail: [UInt8]?
    /// The response body's size as sent, kept or not.
    public var responseBytes: Int
    /// Request received to last byte sent.
    public var latencyMs: Double
    /// Request received to first upstream body byte; recorded for streams only.
    public var timeToFirstByteMs: Double?
    /// Request handed to the upstream connection to the answer's last byte received: the
    /// provider's share of ``latencyMs``, network included. Nil when nothing was sent upstream.
    public var upstreamLatencyMs: Double?
    /// Answered from the response cache: nothing was sent upstream, and the call costs nothing.
    public var cacheHit = false
    /// Every time the call was sent upstream, when the caller asked for retries or fallbacks.
    public var attempts: [Attempt]?
    /// The `Helicone-Fallbacks` entry whose answer the client got.
    public var fallbackIndex: Int?
    /// The rate-limit policies that applied to the call (header and config), so its cost can be
    /// charged to the cents ones once it is known.
    public var rateLimits: [RateLimitPolicy] = []
    public var failure: Failure?

    /// Whether only the start and end of the response were kept.
    public var responseTruncated: Bool { responseTail != nil }

    /// Sets the response from what a ``BodyCapture`` kept.
    public mutating func setResponse(_ captured: CapturedBody) {
        responseBody = captured.head
        responseTail = captured.tail
        responseBytes = captured.totalBytes
    }

    public init(
        id: UUID, project: String, receivedAt: Date, method: String, path: String, target: UpstreamTarget?,
        tags: GatewayTags, status: Int = 0, stream: Bool = false, injectedUsage: Bool = false,
        requestBody: [UInt8] = [], responseBody: [UInt8] = [], responseTail: [UInt8]? = nil, responseBytes: Int? = nil, latencyMs: Double = 0,
        timeToFirstByteMs: Double? = nil, failure: Failure? = nil
    ) {
        self.id = id
        self.project = project
        self.receivedAt = receivedAt
        self.method = method
        self.path = path
        self.target = target
        self.tags = tags
        self.status = status
        self.stream = stream
        self.injectedUsage = injectedUsage
        self.requestBody = requestBody
        self.responseBody = responseBody
        self.responseTail = responseTail
        self.responseBytes = responseBytes ?? responseBody.count + (responseTail?.count ?? 0)
        self.latencyMs = latencyMs
        self.timeToFirstByteMs = timeToFirstByteMs
        self.failure = failure
    }
}

/// Why a call did not complete normally.
public struct Failure: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case upstreamUnreachable = "upstream_unreachable"
        case upstreamTimeout = "upstream_timeout"
        case upstreamFailed = "upstream_failed"
        case clientCancelled = "client_cancelled"
        /// Refused by a rate limit (`Helicone-RateLimit-Policy` or the gateway key's); not forwarded.
        case rateLimited = "rate_limited"
    }

    public var kind: Kind
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// `kind: detail`, the text of the record's `error` field.
    public var description: String { "\(kind.rawValue): \(detail)" }
}
