import Foundation

/// One entry of `Helicone-Fallbacks`: where to send the call, what to add for that target only,
/// and which answers move on to the next entry.
public struct FallbackTarget: Sendable, Equatable {
    public var targetURL: String
    /// Added to this attempt only.
    public var headers: [(String, String)]
    /// Statuses of this entry's answer that move on to the next entry; unreachable always does.
    public var onCodes: [ClosedRange<Int>]
    /// Merged into the JSON body's top level for this attempt.
    public var bodyKeyOverride: [(String, JSONValue)]

    /// When an entry names no `onCodes`: 429 and every 5xx, the answers a provider gives when it
    /// cannot serve now.
    public static let defaultCodes: [ClosedRange<Int>] = [429...429, 500...599]
    public static let maxEntries = 10

    public init(targetURL: String, headers: [(String, String)] = [], onCodes: [ClosedRange<Int>] = defaultCodes, bodyKeyOverride: [(String, JSONValue)] = []) {
        self.targetURL = targetURL
        self.headers = headers
        self.onCodes = onCodes
        self.bodyKeyOverride = bodyKeyOverride
    }

    public static func == (a: FallbackTarget, b: FallbackTarget) -> Bool {
        a.targetURL == b.targetURL && a.headers.elementsEqual(b.headers, by: ==) && a.onCodes == b.onCodes
            && JSONValue.object(a.bodyKeyOverride) == JSONValue.object(b.bodyKeyOverride)
    }

    /// Whether an answer with this status moves on to the next entry.
    public func fallsThrough(status: Int) -> Bool {
        onCodes.contains { $0.contains(status) }
    }

    /// `overrides` merged into a JSON object body's top level, replacing members of the same
    /// name; any other body is returned unchanged.
    public static func merge(_ overrides: [(String, JSONValue)], into body: [UInt8]) -> [UInt8] {
        guard let value = try? JSONParser.parse(body), var members = value.objectValue else { return body }
        for (key, override) in overrides {
            if let index = members.firstIndex(where: { $0.0 == key }) { members[index].1 = override } else { members.append((key, override)) }
        }
        return JSONValue.object(members).serialized()
    }

    static let form = #"a JSON array of {"target-url": "https://…", "headers": {…}, "onCodes": [429, {"from": 500, "to": 599}], "bodyKeyOverride": {…}}"#

    /// The entries of a `Helicone-Fallbacks` value, 1 to 10 of them.
    public static func list(header: String) throws(GatewayHeaderError) -> [FallbackTarget] {
        func refuse(_ why: String) -> GatewayHeaderError {
            GatewayHeaderError(message: "Helicone-Fallbacks \(why): expected \(form)")
        }
        guard let value = try? JSONParser.parse(Array(header.utf8)), case .array(let entries) = value else { throw refuse("is not a JSON array") }
        guard (1...maxEntries).contains(entries.count) else { throw refuse("must have 1 to \(maxEntries) entries, has \(entries.count)") }
        var targets: [FallbackTarget] = []
        for (index, entry) in entries.enumerated() {
            guard let fields = entry.objectValue else { throw refuse("entry \(index) is not an object") }
            var target = FallbackTarget(targetURL: "")
            for (key, field) in fields {
                switch key {
                case "target-url", "targetUrl", "target_url":
                    guard let url = field.stringValue, let parts = URLComponents(string: url), ["http", "https"].contains(parts.scheme?.lowercased() ?? ""), parts.host?.isEmpty == false else {
                        throw refuse("entry \(index) has a target-url that is not an http(s) URL")
                    }
                    target.targetURL = url
                case "headers":
                    guard let pairs = field.objectValue else { throw refuse("entry \(index) has headers that are not an object") }
                    target.headers = try pairs.map { name, value throws(GatewayHeaderError) in
                        guard let text = value.stringValue, !name.isEmpty, !name.unicodeScalars.contains(where: { $0 == ":" || $0.properties.isWhitespace || $0.value < 0x21 || $0.value > 0x7e }),
                              !text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                            throw refuse("entry \(index) has a header '\(name.prefix(40))' whose name or value cannot be sent")
                        }
                        return (name, text)
                    }
                case "onCodes", "on_codes":
                    guard case .array(let codes) = field else { throw refuse("entry \(index) has onCodes that are not an array") }
                    target.onCodes = try codes.map { code throws(GatewayHeaderError) in
                        if let n = code.intValue, (100...599).contains(n) { return n...n }
                        if let range = code.objectValue, let from = range.first(where: { $0.0 == "from" })?.1.intValue,
                           let to = range.first(where: { $0.0 == "to" })?.1.intValue, (100...599).contains(from), (from...599).contains(to) {
                            return from...to
                        }
                        throw refuse("entry \(index) has an onCodes item that is neither a status nor {\"from\": …, \"to\": …}")
                    }
                case "bodyKeyOverride", "body_key_override":
                    guard let object = field.objectValue else { throw refuse("entry \(index) has a bodyKeyOverride that is not an object") }
                    target.bodyKeyOverride = object
                default:
                    throw refuse("entry \(index) has an unknown key '\(key.prefix(40))'")
                }
            }
            guard !target.targetURL.isEmpty else { throw refuse("entry \(index) has no target-url") }
            targets.append(target)
        }
        return targets
    }
}
