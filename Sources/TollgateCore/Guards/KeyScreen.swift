import Foundation

/// Finds any of a few secret keys (the admin keys) anywhere in what a request would carry to a
/// provider: a header's name or value (`Authorization: Bearer …`, `x-api-key`, `api-key`,
/// `Helicone-Auth`, any other), inside `Basic` credentials, or in the path and query, escapes
/// decoded.
///
/// A key counts where it stands on its own: not preceded or followed by a letter or digit, so a
/// short key is not found inside a longer word. Candidates are found with a rolling hash whose base
/// is chosen at random per process and confirmed in constant time, so how long a check takes says
/// nothing about how much of a key a guess got right.
public struct KeyScreen: Sendable {
    struct Group: Sendable {
        var length: Int
        var keys: [[UInt8]]
        var hashes: [UInt64]
        /// base^(length - 1), to drop the byte leaving the window.
        var leading: UInt64
    }

    let groups: [Group]
    let base: UInt64
    /// The shortest key's length: shorter text cannot hold one.
    let shortest: Int

    /// Screens for `keys`; empty keys are ignored.
    public init(keys: [String], base: UInt64 = UInt64.random(in: 1...UInt64.max) | 1) {
        self.base = base
        var byLength: [Int: [[UInt8]]] = [:]
        for key in Set(keys) where !key.isEmpty { byLength[key.utf8.count, default: []].append(Array(key.utf8)) }
        groups = byLength.sorted { $0.key < $1.key }.map { length, keys in
            var leading: UInt64 = 1
            for _ in 1..<length { leading = leading &* base }
            return Group(length: length, keys: keys, hashes: keys.map { Self.hash($0[...], base: base) }, leading: leading)
        }
        shortest = groups.first?.length ?? .max
    }

    public var isEmpty: Bool { groups.isEmpty }

    /// Whether a request with these header fields (name, value) and this request target (path and
    /// query as sent) carries one of the keys.
    public func isCarried(headers: some Sequence<(String, String)>, target: String) -> Bool {
        guard !groups.isEmpty else { return false }
        for (name, value) in headers {
            if contains(name) || contains(value) { return true }
            if let credentials = Self.basicCredentials(value), contains(credentials) { return true }
        }
        if contains(target) { return true }
        return target.utf8.contains(UInt8(ascii: "%")) && contains(PercentEncoding.decode(target.utf8))
    }

    /// Whether `text` holds one of the keys, standing on its own.
    public func contains(_ text: String) -> Bool {
        guard text.utf8.count >= shortest else { return false }
        var text = text
        return text.withUTF8 { scan($0) }  // a small string is copied to the stack, not the heap
    }

    /// Whether `bytes` hold one of the keys, standing on their own.
    public func contains(_ bytes: [UInt8]) -> Bool {
        bytes.count >= shortest && bytes.withUnsafeBufferPointer { scan($0) }
    }

    private func scan(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        for group in groups where text.count >= group.length {
            let length = group.length
            var hash = Self.hash(text[0..<length], base: base)
            var start = 0
            while true {
                if group.hashes.contains(hash), standsAlone(text, start, length) {
                    for key in group.keys where Self.constantTimeEqual(text[start..<(start + length)], key) { return true }
                }
                let end = start + length
                guard end < text.count else { break }
                hash = (hash &- UInt64(text[start]) &* group.leading) &* base &+ UInt64(text[end])
                start += 1
            }
        }
        return false
    }

    private func standsAlone(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ length: Int) -> Bool {
        (start == 0 || !PercentEncoding.isLetterOrDigit(text[start - 1]) || !PercentEncoding.isLetterOrDigit(text[start]))
            && (start + length == text.count || !PercentEncoding.isLetterOrDigit(text[start + length]) || !PercentEncoding.isLetterOrDigit(text[start + length - 1]))
    }

    static func hash(_ bytes: some Collection<UInt8>, base: UInt64) -> UInt64 {
        bytes.reduce(0) { $0 &* base &+ UInt64($1) }
    }

    /// Whether `a` and `b` are equal, in a time that depends only on their lengths.
    public static func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }

    /// The decoded user:password of a `Basic` Authorization value.
    static func basicCredentials(_ value: String) -> [UInt8]? {
        guard value.utf8.first.map({ $0 | 0x20 }) == UInt8(ascii: "b"), value.utf8.count > 6, value.utf8.prefix(6).map({ $0 | 0x20 }).elementsEqual("basic ".utf8) else { return nil }
        let encoded = value.utf8.dropFirst(6).drop { $0 == UInt8(ascii: " ") }
        return Data(base64Encoded: String(decoding: encoded, as: UTF8.self)).map { Array($0) }
    }
}
