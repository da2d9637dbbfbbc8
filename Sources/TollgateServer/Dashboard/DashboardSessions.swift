import Crypto
import Foundation
import TollgateCore

/// Dashboard sessions as signed cookies, so that every instance behind a load balancer accepts
/// them with no shared state: `v1.<expires>.<scope>.<nonce>.<mac>`, where the MAC (HMAC-SHA256
/// under a key derived from `bodies.signing_key`) also covers a hash of the admin key that signed
/// in. Changing that key in the config ends its sessions; every session ends at its expiry.
/// Forms carry a CSRF token derived from the session (on top of the cookie's SameSite=Strict).
struct DashboardSessions: Sendable {
    static let cookieName = "tollgate_session"
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    let auth: AdminAuth
    let lifetime: TimeInterval
    /// Sent with `Secure` when `server.public_url` is https.
    let secure: Bool

    init(signingKey: String, auth: AdminAuth, lifetime: TimeInterval = 12 * 3600, secure: Bool) {
        // A key of its own, so a session MAC can never stand in for a body URL signature.
        keyBytes = Array(HMAC<SHA256>.authenticationCode(for: Data("tollgate dashboard sessions".utf8), using: SymmetricKey(data: Data(signingKey.utf8))))
        self.auth = auth
        self.lifetime = lifetime
        self.secure = secure
    }

    /// The cookie value for a session opened with `adminKey`, or nil when it is no admin key.
    func open(adminKey: String, now: Date = Date()) -> String? {
        guard let scope = auth.scope(ofKey: adminKey) else { return nil }
        let expires = Int64(now.timeIntervalSince1970 + lifetime)
        let nonce = Hex.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) })
        let body = "v1.\(expires).\(Self.encode(scope)).\(nonce)"
        return body + "." + mac(body, adminKey: adminKey)
    }

    /// The scope of a valid, unexpired session cookie.
    func scope(ofCookie value: String, now: Date = Date()) -> AdminScope? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "v1", let expires = Int64(parts[1]), Double(expires) > now.timeIntervalSince1970,
              let scope = Self.decode(String(parts[2])), let adminKey = auth.key(of: scope) else { return nil }
        let body = parts[0..<4].joined(separator: ".")
        return AdminAuth.constantTimeEqual(mac(body, adminKey: adminKey), String(parts[4])) ? scope : nil
    }

    /// When a session cookie expires (for one that ``scope(ofCookie:now:)`` accepts).
    func expiry(ofCookie value: String) -> Date? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, let expires = Int64(parts[1]) else { return nil }
        return Date(timeIntervalSince1970: Double(expires))
    }

    /// The token forms of this session carry.
    func csrfToken(forCookie value: String) -> String {
        mac("csrf." + value, adminKey: "")
    }

    func checkCSRF(_ token: String?, cookie: String) -> Bool {
        guard let token else { return false }
        return AdminAuth.constantTimeEqual(token, csrfToken(forCookie: cookie))
    }

    func setCookie(_ value: String) -> String {
        "\(Self.cookieName)=\(value); Path=/dashboard; Max-Age=\(Int(lifetime)); HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
    }

    func clearCookie() -> String {
        "\(Self.cookieName)=; Path=/dashboard; Max-Age=0; HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
    }

    private func mac(_ body: String, adminKey: String) -> String {
        let keyHash = Hex.encode(Array(SHA256.hash(data: Data(adminKey.utf8))))
        return Hex.encode(Array(HMAC<SHA256>.authenticationCode(for: Data((body + "|" + keyHash).utf8), using: key)))
    }

    static func encode(_ scope: AdminScope) -> String {
        switch scope {
        case .all: "all"
        case .project(let project): "p-" + Hex.encode(Array(project.utf8))
        }
    }

    static func decode(_ text: String) -> AdminScope? {
        if text == "all" { return .all }
        guard text.hasPrefix("p-"), let bytes = Hex.decode(String(text.dropFirst(2))) else { return nil }
        return .project(String(decoding: bytes, as: UTF8.self))
    }
}
