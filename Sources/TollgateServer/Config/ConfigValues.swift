import Foundation
import Yams

/// A flat view of configuration: dotted keys (`server.port`) to values, read from a YAML file and
/// then overridden by `TOLLGATE_*` environment variables.
///
/// Environment mapping: the key upper-cased, dots and dashes as underscores, prefixed with
/// `TOLLGATE_`: `server.port` is `TOLLGATE_SERVER_PORT`, `providers.groq.base_url` is
/// `TOLLGATE_PROVIDERS_GROQ_BASE_URL`. Lists are comma-separated.
struct ConfigValues: Sendable {
    enum Value: Sendable, Equatable {
        case scalar(String)
        case list([String])
        /// A list of maps, such as `auth.gateway_keys: [{key: ..., project: ...}]`.
        case records([[String: String]])
    }

    private(set) var values: [String: Value] = [:]

    init() {}

    /// Parses YAML text; `source` names it in error messages.
    init(yaml: String, source: String) throws {
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: yaml)
        } catch {
            throw ConfigError("\(source) is not valid YAML: \(error)")
        }
        guard let loaded else { return }
        guard let root = loaded as? [String: Any] else { throw ConfigError("\(source) must be a YAML map at the top level") }
        try flatten(root, prefix: "", source: source)
    }

    private mutating func flatten(_ map: [String: Any], prefix: String, source: String) throws {
        for (key, value) in map {
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            switch value {
            case let nested as [String: Any]:
                try flatten(nested, prefix: path, source: source)
            case let list as [Any]:
                if list.allSatisfy({ $0 is [String: Any] }), !list.isEmpty {
                    values[path] = .records(list.map { ($0 as! [String: Any]).mapValues { "\($0)" } })
                } else {
                    values[path] = .list(list.map { "\($0)" })
                }
            case is NSNull:
                values[path] = nil
            default:
                values[path] = .scalar("\(value)")
            }
        }
    }

    /// Applies `TOLLGATE_*` variables for the given known keys, plus any
    /// `TOLLGATE_PROVIDERS_<NAME>_BASE_URL` / `_FORMAT` for providers not in the file.
    mutating func applyEnvironment(_ environment: [String: String], knownKeys: [String]) {
        var keys = Set(knownKeys).union(values.keys)
        for name in environment.keys where name.hasPrefix("TOLLGATE_PROVIDERS_") {
            for field in ["base_url", "format"] {
                let suffix = "_" + field.uppercased()
                if name.hasSuffix(suffix) {
                    let provider = name.dropFirst("TOLLGATE_PROVIDERS_".count).dropLast(suffix.count).lowercased()
                    if !provider.isEmpty { keys.insert("providers.\(provider).\(field)") }
                }
            }
        }
        for key in keys {
            guard let raw = environment[Self.environmentName(for: key)] else { continue }
            if case .list? = values[key] {
                values[key] = .list(Self.splitList(raw))
            } else if case .records? = values[key] {
                values[key] = .list(Self.splitList(raw))
            } else {
                values[key] = .scalar(raw)
            }
        }
    }

    static func environmentName(for key: String) -> String {
        "TOLLGATE_" + key.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
    }

    static func splitList(_ raw: String) -> [String] {
        raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Names of the maps directly under `prefix` (for `providers.<name>`).
    func childNames(of prefix: String) -> [String] {
        let start = prefix + "."
        return Set(values.keys.filter { $0.hasPrefix(start) }.compactMap { $0.dropFirst(start.count).split(separator: ".").first.map(String.init) }).sorted()
    }

    func string(_ key: String) -> String? {
        switch values[key] {
        case .scalar(let s)?: s
        default: nil
        }
    }

    func string(_ key: String, default value: String) -> String { string(key) ?? value }

    func int(_ key: String, default value: Int) throws -> Int {
        guard let raw = string(key) else { return value }
        guard let n = Int(raw) else { throw ConfigError("\(key) must be an integer, got '\(raw)'") }
        return n
    }

    func double(_ key: String, default value: Double) throws -> Double {
        guard let raw = string(key) else { return value }
        guard let n = Double(raw) else { throw ConfigError("\(key) must be a number, got '\(raw)'") }
        return n
    }

    func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let raw = string(key)?.lowercased() else { return value }
        switch raw {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: throw ConfigError("\(key) must be true or false, got '\(raw)'")
        }
    }

    func list(_ key: String) -> [String] {
        switch values[key] {
        case .list(let l)?: l
        case .scalar(let s)?: Self.splitList(s)
        default: []
        }
    }

    func records(_ key: String) -> [[String: String]] {
        if case .records(let r)? = values[key] { return r }
        return []
    }
}

/// A configuration problem, said so that the operator knows what to change.
public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}
