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
                let maps = list.filter { $0 is [String: Any] }.count
                if maps > 0, maps < list.count {
                    throw ConfigError("\(path) in \(source) mixes plain entries and maps: write every entry as a map")
                }
                if maps > 0 {
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

    /// Applies the `TOLLGATE_*` variables of `keys` (and, when one is unset, its fallbacks) to
    /// them and to the keys the file set, plus any `TOLLGATE_PROVIDERS_<NAME>_BASE_URL` /
    /// `_FORMAT` for providers not in the file. Keys read from the file only are left alone.
    mutating func applyEnvironment(_ environment: [String: String], keys declared: [ConfigKey]) {
        let fileOnly = Set(declared.filter { !$0.fromEnvironment }.map(\.name))
        var fallbacks: [String: [String]] = [:]
        var keys = Set(values.keys).subtracting(fileOnly)
        for key in declared where key.fromEnvironment && !key.isPattern {
            keys.insert(key.name)
            fallbacks[key.name] = key.fallbacks
        }
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
            let names = [ConfigKey.environmentName(for: key)] + (fallbacks[key] ?? [])
            guard let raw = names.lazy.compactMap({ environment[$0] }).first else { continue }
            if case .list? = values[key] {
                values[key] = .list(Self.splitList(raw))
            } else if case .records? = values[key] {
                values[key] = .list(Self.splitList(raw))
            } else {
                values[key] = .scalar(raw)
            }
        }
    }

    /// The dotted keys set, for checking a file against the declared keys.
    var keys: [String] { values.keys.sorted() }

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

/// Reading a declared key: its value, or its default when unset, parsed the same way.
extension ConfigValues {
    func string(_ key: ConfigKey) -> String { string(key.name) ?? key.defaultValue }

    /// The value, or nil when it is unset or empty.
    func optional(_ key: ConfigKey) -> String? {
        let value = string(key)
        return value.isEmpty ? nil : value
    }

    func int(_ key: ConfigKey) throws -> Int {
        let raw = string(key)
        guard let n = Int(raw) else { throw ConfigError("\(key.name) must be an integer, got '\(raw)'") }
        return n
    }

    func double(_ key: ConfigKey) throws -> Double {
        let raw = string(key)
        guard let n = Double(raw) else { throw ConfigError("\(key.name) must be a number, got '\(raw)'") }
        return n
    }

    /// A number of seconds (fractions allowed) as a duration.
    func seconds(_ key: ConfigKey) throws -> Duration { .seconds(try double(key)) }

    func bool(_ key: ConfigKey) throws -> Bool {
        let raw = string(key).lowercased()
        switch raw {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: throw ConfigError("\(key.name) must be true or false, got '\(raw)'")
        }
    }

    func list(_ key: ConfigKey) -> [String] {
        values[key.name] == nil ? Self.splitList(key.defaultValue) : list(key.name)
    }

    func records(_ key: ConfigKey) -> [[String: String]] { records(key.name) }
}
