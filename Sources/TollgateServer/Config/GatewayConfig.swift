import Foundation
import TollgateCore

/// Everything the gateway reads from `conf/tollgate.yaml` (or `--config`) and `TOLLGATE_*`
/// environment variables. The defaults here are the documented defaults in `conf/tollgate.yaml`.
///
/// Keys: `server.host`, `server.port`, `server.public_url`, `server.max_body_bytes`,
/// `server.max_header_bytes`, `server.header_timeout_seconds`, `server.idle_timeout_seconds`,
/// `metrics.require_admin_key`, `bodies.max_kept_bytes`,
/// `storage.path`, `storage.kind`, `storage.postgres.url`, `storage.postgres.schema`, `storage.postgres.timeout_seconds`,
/// `storage.queue_capacity`, `storage.batch_size`, `admin.key`, `auth.gateway_keys` (strings, or maps with `key` and `project`), `providers.<name>.base_url`,
/// `providers.<name>.format`, `routing.default_provider`, `routing.allowed_target_urls`,
/// `upstream.connect_timeout_seconds`, `upstream.stall_timeout_seconds`,
/// `upstream.max_connections_per_host`, `bodies.url_ttl_seconds`, `bodies.signing_key`,
/// `pricing.path` (a newer copy of LiteLLM's price map, or a YAML list of prices),
/// `pricing.overrides` (list of maps: `model`, `provider`, USD per million tokens; see
/// ``PriceOverride``), `webhooks.allowed_private_hosts`.
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
    /// Largest request head (request line and headers) forwarded upstream; 431 above it. At most
    /// 60 KiB, so a head always fits the upstream connection's 64 KiB write buffer.
    public var maxHeaderBytes = 32 * 1024
    /// Longest a client may take to send a request head once it has started one.
    public var headerTimeoutSeconds = 10.0
    /// Longest a keep-alive connection may sit with no request before it is closed.
    public var idleTimeoutSeconds = 60.0
    /// Whether `/metrics` needs the admin key (`Authorization: Bearer`).
    public var metricsRequireAdminKey = false
    /// Most of one answer kept in memory for the recorder and stored; beyond it the start and the
    /// last 64 KiB are kept and the record says `response_truncated`.
    public var maxKeptResponseBytes = 4 * 1024 * 1024
    public var storagePath = "./tollgate-data"
    /// `sqlite` (a file under `storage.path`) or `postgres` (`storage.postgres.url`).
    public var storageKind = "sqlite"
    public var postgresURL: String?
    /// The PostgreSQL schema holding Tollgate's tables.
    public var postgresSchema = "public"
    /// Longest one PostgreSQL statement or transaction may take, the wait for a connection
    /// included, before it counts as a failure of the database (and is retried where it matters).
    public var postgresTimeoutSeconds = 10.0
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
    /// A pooled upstream connection unused this long is closed.
    public var upstreamIdleTimeoutSeconds = 60.0
    /// PEM file of the certificate authorities trusted for upstream TLS, instead of the system's.
    public var upstreamCAFile: String?
    public var bodyURLTTLSeconds = 1800
    /// `database` (beside the records) or `s3` (an S3-compatible bucket, presigned URLs).
    public var bodiesKind = "database"
    public var s3Endpoint: String?
    public var s3Bucket: String?
    public var s3Region = "us-east-1"
    public var s3AccessKeyID: String?
    public var s3SecretAccessKey: String?
    public var s3SessionToken: String?
    public var s3PathStyle = true
    public var bodySigningKey: String?
    /// A price file read over the embedded snapshot: LiteLLM's JSON map (entries replace the
    /// snapshot's of the same name) or a YAML `models:` list of prices. Nil: the snapshot alone.
    public var pricingPath: String?
    /// `pricing.overrides`: prices that add or correct models for this deployment.
    public var pricingOverrides: [PriceOverride] = []
    public var allowedPrivateHosts: [String] = []
    /// Keys that see and manage one project only (`admin.project_keys`: maps with `key` and `project`).
    public var adminProjectKeys: [GatewayKey] = []
    /// Longest a receiver may take to answer one delivery attempt.
    public var webhookTimeoutSeconds = 120.0
    public var webhookMaxConcurrency = 64
    public var webhookMaxPerDestination = 8
    /// A webhook failing without a success for this long is disabled.
    public var webhookDisableAfterHours = 120.0
    /// Added to the attempt timeout to make a delivery's lease: how long a claimed delivery of an
    /// instance that died waits before another instance takes it.
    public var webhookLeaseMarginSeconds = 60.0
    /// How often each instance re-reads the webhook list (changes made through another instance
    /// apply to this one's calls within this time).
    public var webhookRegistryRefreshSeconds = 5.0
    /// How long the previous key keeps signing after a rotation.
    public var webhookKeyRotationGraceSeconds = 86_400
    /// Delay before each retry, in seconds (each with ±20% jitter); empty means the default
    /// schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    public var webhookRetryScheduleSeconds: [Double] = []
    /// Webhooks declared in the file (`webhooks.endpoints`), created or updated at start.
    public var webhookEndpoints: [DeclaredWebhook] = []

    /// Records and bodies older than this many days are deleted in the background; 0 keeps them.
    public var retentionRecordsDays = 0.0
    /// Finished deliveries and their attempt logs older than this many days are deleted; 0 keeps them.
    public var retentionDeliveryLogsDays = 0.0
    public var retentionIntervalSeconds = 600.0

    /// A webhook declared in the config file.
    public struct DeclaredWebhook: Sendable, Equatable {
        public var destination: String
        public var project: String
        public var sampleRate: Double
        public var includeData: Bool
        /// `name=value` pairs; all must hold.
        public var propertyFilters: [Property]
        /// The signing key; generated (and printed once) when absent.
        public var key: String?

        public init(destination: String, project: String, sampleRate: Double, includeData: Bool, propertyFilters: [Property], key: String?) {
            self.destination = destination
            self.project = project
            self.sampleRate = sampleRate
            self.includeData = includeData
            self.propertyFilters = propertyFilters
            self.key = key
        }
    }

    public init() {}

    /// The keys that environment variables may set even when the file does not mention them.
    static let knownKeys = [
        "server.host", "server.port", "server.public_url", "server.max_body_bytes", "server.max_header_bytes",
        "server.header_timeout_seconds", "server.idle_timeout_seconds", "metrics.require_admin_key", "bodies.max_kept_bytes",
        "storage.path", "storage.kind", "storage.postgres.url", "storage.postgres.schema", "storage.postgres.timeout_seconds", "storage.queue_capacity", "storage.batch_size", "admin.key",
        "auth.gateway_keys", "routing.default_provider", "routing.allowed_target_urls",
        "upstream.connect_timeout_seconds", "upstream.stall_timeout_seconds",
        "upstream.max_connections_per_host", "bodies.url_ttl_seconds", "bodies.signing_key", "bodies.kind", "bodies.s3.endpoint", "bodies.s3.bucket",
        "bodies.s3.region", "bodies.s3.access_key_id", "bodies.s3.secret_access_key", "bodies.s3.session_token", "bodies.s3.path_style",
        "pricing.path", "webhooks.allowed_private_hosts", "admin.project_keys", "webhooks.timeout_seconds",
        "webhooks.max_concurrency", "webhooks.max_per_destination", "webhooks.disable_after_hours",
        "webhooks.key_rotation_grace_seconds", "webhooks.retry_schedule_seconds", "webhooks.lease_margin_seconds",
        "webhooks.registry_refresh_seconds", "retention.records_days", "retention.delivery_logs_days",
        "retention.interval_seconds",
        "providers.openai.base_url", "providers.openai.format",
        "providers.anthropic.base_url", "providers.anthropic.format",
    ]

    /// Reads the config file at `path` (or only the defaults when nil) and then the environment.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayConfig {
        var environment = environment
        // The usual AWS variables stand in for the S3 settings they name.
        for (aws, key) in [("AWS_ACCESS_KEY_ID", "bodies.s3.access_key_id"), ("AWS_SECRET_ACCESS_KEY", "bodies.s3.secret_access_key"),
                           ("AWS_SESSION_TOKEN", "bodies.s3.session_token"), ("AWS_REGION", "bodies.s3.region"), ("AWS_DEFAULT_REGION", "bodies.s3.region")] {
            let name = ConfigValues.environmentName(for: key)
            if environment[name] == nil, let value = environment[aws] { environment[name] = value }
        }
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
        maxHeaderBytes = try v.int("server.max_header_bytes", default: maxHeaderBytes)
        guard (1024...60 * 1024).contains(maxHeaderBytes) else {
            throw ConfigError("server.max_header_bytes must be 1024...61440 (a forwarded head must fit the upstream connection's 64 KiB write buffer), got \(maxHeaderBytes)")
        }
        headerTimeoutSeconds = try v.double("server.header_timeout_seconds", default: headerTimeoutSeconds)
        idleTimeoutSeconds = try v.double("server.idle_timeout_seconds", default: idleTimeoutSeconds)
        guard headerTimeoutSeconds > 0, idleTimeoutSeconds > 0 else { throw ConfigError("server.header_timeout_seconds and idle_timeout_seconds must be positive") }
        metricsRequireAdminKey = try v.bool("metrics.require_admin_key", default: metricsRequireAdminKey)
        maxKeptResponseBytes = try v.int("bodies.max_kept_bytes", default: maxKeptResponseBytes)
        guard maxKeptResponseBytes >= 256 * 1024 else { throw ConfigError("bodies.max_kept_bytes must be at least 262144, got \(maxKeptResponseBytes)") }
        storagePath = v.string("storage.path", default: storagePath)
        storageKind = v.string("storage.kind", default: storageKind)
        postgresURL = v.string("storage.postgres.url").flatMap { $0.isEmpty ? nil : $0 }
        postgresSchema = v.string("storage.postgres.schema", default: postgresSchema)
        postgresTimeoutSeconds = try v.double("storage.postgres.timeout_seconds", default: postgresTimeoutSeconds)
        guard postgresTimeoutSeconds > 0 else { throw ConfigError("storage.postgres.timeout_seconds must be positive, got \(postgresTimeoutSeconds)") }
        switch storageKind {
        case "sqlite": break
        case "postgres": guard postgresURL != nil else { throw ConfigError("storage.kind is postgres but storage.postgres.url is not set") }
        default: throw ConfigError("storage.kind must be sqlite or postgres, got '\(storageKind)'")
        }
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
        upstreamIdleTimeoutSeconds = try v.double("upstream.idle_timeout_seconds", default: upstreamIdleTimeoutSeconds)
        guard maxConnectionsPerHost > 0, upstreamIdleTimeoutSeconds > 0 else {
            throw ConfigError("upstream.max_connections_per_host and upstream.idle_timeout_seconds must be positive")
        }
        upstreamCAFile = v.string("upstream.ca_file").flatMap { $0.isEmpty ? nil : $0 }
        bodyURLTTLSeconds = try v.int("bodies.url_ttl_seconds", default: bodyURLTTLSeconds)
        bodySigningKey = v.string("bodies.signing_key").flatMap { $0.isEmpty ? nil : $0 }
        bodiesKind = v.string("bodies.kind", default: bodiesKind)
        func optional(_ key: String) -> String? { v.string(key).flatMap { $0.isEmpty ? nil : $0 } }
        s3Endpoint = optional("bodies.s3.endpoint")
        s3Bucket = optional("bodies.s3.bucket")
        s3Region = optional("bodies.s3.region") ?? s3Region
        s3AccessKeyID = optional("bodies.s3.access_key_id")
        s3SecretAccessKey = optional("bodies.s3.secret_access_key")
        s3SessionToken = optional("bodies.s3.session_token")
        s3PathStyle = try v.bool("bodies.s3.path_style", default: s3PathStyle)
        switch bodiesKind {
        case "database": break
        case "s3":
            guard let endpoint = s3Endpoint, Origin(endpoint) != nil else { throw ConfigError("bodies.kind is s3: bodies.s3.endpoint must be an http(s) URL, e.g. https://s3.us-east-1.amazonaws.com") }
            guard s3Bucket != nil else { throw ConfigError("bodies.kind is s3 but bodies.s3.bucket is not set") }
            guard s3AccessKeyID != nil, s3SecretAccessKey != nil else {
                throw ConfigError("bodies.kind is s3 but no credentials: set bodies.s3.access_key_id and secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
        default: throw ConfigError("bodies.kind must be database or s3, got '\(bodiesKind)'")
        }
        pricingPath = v.string("pricing.path").flatMap { $0.isEmpty ? nil : $0 }
        do {
            pricingOverrides = try v.records("pricing.overrides").map(PriceOverride.init(fields:))
        } catch let error as PricingTable.LoadError {
            throw ConfigError(error.message)
        }
        allowedPrivateHosts = v.list("webhooks.allowed_private_hosts")
        for entry in v.records("admin.project_keys") {
            guard let key = entry["key"], !key.isEmpty, let project = entry["project"], !project.isEmpty else {
                throw ConfigError("admin.project_keys entries need a 'key' and a 'project'")
            }
            adminProjectKeys.append(GatewayKey(key: key, project: project))
        }
        webhookTimeoutSeconds = try v.double("webhooks.timeout_seconds", default: webhookTimeoutSeconds)
        webhookMaxConcurrency = try v.int("webhooks.max_concurrency", default: webhookMaxConcurrency)
        webhookMaxPerDestination = try v.int("webhooks.max_per_destination", default: webhookMaxPerDestination)
        webhookDisableAfterHours = try v.double("webhooks.disable_after_hours", default: webhookDisableAfterHours)
        retentionRecordsDays = try v.double("retention.records_days", default: retentionRecordsDays)
        retentionDeliveryLogsDays = try v.double("retention.delivery_logs_days", default: retentionDeliveryLogsDays)
        retentionIntervalSeconds = try v.double("retention.interval_seconds", default: retentionIntervalSeconds)
        guard retentionRecordsDays >= 0, retentionDeliveryLogsDays >= 0, retentionIntervalSeconds > 0 else {
            throw ConfigError("retention.records_days and delivery_logs_days must be 0 or more, interval_seconds positive")
        }
        webhookLeaseMarginSeconds = try v.double("webhooks.lease_margin_seconds", default: webhookLeaseMarginSeconds)
        webhookRegistryRefreshSeconds = try v.double("webhooks.registry_refresh_seconds", default: webhookRegistryRefreshSeconds)
        webhookKeyRotationGraceSeconds = try v.int("webhooks.key_rotation_grace_seconds", default: webhookKeyRotationGraceSeconds)
        webhookRetryScheduleSeconds = try v.list("webhooks.retry_schedule_seconds").map { raw in
            guard let seconds = Double(raw), seconds >= 0 else { throw ConfigError("webhooks.retry_schedule_seconds must be a list of seconds, got '\(raw)'") }
            return seconds
        }
        for (index, entry) in v.records("webhooks.endpoints").enumerated() {
            let name = "webhooks.endpoints[\(index)]"
            guard let destination = entry["destination"], !destination.isEmpty else { throw ConfigError("\(name) needs a 'destination'") }
            guard let rate = Double(entry["sample_rate"] ?? "100"), (0...100).contains(rate) else { throw ConfigError("\(name).sample_rate must be 0...100") }
            var filters: [Property] = []
            for pair in ConfigValues.splitList(entry["property_filters"] ?? "") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else { throw ConfigError("\(name).property_filters must be name=value pairs, comma-separated") }
                filters.append(Property(name: parts[0], value: parts[1]))
            }
            webhookEndpoints.append(DeclaredWebhook(
                destination: destination, project: entry["project"] ?? "default", sampleRate: rate,
                includeData: (entry["include_data"] ?? "true").lowercased() != "false", propertyFilters: filters,
                key: entry["key"].flatMap { $0.isEmpty ? nil : $0 }
            ))
        }
        guard webhookTimeoutSeconds > 0, webhookMaxConcurrency > 0, webhookMaxPerDestination > 0 else {
            throw ConfigError("webhooks.timeout_seconds, max_concurrency and max_per_destination must be positive")
        }
        guard (1...65535).contains(port) || port == 0 else { throw ConfigError("server.port must be 0...65535, got \(port)") }
        guard queueCapacity > 0, batchSize > 0 else { throw ConfigError("storage.queue_capacity and storage.batch_size must be positive") }
    }

    /// Whether `host` is a loopback address, the only kind allowed without gateway keys.
    public var bindsLoopbackOnly: Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }
}
