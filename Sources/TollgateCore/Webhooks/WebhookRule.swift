import Crypto
import Foundation

/// Which recorded requests one webhook fires for: its project, a sample rate and property filters.
///
/// This is the routing half of a webhook; destination, key and delivery live with the server.
public struct WebhookRule: Sendable, Equatable {
    public var id: UUID
    public var project: String
    /// Percent of matching requests delivered, 0...100; fractions such as 12.5 are allowed.
    public var sampleRate: Double
    /// Properties a request must carry, all of them: names compare case-insensitively, values exactly.
    public var propertyFilters: [Property]
    public var enabled: Bool

    public init(id: UUID, project: String, sampleRate: Double, propertyFilters: [Property], enabled: Bool) {
        self.id = id
        self.project = project
        self.sampleRate = sampleRate
        self.propertyFilters = propertyFilters
        self.enabled = enabled
    }

    /// True when the webhook is enabled, belongs to `project`, and every filter is present among
    /// `properties` (name compared by lowercased key, value exact). Extra properties are ignored.
    public func matches(project: String, properties: [Property]) -> Bool {
        guard enabled, project == self.project else { return false }
        return propertyFilters.allSatisfy { filter in
            properties.contains { $0.key == filter.key && $0.value == filter.value }
        }
    }

    /// Whether this request falls in the sample. The roll is derived from SHA-256 of the webhook id
    /// and the request id, so it is the same every time it is asked: a re-send, a restart or a
    /// second gateway process never re-rolls. 0 never samples, 100 always does.
    public func samples(requestID: UUID) -> Bool {
        if sampleRate <= 0 { return false }
        if sampleRate >= 100 { return true }
        var input = [UInt8]()
        input.reserveCapacity(32)
        withUnsafeBytes(of: id.uuid) { input.append(contentsOf: $0) }
        withUnsafeBytes(of: requestID.uuid) { input.append(contentsOf: $0) }
        let digest = SHA256.hash(data: input)
        let roll = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        // The top 53 bits give a uniform double in [0, 1) with no rounding up to 1.
        let fraction = Double(roll >> 11) / Double(UInt64(1) << 53)
        return fraction * 100 < sampleRate
    }
}

/// Reads and writes a webhook's `propertyFilters`.
public enum PropertyFilters {
    /// Accepts the array form `[{"key": "environment", "value": "production"}]` and the map form of
    /// Helicone's doc `{"environment": "production", "userId": "user-123"}`; null or absent gives no
    /// filters. A number or boolean value is taken as its JSON text (5 → "5", true → "true"), since
    /// property values arrive as header text. Anything else throws, naming the bad entry.
    public static func parse(_ value: JSONValue?) throws(WebhookConfigError) -> [Property] {
        switch value {
        case nil, .null?:
            return []
        case let .object(members)?:
            var filters = [Property]()
            for (name, value) in members {
                filters.append(try property(name: name, value: value, entry: "propertyFilters.\(name)"))
            }
            return filters
        case let .array(elements)?:
            var filters = [Property]()
            for (index, element) in elements.enumerated() {
                let entry = "propertyFilters[\(index)]"
                guard case .object = element else {
                    throw WebhookConfigError(message: "\(entry) must be an object like {\"key\": \"environment\", \"value\": \"production\"}, got \(element.serializedString().prefix(100))")
                }
                guard let name = element["key"]?.stringValue else {
                    throw WebhookConfigError(message: "\(entry) needs a string \"key\"")
                }
                filters.append(try property(name: name, value: element["value"] ?? .null, entry: entry))
            }
            return filters
        case let other?:
            throw WebhookConfigError(message: "propertyFilters must be an object like {\"environment\": \"production\"} or an array of {\"key\", \"value\"}, got \(other.serializedString().prefix(100))")
        }
    }

    /// The array form, `[{"key": name, "value": value}, ...]`, as the management API returns it.
    public static func json(_ filters: [Property]) -> JSONValue {
        .array(filters.map { .object([("key", .string($0.name)), ("value", .string($0.value))]) })
    }

    private static func property(name: String, value: JSONValue, entry: String) throws(WebhookConfigError) -> Property {
        guard !name.isEmpty else { throw WebhookConfigError(message: "\(entry) has an empty property name") }
        switch value {
        case let .string(s): return Property(name: name, value: s)
        case .number, .bool: return Property(name: name, value: value.serializedString())
        default:
            throw WebhookConfigError(message: "\(entry) value must be a string, number or boolean, got \(value.serializedString().prefix(100))")
        }
    }
}

/// Why a webhook's configuration was refused; the management API answers 400 with `message`.
public struct WebhookConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
