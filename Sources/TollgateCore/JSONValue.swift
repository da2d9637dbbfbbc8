/// A parsed JSON document that keeps object members in the order they were written.
///
/// Order matters to Tollgate: a webhook body is signed over its exact bytes, and receivers
/// re-serialize with `JSON.stringify(JSON.parse(body))`, so whatever we re-emit must keep the
/// provider's member order. That is why objects are arrays of pairs rather than dictionaries.
/// Numbers are IEEE doubles, exactly as JavaScript holds them.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// Structural equality; objects are equal only with the same members in the same order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// The value of the first member named `key`, or nil when this is not an object or has no
    /// such member.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// The element at `index`, or nil when this is not an array or the index is out of range.
    public subscript(index: Int) -> JSONValue? {
        guard case let .array(elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case let .string(s) = self { s } else { nil }
    }

    /// The number as an `Int`, when this is a number with no fractional part that fits.
    public var intValue: Int? {
        guard case let .number(d) = self, d.rounded(.towardZero) == d else { return nil }
        return Int(exactly: d)
    }

    /// The number, when this is a number.
    public var doubleValue: Double? {
        if case let .number(d) = self { d } else { nil }
    }

    /// The boolean, when this is `true` or `false`.
    public var boolValue: Bool? {
        if case let .bool(b) = self { b } else { nil }
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case let .array(a) = self { a } else { nil }
    }

    /// The members in document order, when this is an object.
    public var objectValue: [(String, JSONValue)]? {
        if case let .object(o) = self { o } else { nil }
    }

    /// True for `null`.
    public var isNull: Bool {
        if case .null = self { true } else { false }
    }

    /// Replaces the first member named `key` in place, or appends it when there is none.
    /// A non-object becomes an object holding just this member.
    public mutating func set(_ key: String, _ value: JSONValue) {
        guard case var .object(members) = self else {
            self = .object([(key, value)])
            return
        }
        self = .null
        if let i = members.firstIndex(where: { $0.0 == key }) {
            members[i].1 = value
        } else {
            members.append((key, value))
        }
        self = .object(members)
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Members keep the order they are written in the literal.
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
}
