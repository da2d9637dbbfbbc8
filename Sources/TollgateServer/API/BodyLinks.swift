import Foundation
import Synchronization
import TollgateCore

/// Issues `request_response_url`s: absolute, under `server.public_url` (or the bound address
/// when none is configured), signed, expiring after `bodies.url_ttl_seconds`.
final class BodyLinks: Sendable {
    let signer: BodyURLSigner
    let ttlSeconds: Int
    let base = Mutex<String>("")

    init(signer: BodyURLSigner, ttlSeconds: Int, publicURL: String?) {
        self.signer = signer
        self.ttlSeconds = ttlSeconds
        if let publicURL { base.withLock { $0 = Self.trimmed(publicURL) } }
    }

    /// Called once the server is bound, for configurations without `server.public_url`.
    func serverBound(host: String, port: Int) {
        base.withLock { if $0.isEmpty { $0 = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" } }
    }

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
