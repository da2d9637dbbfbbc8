import Foundation
import TollgateCore

/// Everything the gateway reads from `conf/tollgate.yaml` (or `--config`) and `TOLLGATE_*`
/// environment variables. The defaults here are the documented defaults in `conf/tollgate.yaml`.
///
/// Keys: `server.host`, `server.port`, `server.public_url`, `server.max_body_bytes`,
/// `storage.path`, `storage.queue_capacity`, `storage.batch_size`, `admin.key`,
/// `auth.gateway_keys` (strings, or maps with `key` and `project`), `providers.<name>.base_url`,
/// `providers.<name>.format`, `routing.default_provider`, `routing.allowed_target_urls`,
/// `upstream.connect_timeout_seconds`, `upstream.stall_timeout_seconds`,
/// `upstream.max_connections_per_host`, `bodies.url_ttl_seconds`, `bodies.signing_key`,
/// `pricing.path`, `webhooks.allowed_private_hosts`.
public struct GatewayConfig: Sendable, Equatable {
    public struct GatewayKey: Sendable, Equatable {
        public var key: String
        public var project: String

        public init(key: String, project: String) {
            self.key = key
            self.project = project
        }
    }

    public var host = "127.0.0.1"
    public var port = 8787
    /// Base of the absolute URLs the gateway hands out; defaults to `http://host:port`.
    public var publicURL: String?
    /// Largest request body accepted (413 above it).
    public var maxBodyBytes = 32 * 1024 * 1024
    public var storagePath = "./tollgate-data"
    /// Finished calls waiting to be written; when full, new records are dropped and counted.
    public var queueCapacity = 10_000
    public var batchSize = 500
    public var adminKey: String?
    public var gatewayKeys: [GatewayKey] = []
    public var providers: [ProviderRoute] = [
        ProviderRoute(name: "openai", origin: Origin("https://api.openai.com")!, format: .openai),
        ProviderRoute(name: "anthropic", origin: Origin("https://api.anthropic.com")!, format: .anthropic),
    ]
    public var defaultProvider = "openai"
    public var allowedTargetURLs: [String] = []
    public var connectTimeoutSeconds = 10.0
    /// Longest silence from upstream, before or between body bytes, before the call is cut.
    public var stallTimeoutSeconds = 300.0
    public var maxConnectionsPerHost = 512
    public var bodyURLTTLSeconds = 1800
    public var bodySigningKey: String?
    public var pricingPath = "conf/pricing.yaml"
    public var allowedPrivateHosts: [String] = []

    public init() {}

    /// The keys that environment variables may set even when the file does not mention them.
    static let knownKeys = [
        "server.host", "server.port", "server.public_url", "server.max_body_bytes",
        "storage.path", "storage.queue_capacity", "storage.batch_size", "admin.key",
        "auth.gateway_keys", "routing.default_provider", "routing.allowed_target_urls",
        "upstream.connect_timeout_seconds", "upstream.stall_timeout_seconds",
        "upstream.max_connections_per_host", "bodies.url_ttl_seconds", "bodies.signing_key",
        "pricing.path", "webhooks.allowed_private_hosts",
        "providers.openai.base_url", "providers.openai.format",
        "providers.anthropic.base_url", "providers.anthropic.format",
    ]

    /// Reads the config file at `path` (or only the defaults when nil) and then the environment.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayConfig {
        var values = ConfigValues()
        if let path {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigError("cannot read config file \(path)")
            }
            values = try ConfigValues(yaml: text, source: path)
        }
        values.applyEnvironment(environment, knownKeys: knownKeys)
        return try GatewayConfig(values)
    }

    init(_ v: ConfigValues) throws {
        host = v.string("server.host", default: host)
        port = try v.int("server.port", default: port)
        publicURL = v.string("server.public_url").flatMap { $0.isEmpty ? nil : $0 }
        maxBodyBytes = try v.int("server.max_body_bytes", default: maxBodyBytes)
        storagePath = v.string("storage.path", default: storagePath)
        queueCapacity = try v.int("storage.queue_capacity", default: queueCapacity)
        batchSize = try v.int("storage.batch_size", default: batchSize)
        adminKey = v.string("admin.key").flatMap { $0.isEmpty ? nil : $0 }
        gatewayKeys = v.list("auth.gateway_keys").map { GatewayKey(key: $0, project: "default") }
        for entry in v.records("auth.gateway_keys") {
            guard let key = entry["key"], !key.isEmpty else { throw ConfigError("auth.gateway_keys entries need a 'key'") }
            gatewayKeys.append(GatewayKey(key: key, project: entry["project"] ?? "default"))
        }
        var routes = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in v.childNames(of: "providers") {
            let existing = routes[name]
            let rawURL = v.string("providers.\(name).base_url") ?? existing?.origin.origin
            guard let rawURL else { throw ConfigError("providers.\(name).base_url is missing") }
            guard let origin = Origin(rawURL) else { throw ConfigError("providers.\(name).base_url must be an http(s) URL, got '\(rawURL)'") }
            let rawFormat = v.string("providers.\(name).format") ?? existing?.format.rawValue ?? "openai"
            guard let format = APIFormat(rawValue: rawFormat) else {
                throw ConfigError("providers.\(name).format must be openai or anthropic, got '\(rawFormat)'")
            }
            routes[name] = ProviderRoute(name: name, origin: origin, format: format)
        }
        providers = routes.values.sorted { $0.name < $1.name }
        defaultProvider = v.string("routing.default_provider", default: defaultProvider)
        guard routes[defaultProvider] != nil else { throw ConfigError("routing.default_provider '\(defaultProvider)' is not a configured provider") }
        allowedTargetURLs = v.list("routing.allowed_target_urls")
        for url in allowedTargetURLs where Origin(url) == nil {
            throw ConfigError("routing.allowed_target_urls: '\(url)' is not an http(s) origin")
        }
        connectTimeoutSeconds = try v.double("upstream.connect_timeout_seconds", default: connectTimeoutSeconds)
        stallTimeoutSeconds = try v.double("upstream.stall_timeout_seconds", default: stallTimeoutSeconds)
        maxConnectionsPerHost = try v.int("upstream.max_connections_per_host", default: maxConnectionsPerHost)
        bodyURLTTLSeconds = try v.int("bodies.url_ttl_seconds", default: bodyURLTTLSeconds)
        bodySigningKey = v.string("bodies.signing_key").flatMap { $0.isEmpty ? nil : $0 }
        pricingPath = v.string("pricing.path", default: pricingPath)
        allowedPrivateHosts = v.list("webhooks.allowed_private_hosts")
        guard (1...65535).contains(port) || port == 0 else { throw ConfigError("server.port must be 0...65535, got \(port)") }
        guard queueCapacity > 0, batchSize > 0 else { throw ConfigError("storage.queue_capacity and storage.batch_size must be positive") }
    }

    /// Whether `host` is a loopback address, the only kind allowed without gateway keys.
    public var bindsLoopbackOnly: Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }
}
