import TollgateCore

/// A key that belongs to one project: a gateway key callers send, or an admin key limited to it.
public struct ProjectKey: Sendable, Equatable {
    public var key: String
    public var project: String

    public init(key: String, project: String) {
        self.key = key
        self.project = project
    }
}

/// The keys of Tollgate's own API.
///
/// Keys: `admin.key`, `admin.project_keys` (maps with `key` and `project`; the file only).
public struct AdminConfig: ConfigSection {
    /// The key for every project's data; nil: generated on first start and kept under `storage.path`.
    public var key: String?
    /// Keys that see and manage one project only.
    public var projectKeys: [ProjectKey]

    enum Key {
        static let key = ConfigKey("admin.key", shown: "generated", "key for every project's data; generated on first start, stored in `storage.path/admin.key`, printed once")
        static let projectKeys = ConfigKey(
            "admin.project_keys", fromEnvironment: false, "`{key, project}` maps: keys that see and manage one project only"
        )
    }

    static let keys = [Key.key, Key.projectKeys]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        key = v.optional(Key.key)
        projectKeys = try v.records(Key.projectKeys).map { entry in
            guard let key = entry["key"], !key.isEmpty, let project = entry["project"], !project.isEmpty else {
                throw ConfigError("admin.project_keys entries need a 'key' and a 'project'")
            }
            return ProjectKey(key: key, project: project)
        }
    }
}

/// Who may call through the gateway.
///
/// Keys: `auth.gateway_keys` (strings, project `default`, or maps with `key` and `project`).
public struct AuthConfig: ConfigSection {
    /// Keys callers send as `Helicone-Auth: Bearer <key>`, each selecting a project. Empty: no
    /// key needed, and the server only binds to loopback.
    public var gatewayKeys: [ProjectKey]
    /// Rate limits the operator sets on a gateway key (its map's `rate_limits`, policies in
    /// `Helicone-RateLimit-Policy` form separated by commas): they apply to every call with the
    /// key, whatever headers it sends.
    public var rateLimits: [String: [RateLimitPolicy]] = [:]

    enum Key {
        static let gatewayKeys = ConfigKey(
            "auth.gateway_keys",
            "keys callers send as `Helicone-Auth: Bearer <key>`: strings (project `default`), or `{key, project, rate_limits}` maps (`rate_limits`: policies such as `1000;w=3600;s=user`, comma-separated, that callers cannot lift); none: loopback only"
        )
    }

    static let keys = [Key.gatewayKeys]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        gatewayKeys = v.list(Key.gatewayKeys).map { ProjectKey(key: $0, project: "default") }
        for entry in v.records(Key.gatewayKeys) {
            guard let key = entry["key"], !key.isEmpty else { throw ConfigError("auth.gateway_keys entries need a 'key'") }
            gatewayKeys.append(ProjectKey(key: key, project: entry["project"] ?? "default"))
            if let text = entry["rate_limits"] {
                rateLimits[key] = try text.split(separator: ",").map { policy in
                    do throws(GatewayHeaderError) {
                        return try RateLimitPolicy(header: String(policy))
                    } catch {
                        throw ConfigError("auth.gateway_keys: rate_limits of project \(entry["project"] ?? "default")'s key: \(error.message)")
                    }
                }
            }
        }
    }
}
