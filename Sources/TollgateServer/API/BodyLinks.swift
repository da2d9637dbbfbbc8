import Foundation
import Synchronization
import TollgateCore

/// Where a call's bodies are and how to hand them out: `request_response_url`s expiring after
/// `bodies.url_ttl_seconds` — presigned S3 URLs for bodies in S3, else the gateway's own signed
/// URL, absolute under `server.public_url` (or the bound address when none is configured).
final class BodyLinks: Sendable {
    let signer: BodyURLSigner
    let ttlSeconds: Int
    let store: any RecordStore
    let s3: S3BodyStore?
    let base = Mutex<String>("")

    init(signer: BodyURLSigner, ttlSeconds: Int, publicURL: String?, store: any RecordStore, s3: S3BodyStore?) {
        self.signer = signer
        self.ttlSeconds = ttlSeconds
        self.store = store
        self.s3 = s3
        if let publicURL { base.withLock { $0 = Self.trimmed(publicURL) } }
    }

    /// The bodies of a call (from the database, or else from S3) and the `request_response_url`
    /// to hand out now for them, with one database read.
    /// Throws when the store cannot be read (a payload without its bodies would be wrong).
    func bodiesAndLink(for id: UUID, now: Date = Date()) async throws -> (bodies: StoredBodies?, link: String) {
        if let stored = try await store.bodies(id: id) { return (stored, url(for: id, now: now)) }
        guard let s3 else { return (nil, url(for: id, now: now)) }
        let document = try? await s3.get(id)
        return (document.flatMap(BodyDocument.bodies(from:)), s3.presignedURL(for: id, ttl: ttlSeconds, now: now))
    }

    /// The `request_response_url` to hand out now for a call.
    func link(for id: UUID, now: Date = Date()) async -> String {
        let inDatabase = s3 == nil ? true : (try? await store.bodies(id: id)) != nil
        return link(for: id, bodiesInDatabase: inDatabase, now: now)
    }

    /// The `request_response_url` for a call whose bodies' place is known.
    func link(for id: UUID, bodiesInDatabase: Bool, now: Date = Date()) -> String {
        if let s3, !bodiesInDatabase { return s3.presignedURL(for: id, ttl: ttlSeconds, now: now) }
        return url(for: id, now: now)
    }

    /// Called once the server is bound, for configurations without `server.public_url`.
    func serverBound(host: String, port: Int) {
        base.withLock { if $0.isEmpty { $0 = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" } }
    }

    /// The gateway's own signed URL for a call's bodies.
    func url(for id: UUID, now: Date = Date()) -> String {
        let expires = Int64(now.timeIntervalSince1970) + Int64(ttlSeconds)
        return base.withLock { $0 } + signer.pathAndQuery(requestID: id.uuidString.lowercased(), expires: expires)
    }

    static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
