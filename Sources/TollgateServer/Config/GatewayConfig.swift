import Foundation

/// Everything the gateway reads from `conf/tollgate.yaml` (or `--config`) and `TOLLGATE_*`
/// environment variables, one value per section of the file. ``keys`` lists every key with its
/// environment variable, default and meaning; the README's configuration table is that list.
public struct GatewayConfig: Sendable, Equatable {
    public var server = ServerConfig()
    public var storage = StorageConfig()
    public var metrics = MetricsConfig()
    public var live = LiveConfig()
    public var admin = AdminConfig()
    public var auth = AuthConfig()
    /// `providers.*` and `routing.*`.
    public var routing = RoutingConfig()
    public var upstream = UpstreamConfig()
    public var bodies = BodiesConfig()
    public var pricing = PricingConfig()
    public var retention = RetentionConfig()
    public var cache = CacheConfig()
    public var webhooks = WebhooksConfig()

    /// The built-in defaults: exactly the values documented in `conf/tollgate.yaml`.
    public init() {}

    /// Every key, section by section, in the order of `conf/tollgate.yaml`.
    public static let keys: [ConfigKey] =
        ServerConfig.keys + StorageConfig.keys + MetricsConfig.keys + LiveConfig.keys + AdminConfig.keys + AuthConfig.keys + RoutingConfig.keys
        + UpstreamConfig.keys + BodiesConfig.keys + PricingConfig.keys + RetentionConfig.keys + CacheConfig.keys + WebhooksConfig.keys

    /// Reads the config file at `path` (or only the defaults when nil) and then the environment.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayConfig {
        var values = ConfigValues()
        if let path {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigError("cannot read config file \(path)")
            }
            values = try ConfigValues(yaml: text, source: path)
        }
        values.applyEnvironment(environment, keys: keys)
        return try GatewayConfig(values)
    }

    init(_ v: ConfigValues) throws {
        server = try ServerConfig(v)
        storage = try StorageConfig(v)
        metrics = try MetricsConfig(v)
        live = try LiveConfig(v)
        admin = try AdminConfig(v)
        auth = try AuthConfig(v)
        routing = try RoutingConfig(v)
        upstream = try UpstreamConfig(v)
        bodies = try BodiesConfig(v)
        pricing = try PricingConfig(v)
        retention = try RetentionConfig(v)
        cache = try CacheConfig(v)
        webhooks = try WebhooksConfig(v)
    }
}
