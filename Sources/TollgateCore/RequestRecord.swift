import Foundation

/// One recorded call: what the read API shows and what webhooks are built from.
public struct RequestRecord: Sendable, Equatable {
    public var id: UUID
    public var project: String
    public var createdAt: Date
    public var method: String
    public var path: String
    public var provider: String
    public var model: String?
    public var status: Int
    public var stream: Bool
    public var userID: String?
    public var properties: [Property]
    public var sessionID: String?
    public var sessionPath: String?
    public var sessionName: String?
    public var usage: TokenUsage?
    public var costUSD: Double?
    public var latencyMs: Double
    public var timeToFirstTokenMs: Double?
    /// The provider's share of `latencyMs`: request handed upstream to the answer's last byte.
    public var upstreamLatencyMs: Double?
    /// The gateway's own share of `latencyMs` (`latencyMs - upstreamLatencyMs`): request received
    /// to request sent upstream, plus last upstream byte to last byte sent.
    public var overheadMs: Double?
    /// Answered from the response cache without reaching the provider.
    public var cacheHit: Bool
    /// For a cache hit, what the call would have cost (its `costUSD` is 0).
    public var costSavedUSD: Double?
    /// Every time the call was sent upstream, when the caller asked for retries or fallbacks.
    public var attempts: [Attempt]?
    /// The `Helicone-Fallbacks` entry whose answer the client got.
    public var fallbackIndex: Int?
    public var requestBytes: Int
    /// The response body's size as sent.
    public var responseBytes: Int
    /// True when the stored response body is only the answer's start (it was larger than
    /// `bodies.max_kept_bytes`).
    public var responseTruncated: Bool
    public var error: String?

    public init(
        id: UUID, project: String, createdAt: Date, method: String, path: String, provider: String,
        model: String?, status: Int, stream: Bool, userID: String?, properties: [Property],
        sessionID: String?, sessionPath: String?, sessionName: String?, usage: TokenUsage?,
        costUSD: Double?, latencyMs: Double, timeToFirstTokenMs: Double?, upstreamLatencyMs: Double? = nil,
        overheadMs: Double? = nil, cacheHit: Bool = false, costSavedUSD: Double? = nil, attempts: [Attempt]? = nil, fallbackIndex: Int? = nil, requestBytes: Int,
        responseBytes: Int, responseTruncated: Bool = false, error: String?
    ) {
        self.id = id
        self.project = project
        self.createdAt = createdAt
        self.method = method
        self.path = path
        self.provider = provider
        self.model = model
        self.status = status
        self.stream = stream
        self.userID = userID
        self.properties = properties
        self.sessionID = sessionID
        self.sessionPath = sessionPath
        self.sessionName = sessionName
        self.usage = usage
        self.costUSD = costUSD
        self.latencyMs = latencyMs
        self.timeToFirstTokenMs = timeToFirstTokenMs
        self.upstreamLatencyMs = upstreamLatencyMs
        self.overheadMs = overheadMs
        self.cacheHit = cacheHit
        self.costSavedUSD = costSavedUSD
        self.attempts = attempts
        self.fallbackIndex = fallbackIndex
        self.requestBytes = requestBytes
        self.responseBytes = responseBytes
        self.responseTruncated = responseTruncated
        self.error = error
    }
}

/// The bodies kept for a record, as served behind `request_response_url`.
public struct StoredBodies: Sendable, Equatable {
    /// The request body, or nil when the caller sent `Helicone-Omit-Request: true`.
    public var request: [UInt8]?
    /// The response body as upstream sent it (the raw event text for a stream), or nil when omitted.
    public var response: [UInt8]?
    /// For a stream: the completion object the non-stream call would have returned, as JSON.
    public var reconstructedResponse: [UInt8]?

    public init(request: [UInt8]?, response: [UInt8]?, reconstructedResponse: [UInt8]?) {
        self.request = request
        self.response = response
        self.reconstructedResponse = reconstructedResponse
    }
}
