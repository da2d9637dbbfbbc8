/// How the gateway talks to providers.
///
/// Keys: `upstream.connect_timeout_seconds`, `upstream.stall_timeout_seconds`,
/// `upstream.max_connections_per_host`, `upstream.idle_timeout_seconds`, `upstream.ca_file`.
public struct UpstreamConfig: ConfigSection {
    public var connectTimeout: Duration
    /// Longest silence from upstream, before or between body bytes, before the call is cut.
    public var stallTimeout: Duration
    /// Pooled keep-alive connections per upstream (shared out over the event loops).
    public var maxConnectionsPerHost: Int
    /// A pooled connection unused this long is closed.
    public var idleTimeout: Duration
    /// PEM file of the certificate authorities trusted for https providers instead of the system's.
    public var caFile: String?

    enum Key {
        static let connectTimeout = ConfigKey("upstream.connect_timeout_seconds", default: "10", "longest a connection to a provider may take to open")
        static let stallTimeout = ConfigKey(
            "upstream.stall_timeout_seconds", default: "300", "longest upstream silence before or between body bytes (504 or a cut stream)"
        )
        static let maxConnectionsPerHost = ConfigKey(
            "upstream.max_connections_per_host", default: "512", "pooled keep-alive connections per upstream (shared out over the event loops)"
        )
        static let idleTimeout = ConfigKey("upstream.idle_timeout_seconds", default: "60", "a pooled upstream connection unused this long is closed")
        static let caFile = ConfigKey("upstream.ca_file", shown: "none: the system's roots", "PEM file of the certificate authorities trusted for https providers")
    }

    static let keys = [Key.connectTimeout, Key.stallTimeout, Key.maxConnectionsPerHost, Key.idleTimeout, Key.caFile]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        connectTimeout = try v.seconds(Key.connectTimeout)
        stallTimeout = try v.seconds(Key.stallTimeout)
        maxConnectionsPerHost = try v.int(Key.maxConnectionsPerHost)
        idleTimeout = try v.seconds(Key.idleTimeout)
        guard maxConnectionsPerHost > 0, idleTimeout > .zero else {
            throw ConfigError("upstream.max_connections_per_host and upstream.idle_timeout_seconds must be positive")
        }
        caFile = v.optional(Key.caFile)
    }
}
