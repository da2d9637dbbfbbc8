extension JSONValue {
    /// The compact UTF-8 text that Node's `JSON.stringify(value)` produces for this value.
    ///
    /// Webhook receivers verify an HMAC over `JSON.stringify(JSON.parse(body))`, so the bytes we
    /// sign must survive that round trip unchanged: members in order, no whitespace, `/` and
    /// non-ASCII left as they are, only `"`, `\` and control characters escaped, and numbers
    /// spelled as JavaScript spells them. Non-finite numbers become `null`, as in JavaScript.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        JSONWriter.write(self, into: &out)
        return out
    }

    /// `serialized()` as a `String`.
    public func serializedString() -> String {
        String(decoding: serialized(), as: UTF8.self)
    }
}

/// Writes `JSONValue`s the way JavaScript's `JSON.stringify` does.
public enum JSONWriter {
    /// Appends the serialization of `value` to `out`.
    public static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case let .bool(b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case let .number(d): out.append(contentsOf: javaScriptString(d).utf8)
        case let .string(s): writeString(s, into: &out)
        case let .array(elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, member)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `s` as a JSON string literal, escaping exactly what `JSON.stringify` escapes.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0xF))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// JavaScript's `Number.prototype.toString()` for `value` (ECMA-262 Number::toString):
    /// the shortest digits that round-trip, plain notation for decimal exponents from -6 to 20,
    /// otherwise `d.ddde+N` / `d.ddde-N`. Non-finite values give `"null"`, as in JSON.
    public static func javaScriptString(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == 0 { return "0" }
        if value.rounded(.towardZero) == value, abs(value) < 1e15 {
            return String(Int64(value))
        }
        let (digits, exponent) = shortestDigits(abs(value))
        let k = digits.count
        let n = exponent
        var out = value < 0 ? "-" : ""
        if k <= n, n <= 21 {
            out += digits + String(repeating: "0", count: n - k)
        } else if 0 < n, n <= 21 {
            let split = digits.index(digits.startIndex, offsetBy: n)
            out += digits[..<split] + "." + digits[split...]
        } else if -6 < n, n <= 0 {
            out += "0." + String(repeating: "0", count: -n) + digits
        } else {
            let e = n - 1
            let sign = e < 0 ? "-" : "+"
            out += String(digits.first!)
            if k > 1 { out += "." + digits.dropFirst() }
            out += "e" + sign + String(abs(e))
        }
        return out
    }

    /// Splits a positive finite double into its shortest round-trip decimal digits `s` (no
    /// leading or trailing zeros) and `n` such that the value is `0.s × 10^n`. Swift's own
    /// `description` already yields shortest round-trip digits; only its layout differs from
    /// JavaScript's, so it is re-read here.
    private static func shortestDigits(_ value: Double) -> (digits: String, exponent: Int) {
        let text = value.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits = ""
        var pointPosition: Int?
        for c in mantissa {
            if c == "." { pointPosition = digits.count } else { digits.append(c) }
        }
        var n = (pointPosition ?? digits.count) + exponent
        while digits.first == "0" {
            digits.removeFirst()
            n -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        return (digits, n)
    }
}
