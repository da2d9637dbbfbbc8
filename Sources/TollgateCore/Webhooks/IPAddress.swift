/// An IPv4 or IPv6 address parsed from text, as needed to judge where a webhook connects.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes.count == 4 }

    /// Parses dotted-decimal IPv4 ("10.0.0.1") or IPv6 in any RFC 4291 form ("::1",
    /// "fe80::1%eth0", "::ffff:10.0.0.1"), with or without brackets. A zone after `%` is dropped.
    /// Nil for anything else, including the octal and hex IPv4 spellings some resolvers accept.
    public init?(_ text: String) {
        var s = Substring(text)
        if s.hasPrefix("["), s.hasSuffix("]") { s = s.dropFirst().dropLast() }
        if let percent = s.firstIndex(of: "%") { s = s[..<percent] }
        if let v4 = Self.parseIPv4(s) {
            bytes = v4
        } else if let v6 = Self.parseIPv6(s) {
            bytes = v6
        } else {
            return nil
        }
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// The IPv4 address a resolver (`inet_aton`, a WHATWG URL parser) reads from a host name
    /// that ends in a number: one to four dot-separated parts, each decimal, octal (leading `0`)
    /// or hex (`0x`), the last filling the remaining bytes, so "127.1", "2130706433",
    /// "0x7f000001" and "0177.0.0.1" are all 127.0.0.1. Nil when the parts do not fit.
    public init?(numericHost host: String) {
        var parts = host.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count > 1, parts.last?.isEmpty == true { parts.removeLast() }
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            let lower = part.lowercased()
            let value: UInt64?
            if lower.hasPrefix("0x") {
                value = lower.count == 2 ? 0 : UInt64(lower.dropFirst(2), radix: 16)
            } else if lower.count > 1, lower.hasPrefix("0") {
                value = UInt64(lower.dropFirst(), radix: 8)
            } else {
                value = lower.allSatisfy(\.isASCII) ? UInt64(lower, radix: 10) : nil
            }
            guard let value, !part.contains("+"), !part.contains("-") else { return nil }
            numbers.append(value)
        }
        let last = numbers.removeLast()
        guard numbers.allSatisfy({ $0 < 256 }), last < (UInt64(1) << (8 * UInt64(4 - numbers.count))) else { return nil }
        var value = last
        for (index, number) in numbers.enumerated() { value |= number << (8 * UInt64(3 - index)) }
        bytes = (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64(3 - $0))) }
    }

    /// Whether a resolver would read `host` as a number rather than a name: its last label
    /// (a trailing dot aside) is all digits, or `0x` and hex digits (the WHATWG URL rule).
    public static func endsInANumber(_ host: String) -> Bool {
        var labels = host.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count > 1, labels.last?.isEmpty == true { labels.removeLast() }
        guard let last = labels.last, !last.isEmpty else { return false }
        if last.allSatisfy({ $0.isASCII && $0.isNumber }) { return true }
        let lower = last.lowercased()
        return lower.hasPrefix("0x") && lower.dropFirst(2).allSatisfy { $0.isASCII && $0.isHexDigit }
    }

    /// The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) stands for; the address
    /// itself otherwise. A dual-stack socket reports IPv4 peers this way.
    public var unmapped: IPAddress {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else { return self }
        return IPAddress(bytes: Array(bytes[12...]))
    }

    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map { Int(bytes[$0]) << 8 | Int(bytes[$0 + 1]) }
        var bestStart = -1, bestLength = 1
        var i = 0
        while i < 8 {
            guard groups[i] == 0 else { i += 1; continue }
            let start = i
            while i < 8, groups[i] == 0 { i += 1 }
            if i - start > bestLength { bestStart = start; bestLength = i - start }
        }
        let hex = groups.map { String($0, radix: 16) }
        if bestStart < 0 { return hex.joined(separator: ":") }
        return hex[..<bestStart].joined(separator: ":") + "::" + hex[(bestStart + bestLength)...].joined(separator: ":")
    }

    private static func parseIPv4(_ s: Substring) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out = [UInt8]()
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                  part.count == 1 || part.first != "0", let value = UInt8(part) else { return nil }
            out.append(value)
        }
        return out
    }

    private static func parseIPv6(_ s: Substring) -> [UInt8]? {
        guard s.contains(":") else { return nil }
        let halves = s.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, allowTrailingIPv4: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out = [UInt8]()
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, allowTrailingIPv4, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    out += v4
                } else {
                    guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    out += [UInt8(value >> 8), UInt8(value & 0xff)]
                }
            }
            return out
        }
        if halves.count == 1 {
            guard let all = groups(halves[0], allowTrailingIPv4: true), all.count == 16 else { return nil }
            return all
        }
        guard let head = groups(halves[0], allowTrailingIPv4: false),
              let tail = groups(halves[1], allowTrailingIPv4: true),
              head.count + tail.count <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}
