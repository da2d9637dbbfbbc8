/// One configuration key as an operator sees it: its YAML name, its environment variable, its
/// default and what it does. Each section lists its keys once; the reader takes names and defaults
/// from that list, and the README's configuration table is that list rendered (`ConfigTests`
/// fails when they differ).
public struct ConfigKey: Sendable, Equatable {
    /// The dotted YAML name (`server.port`); `<name>` stands for any name (`providers.<name>.format`).
    public let name: String
    /// The value when neither the file nor the environment sets one, written as a user would
    /// write it and read by the same parser ("" for none).
    public let defaultValue: String
    /// How the README states the default when the raw value would not say it ("generated").
    public let shownDefault: String?
    /// Whether a `TOLLGATE_*` variable sets the key; false for lists of maps (the file only).
    public let fromEnvironment: Bool
    /// Variables read, in this order, when the `TOLLGATE_*` one is unset (`AWS_REGION`).
    public let fallbacks: [String]
    /// One line for the README.
    public let meaning: String

    init(_ name: String, default defaultValue: String = "", shown: String? = nil, fromEnvironment: Bool = true, fallbacks: [String] = [], _ meaning: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.shownDefault = shown
        self.fromEnvironment = fromEnvironment
        self.fallbacks = fallbacks
        self.meaning = meaning
    }

    /// `TOLLGATE_` and the name upper-cased, dots and dashes as underscores; nil for file-only keys.
    public var environmentVariable: String? { fromEnvironment ? Self.environmentName(for: name) : nil }

    /// Whether `name` has a name placeholder (`providers.<name>.base_url`).
    var isPattern: Bool { name.contains("<") }

    /// Whether a concrete dotted key (`providers.groq.format`) is this key.
    func matches(_ key: String) -> Bool {
        let pattern = name.split(separator: ".")
        let parts = key.split(separator: ".")
        guard pattern.count == parts.count else { return false }
        return zip(pattern, parts).allSatisfy { $0.hasPrefix("<") || $0 == $1 }
    }

    static func environmentName(for key: String) -> String {
        "TOLLGATE_" + key.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
    }

    /// The README's configuration table: one row per key.
    static func markdownTable(_ keys: [ConfigKey]) -> String {
        var lines = ["| key | environment variable | default | meaning |", "|---|---|---|---|"]
        for key in keys {
            let variables = ([key.environmentVariable].compactMap { $0 } + key.fallbacks).map { "`\($0)`" }
            let environment = variables.isEmpty ? "file only" : variables.joined(separator: ", or ")
            let shown = key.shownDefault ?? (key.defaultValue.isEmpty ? "none" : "`\(key.defaultValue)`")
            lines.append("| `\(key.name)` | \(environment) | \(shown) | \(key.meaning) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A section of the configuration (`server:`, `storage:`, …): a value built from the reader,
/// whose keys are listed in ``keys``.
protocol ConfigSection: Sendable, Equatable {
    /// Every key the section reads, in the order the README and `conf/tollgate.yaml` list them.
    static var keys: [ConfigKey] { get }
    /// Reads the section; throws a ``ConfigError`` naming the key to fix.
    init(_ reader: ConfigValues) throws
}

extension ConfigSection {
    /// The section's defaults: what a file and environment that set nothing read as.
    static var defaults: Self {
        do {
            return try Self(ConfigValues())
        } catch {
            fatalError("the built-in defaults of \(Self.self) do not read: \(error)")
        }
    }
}

/// A configuration problem, said so that the operator knows what to change.
public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

extension Duration {
    /// The duration in seconds, for the APIs that take a `TimeInterval`.
    var timeInterval: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
