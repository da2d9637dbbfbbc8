/// Where one member of a JSON object sits in its text, as byte offsets.
struct JSONMemberSpan: Equatable {
    /// Offset of the opening quote of the member name.
    var start: Int
    /// The name's bytes between its quotes, escapes left as written.
    var key: Range<Int>
    /// The value's bytes.
    var value: Range<Int>
}

/// Finds the members of a JSON object in its bytes without building values, so that a body can
/// be edited by splicing bytes and everything not edited stays exactly as the client or
/// provider wrote it.
enum JSONMemberScanner {
    /// The object's `{` offset, its members, and its `}` offset; nil when the text at `from`
    /// (after whitespace) is not a well-formed object.
    static func members(
        of bytes: UnsafeBufferPointer<UInt8>, from: Int = 0
    ) -> (open: Int, members: [JSONMemberSpan], close: Int)? {
        var i = skipWhitespace(bytes, from)
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
        let open = i
        var members: [JSONMemberSpan] = []
        i = skipWhitespace(bytes, i + 1)
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { return (open, members, i) }
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "\""), let keyEnd = skipString(bytes, i) else { return nil }
            let start = i
            i = skipWhitespace(bytes, keyEnd)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            let valueStart = skipWhitespace(bytes, i + 1)
            guard let valueEnd = skipValue(bytes, valueStart) else { return nil }
            members.append(JSONMemberSpan(start: start, key: (start + 1)..<(keyEnd - 1), value: valueStart..<valueEnd))
            i = skipWhitespace(bytes, valueEnd)
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "}") { return (open, members, i) }
            guard bytes[i] == UInt8(ascii: ",") else { return nil }
            i = skipWhitespace(bytes, i + 1)
        }
        return nil
    }

    /// The bytes to cut to remove member `index` and one adjacent comma, leaving valid JSON.
    static func removalRange(of index: Int, in members: [JSONMemberSpan]) -> Range<Int> {
        let member = members[index]
        if index + 1 < members.count { return member.start..<members[index + 1].start }
        if index > 0 { return members[index - 1].value.upperBound..<member.value.upperBound }
        return member.start..<member.value.upperBound
    }

    static func keyEquals(_ span: JSONMemberSpan, _ name: StaticString, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let expected = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return UnsafeBufferPointer(rebasing: bytes[span.key]).elementsEqual(expected)
    }

    static func valueEquals(_ span: JSONMemberSpan, _ literal: StaticString, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        return UnsafeBufferPointer(rebasing: bytes[span.value]).elementsEqual(expected)
    }

    /// True when the value is `[]`, with any whitespace inside.
    static func isEmptyArray(_ span: JSONMemberSpan, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes[span.value.lowerBound] == UInt8(ascii: "[") else { return false }
        return skipWhitespace(bytes, span.value.lowerBound + 1) == span.value.upperBound - 1
    }

    static func skipWhitespace(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int) -> Int {
        var i = from
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        return i
    }

    /// The offset just past the string whose opening quote is at `from`.
    static func skipString(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int) -> Int? {
        var i = from + 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""): return i + 1
            case UInt8(ascii: "\\"): i += 2
            default: i += 1
            }
        }
        return nil
    }

    /// The offset just past the value starting at `from`. Containers are matched by bracket
    /// depth (strings skipped); scalars run to the next delimiter. Assumes the text is JSON.
    static func skipValue(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int) -> Int? {
        guard from < bytes.count else { return nil }
        switch bytes[from] {
        case UInt8(ascii: "\""):
            return skipString(bytes, from)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = from
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    guard let end = skipString(bytes, i) else { return nil }
                    i = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default: break
                }
                i += 1
            }
            return nil
        default:
            var i = from
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09:
                    return i == from ? nil : i
                default: i += 1
                }
            }
            return i == from ? nil : i
        }
    }
}
