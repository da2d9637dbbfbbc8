/// Percent-decoding (RFC 3986 §2.1), for guards that must judge text as the server or resolver
/// behind them will read it.
public enum PercentEncoding {
    /// `text` with each valid `%XX` whose byte satisfies `decodes` replaced by that byte; other
    /// escapes and malformed `%` sequences ("%", "%4", "%zz") are kept as written.
    public static func decode(_ text: some Collection<UInt8>, where decodes: (UInt8) -> Bool = { _ in true }) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(text.count)
        var index = text.startIndex
        while index != text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "%") {
                let first = text.index(after: index)
                if first != text.endIndex {
                    let second = text.index(after: first)
                    if second != text.endIndex, let high = hexValue(text[first]), let low = hexValue(text[second]), decodes(high << 4 | low) {
                        out.append(high << 4 | low)
                        index = text.index(after: second)
                        continue
                    }
                }
            }
            out.append(byte)
            index = text.index(after: index)
        }
        return out
    }

    /// RFC 3986 unreserved characters: letters, digits, `-`, `.`, `_` and `~`. An escape of one of
    /// these means the same as the character itself (§6.2.2.2).
    public static func isUnreserved(_ c: UInt8) -> Bool {
        isLetterOrDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
    }

    static func isLetterOrDigit(_ c: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
