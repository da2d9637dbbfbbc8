import Crypto
import Foundation

/// Makes and checks the signed, expiring capability behind `request_response_url`.
///
/// The URL carries the record id, an expiry time and an HMAC-SHA256 over both; anyone holding
/// it can read the bodies until it expires, and changing any part of it breaks the signature.
public struct BodyURLSigner: Sendable {
    let keyBytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public init(key: [UInt8]) {
        self.keyBytes = key
    }

    /// The path and query of the capability, to append to the public base URL.
    public func pathAndQuery(requestID: String, expires: Int64) -> String {
        "/v1/bodies/\(requestID)?expires=\(expires)&signature=\(signature(requestID: requestID, expires: expires))"
    }

    /// Hex HMAC over `"<id>.<expires>"`.
    public func signature(requestID: String, expires: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(requestID).\(expires)".utf8), using: key)
        return Hex.encode(mac)
    }

    /// True only for an unaltered URL that has not expired at `now` (seconds since 1970).
    public func verify(requestID: String, expires: Int64, signature: String, now: Int64) -> Bool {
        guard now < expires, let given = Hex.decode(signature) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array("\(requestID).\(expires)".utf8), using: key)
    }
}

/// Lowercase hex encoding.
public enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ string: String) -> [UInt8]? {
        let chars = Array(string.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
