/// A piece of HTML that is safe to send: text interpolated into it is escaped unless it is itself
/// `HTML`, so a page built from these cannot carry a provider's answer or a user's property as
/// markup. Literals are trusted (they are the page's own); everything else is text.
///
///     let row: HTML = "<td>\(record.model ?? "")</td>"   // the model is escaped
public struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var markup: String

    public init(stringLiteral value: String) {
        markup = value
    }

    public init(stringInterpolation: StringInterpolation) {
        markup = stringInterpolation.markup
    }

    /// Markup produced elsewhere and known to be safe (an SVG built by ``SVGChart``).
    public init(trusted markup: String) {
        self.markup = markup
    }

    public var description: String { markup }

    public static func + (lhs: HTML, rhs: HTML) -> HTML { HTML(trusted: lhs.markup + rhs.markup) }

    /// Escapes the five characters that matter in text and in quoted attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var markup = ""

        public init(literalCapacity: Int, interpolationCount: Int) {
            markup.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) { markup += literal }
        public mutating func appendInterpolation(_ text: String) { markup += HTML.escape(text) }
        public mutating func appendInterpolation(_ text: Substring) { markup += HTML.escape(String(text)) }
        public mutating func appendInterpolation(_ html: HTML) { markup += html.markup }
        public mutating func appendInterpolation(_ parts: [HTML]) { for part in parts { markup += part.markup } }
        public mutating func appendInterpolation(_ number: Int) { markup += String(number) }
        public mutating func appendInterpolation(_ html: HTML?) { if let html { markup += html.markup } }
    }
}

extension Array where Element == HTML {
    public func joined() -> HTML { HTML(trusted: map(\.markup).joined()) }
}
