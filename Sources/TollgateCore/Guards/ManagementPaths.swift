/// Which request paths belong to the gateway's own API rather than to a provider.
///
/// Every route the gateway serves claims its path when it is registered, and the decision is made
/// on the path as normalised, so no spelling of a management path (`/v1/Webhooks`,
/// `/v1//webhooks`, `/v1/./webhooks`, `/v1/x/../webhooks`, `/v1/%77ebhooks`, `/v1/webhooks/`)
/// reaches a provider.
public struct ManagementPaths: Sendable {
    /// Claimed paths, lowercased, without a trailing slash ("/v1/webhooks", "/healthz").
    public private(set) var claims: [String] = []

    public init() {}

    /// Claims the path of a route as registered (`/v1/webhooks/:id/test`): its literal segments
    /// before the first parameter or wildcard, and everything below them.
    public mutating func claim(route: String) {
        let literal = route.split(separator: "/").prefix { !$0.hasPrefix(":") && !$0.hasPrefix("{") && !$0.contains("*") }
        let claim = "/" + literal.joined(separator: "/").lowercased()
        if !claims.contains(claim) { claims.append(claim) }
    }

    /// The normalised path to route on when `path` lies under a claim (compared case-insensitively),
    /// or nil when it is a provider's. The router, which is case-sensitive, answers 404 to a
    /// claimed path in other case.
    public func route(_ path: String) -> String? {
        let normal = Self.isNormalized(path) ? path : Self.normalize(path)
        return claims.contains(where: { Self.lies(normal, under: $0) }) ? normal : nil
    }

    /// `path` as RFC 3986 §6.2.2 normalises it: escapes of unreserved characters decoded, empty
    /// and `.` segments dropped, `..` segments applied (never above the root), no trailing slash.
    /// Other escapes, such as `%2F`, are kept: they are part of their segment.
    public static func normalize(_ path: String) -> String {
        let decoded = PercentEncoding.decode(path.utf8, where: PercentEncoding.isUnreserved)
        var segments: [ArraySlice<UInt8>] = []
        for segment in decoded.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if segment.elementsEqual(".".utf8) { continue }
            if segment.elementsEqual("..".utf8) {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        var out: [UInt8] = []
        out.reserveCapacity(decoded.count + 1)
        for segment in segments {
            out.append(UInt8(ascii: "/"))
            out += segment
        }
        if out.isEmpty { out = [UInt8(ascii: "/")] }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `normalize(path)` would return `path` unchanged; true for nearly every call, so the
    /// hot path allocates nothing.
    static func isNormalized(_ path: String) -> Bool {
        let bytes = path.utf8
        guard bytes.first == UInt8(ascii: "/") else { return false }
        if bytes.count == 1 { return true }
        var length = 0, dots = 0  // the current segment's length, and how many of its bytes are dots
        for c in bytes.dropFirst() {
            if c == UInt8(ascii: "%") { return false }
            if c == UInt8(ascii: "/") {
                if length == 0 || (dots == length && length <= 2) { return false }
                length = 0
                dots = 0
            } else {
                length += 1
                if c == UInt8(ascii: ".") { dots += 1 }
            }
        }
        return length > 0 && !(dots == length && length <= 2)
    }

    /// Whether normalised `path` is `claim` or lies below it, ignoring ASCII case.
    static func lies(_ path: String, under claim: String) -> Bool {
        let p = path.utf8, c = claim.utf8
        guard p.count >= c.count else { return false }
        var index = p.startIndex
        for expected in c {
            var byte = p[index]
            if (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) { byte |= 0x20 }
            guard byte == expected else { return false }
            index = p.index(after: index)
        }
        return index == p.endIndex || p[index] == UInt8(ascii: "/") || claim == "/"
    }
}
