import Foundation

/// The `Helicone-*` tags a caller put on one request, read once at the edge.
public struct GatewayTags: Sendable, Equatable {
    /// The gateway key from `Helicone-Auth: Bearer <key>`; it selects the project.
    public var gatewayKey: String?
    /// Custom properties in the order sent, names as sent (without the `Helicone-Property-` prefix).
    public var properties: [Property]
    /// The end user, from `Helicone-User-Id` (the body's user field is a fallback applied later).
    public var userID: String?
    /// A client-chosen record id from `Helicone-Request-Id`.
    public var requestID: UUID?
    public var sessionID: String?
    public var sessionPath: String?
    public var sessionName: String?
    public var omitRequestBody: Bool
    public var omitResponseBody: Bool
    /// `Helicone-Target-URL`, an origin for OpenAI-compatible providers that are not configured.
    public var targetURL: String?
    /// Cache, retries, rate limit and fallbacks (SPEC §7); empty for most calls.
    public var controls = GatewayControls()

    public init() {
        properties = []
        omitRequestBody = false
        omitResponseBody = false
    }
}

/// One custom property. Names compare case-insensitively, values exactly.
public struct Property: Sendable, Equatable, Codable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
    /// The name as stored for matching and filtering.
    public var key: String { name.lowercased() }
}

/// Bounds on what a caller may tag a request with.
public struct TagLimits: Sendable {
    public var maxProperties: Int
    public var maxPropertyNameBytes: Int
    public var maxPropertyValueBytes: Int
    /// Any single `Helicone-*` value (user id, session, ...).
    public var maxValueBytes: Int

    public init(maxProperties: Int = 64, maxPropertyNameBytes: Int = 128, maxPropertyValueBytes: Int = 4096, maxValueBytes: Int = 1024) {
        self.maxProperties = maxProperties
        self.maxPropertyNameBytes = maxPropertyNameBytes
        self.maxPropertyValueBytes = maxPropertyValueBytes
        self.maxValueBytes = maxValueBytes
    }
}

/// Why a request's tags were refused; the gateway answers 400 with `message`.
public struct GatewayHeaderError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Reads `Helicone-*` headers and decides which headers go upstream.
public enum GatewayHeaders {
    static let propertyPrefix = "helicone-property-"

    /// Parses the tagging headers of one request. Names are matched case-insensitively.
    public static func parse(_ headers: some Sequence<(name: String, value: String)>, limits: TagLimits = TagLimits()) throws(GatewayHeaderError) -> GatewayTags {
        var tags = GatewayTags()
        var controls = GatewayControls.Values()
        for (rawName, value) in headers {
            guard rawName.count > 9, let first = rawName.utf8.first.map({ $0 | 0x20 }) else { continue }
            if first == UInt8(ascii: "c"), rawName.count == 13, rawName.lowercased() == "cache-control" {
                controls.cacheControl = value
                continue
            }
            guard first == UInt8(ascii: "h") else { continue }
            let name = rawName.lowercased()
            guard name.hasPrefix("helicone-") else { continue }
            if name.hasPrefix(propertyPrefix) {
                let propertyName = String(rawName.dropFirst(propertyPrefix.count))
                guard !propertyName.isEmpty else { throw GatewayHeaderError(message: "Helicone-Property- header has no property name") }
                guard propertyName.utf8.count <= limits.maxPropertyNameBytes else {
                    throw GatewayHeaderError(message: "property name '\(propertyName.prefix(32))…' is longer than \(limits.maxPropertyNameBytes) bytes")
                }
                guard value.utf8.count <= limits.maxPropertyValueBytes else {
                    throw GatewayHeaderError(message: "value of property '\(propertyName)' is longer than \(limits.maxPropertyValueBytes) bytes")
                }
                let property = Property(name: propertyName, value: value)
                if let existing = tags.properties.firstIndex(where: { $0.key == property.key }) {
                    tags.properties[existing] = property
                } else {
                    tags.properties.append(property)
                }
                guard tags.properties.count <= limits.maxProperties else {
                    throw GatewayHeaderError(message: "more than \(limits.maxProperties) Helicone-Property- headers")
                }
                continue
            }
            guard value.utf8.count <= limits.maxValueBytes else {
                throw GatewayHeaderError(message: "\(rawName) is longer than \(limits.maxValueBytes) bytes")
            }
            switch name {
            case "helicone-auth":
                tags.gatewayKey = bearerToken(value)
            case "helicone-user-id":
                tags.userID = value.isEmpty ? nil : value
            case "helicone-request-id":
                guard let id = UUID(uuidString: value.trimmingCharacters(in: .whitespaces)) else {
                    throw GatewayHeaderError(message: "Helicone-Request-Id must be a UUID, got '\(value.prefix(64))'")
                }
                tags.requestID = id
            case "helicone-session-id": tags.sessionID = value
            case "helicone-session-path": tags.sessionPath = value
            case "helicone-session-name": tags.sessionName = value
            case "helicone-omit-request": tags.omitRequestBody = isTrue(value)
            case "helicone-omit-response": tags.omitResponseBody = isTrue(value)
            case "helicone-target-url": tags.targetURL = value
            case _ where GatewayControls.names.contains(name): controls.set(name, value)
            default: break
            }
        }
        if !controls.isEmpty { tags.controls = try GatewayControls(controls) }
        return tags
    }

    /// Hop-by-hop headers (RFC 9110 §7.6.1).
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade",
    ]
    /// Request headers the gateway sets itself: the upstream host, the (possibly rewritten) body's
    /// length, and `accept-encoding`, because metering needs the answer uncompressed.
    static let setByGateway: Set<String> = ["host", "content-length", "accept-encoding"]

    /// Whether a request header goes upstream: every `Helicone-*` and hop-by-hop header stays here,
    /// as does any header the request's `Connection` header names.
    public static func forwardsUpstream(_ lowercasedName: String, connectionTokens: Set<String> = []) -> Bool {
        if lowercasedName.hasPrefix("helicone-") { return false }
        if hopByHop.contains(lowercasedName) || setByGateway.contains(lowercasedName) { return false }
        return !connectionTokens.contains(lowercasedName)
    }

    /// Whether a response header goes back to the client; the server sets `content-length` itself.
    public static func forwardsDownstream(_ lowercasedName: String, connectionTokens: Set<String> = []) -> Bool {
        !hopByHop.contains(lowercasedName) && lowercasedName != "content-length" && !connectionTokens.contains(lowercasedName)
    }

    /// The lowercased tokens of a `Connection` header value.
    public static func connectionTokens(_ value: String?) -> Set<String> {
        guard let value else { return [] }
        return Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
    }

    static func bearerToken(_ value: String) -> String? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " {
            return String(trimmed.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        return trimmed.isEmpty ? nil : trimmed
    }

    static func isTrue(_ value: String) -> Bool {
        let v = value.trimmingCharacters(in: .whitespaces).lowercased()
        return v == "true" || v == "1" || v == "yes"
    }
}
