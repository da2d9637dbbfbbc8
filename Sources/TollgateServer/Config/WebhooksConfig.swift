import TollgateCore

/// How webhooks are delivered, and the webhooks declared in the file.
///
/// Keys: `webhooks.allowed_private_hosts`, `webhooks.timeout_seconds`, `webhooks.max_concurrency`,
/// `webhooks.max_per_destination`, `webhooks.retry_schedule_seconds`,
/// `webhooks.disable_after_hours`, `webhooks.lease_margin_seconds`,
/// `webhooks.registry_refresh_seconds`, `webhooks.key_rotation_grace_seconds`,
/// `webhooks.endpoints` (maps: `destination`, `project`, `sample_rate`, `include_data`,
/// `property_filters`, `key`; the file only).
public struct WebhooksConfig: ConfigSection {
    /// A webhook declared in the config file, created or updated at start.
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

    /// Hosts or CIDRs a webhook may target although private or loopback, and over http.
    public var allowedPrivateHosts: [String]
    /// Longest a receiver may take to answer one delivery attempt.
    public var timeout: Duration
    /// Attempts in flight in all.
    public var maxConcurrency: Int
    /// Attempts in flight per destination host.
    public var maxPerDestination: Int
    /// Delay before each retry (each with ±20% jitter); empty means the default schedule:
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    public var retrySchedule: [Duration]
    /// A webhook failing without a success for this long is disabled.
    public var disableAfter: Duration
    /// Added to the attempt timeout to make a delivery's lease: how long a claimed delivery of an
    /// instance that died waits before another instance takes it.
    public var leaseMargin: Duration
    /// How often each instance re-reads the webhook list (changes made through another instance
    /// apply to this one's calls within this time).
    public var registryRefresh: Duration
    /// How long the previous key keeps signing after a rotation.
    public var keyRotationGrace: Duration
    public var endpoints: [DeclaredWebhook]

    enum Key {
        static let allowedPrivateHosts = ConfigKey(
            "webhooks.allowed_private_hosts", "hosts or CIDRs webhooks may reach although private or loopback, also over http"
        )
        static let timeout = ConfigKey("webhooks.timeout_seconds", default: "120", "longest one delivery attempt may take")
        static let maxConcurrency = ConfigKey("webhooks.max_concurrency", default: "64", "attempts in flight in all")
        static let maxPerDestination = ConfigKey("webhooks.max_per_destination", default: "8", "attempts in flight per destination host")
        static let retrySchedule = ConfigKey(
            "webhooks.retry_schedule_seconds", shown: "5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h", "delays before each retry (each ±20% jitter)"
        )
        static let disableAfter = ConfigKey("webhooks.disable_after_hours", default: "120", "a webhook failing this long with no success is disabled")
        static let leaseMargin = ConfigKey(
            "webhooks.lease_margin_seconds", default: "60", "lease = timeout + this: when another instance takes over a dead one's deliveries"
        )
        static let registryRefresh = ConfigKey(
            "webhooks.registry_refresh_seconds", default: "5", "how soon a webhook change made on another instance applies here"
        )
        static let keyRotationGrace = ConfigKey(
            "webhooks.key_rotation_grace_seconds", default: "86400", "the old key keeps signing `webhook-signature` this long after a rotation"
        )
        static let endpoints = ConfigKey(
            "webhooks.endpoints", fromEnvironment: false,
            "webhooks created (or updated, matched by project and destination) at start: `destination`, `project`, `sample_rate`, `include_data`, `property_filters`, `key`"
        )
    }

    static let keys = [
        Key.allowedPrivateHosts, Key.timeout, Key.maxConcurrency, Key.maxPerDestination, Key.retrySchedule, Key.disableAfter,
        Key.leaseMargin, Key.registryRefresh, Key.keyRotationGrace, Key.endpoints,
    ]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        allowedPrivateHosts = v.list(Key.allowedPrivateHosts)
        timeout = try v.seconds(Key.timeout)
        maxConcurrency = try v.int(Key.maxConcurrency)
        maxPerDestination = try v.int(Key.maxPerDestination)
        guard timeout > .zero, maxConcurrency > 0, maxPerDestination > 0 else {
            throw ConfigError("webhooks.timeout_seconds, max_concurrency and max_per_destination must be positive")
        }
        retrySchedule = try v.list(Key.retrySchedule).map { raw in
            guard let seconds = Double(raw), seconds >= 0 else { throw ConfigError("webhooks.retry_schedule_seconds must be a list of seconds, got '\(raw)'") }
            return .seconds(seconds)
        }
        disableAfter = .seconds(try v.double(Key.disableAfter) * 3600)
        leaseMargin = try v.seconds(Key.leaseMargin)
        registryRefresh = try v.seconds(Key.registryRefresh)
        keyRotationGrace = .seconds(try v.int(Key.keyRotationGrace))
        endpoints = try v.records(Key.endpoints).enumerated().map { index, entry in
            let name = "webhooks.endpoints[\(index)]"
            guard let destination = entry["destination"], !destination.isEmpty else { throw ConfigError("\(name) needs a 'destination'") }
            guard let rate = Double(entry["sample_rate"] ?? "100"), (0...100).contains(rate) else { throw ConfigError("\(name).sample_rate must be 0...100") }
            var filters: [Property] = []
            for pair in ConfigValues.splitList(entry["property_filters"] ?? "") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else { throw ConfigError("\(name).property_filters must be name=value pairs, comma-separated") }
                filters.append(Property(name: parts[0], value: parts[1]))
            }
            return DeclaredWebhook(
                destination: destination, project: entry["project"] ?? "default", sampleRate: rate,
                includeData: (entry["include_data"] ?? "true").lowercased() != "false", propertyFilters: filters,
                key: entry["key"].flatMap { $0.isEmpty ? nil : $0 }
            )
        }
    }
}
