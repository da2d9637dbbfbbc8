import Foundation

/// An answer kept by the response cache: what the client got, byte for byte (a stream's events
/// with their framing), and the headers that describe it.
public struct CachedAnswer: Sendable, Equatable {
    /// ``CacheKey``: project, provider, method, path, body and seed.
    public var key: String
    /// Which of the key's 1–20 slots (`Helicone-Cache-Bucket-Max-Size`) it fills.
    public var bucketIndex: Int
    public var project: String
    public var createdAt: Date
    public var expiresAt: Date
    public var status: Int
    /// The answer's headers as they went to the client (names as sent), without `Helicone-*`
    /// ones, which each answer gets afresh.
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var stream: Bool
    /// The call whose answer this is.
    public var requestID: UUID

    public init(
        key: String, bucketIndex: Int = 0, project: String, createdAt: Date, expiresAt: Date, status: Int,
        headers: [(String, String)], body: [UInt8], stream: Bool, requestID: UUID
    ) {
        self.key = key
        self.bucketIndex = bucketIndex
        self.project = project
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream
        self.requestID = requestID
    }

    public static func == (a: CachedAnswer, b: CachedAnswer) -> Bool {
        a.key == b.key && a.bucketIndex == b.bucketIndex && a.project == b.project && a.createdAt == b.createdAt
            && a.expiresAt == b.expiresAt && a.status == b.status && a.headers.elementsEqual(b.headers, by: ==)
            && a.body == b.body && a.stream == b.stream && a.requestID == b.requestID
    }
}
