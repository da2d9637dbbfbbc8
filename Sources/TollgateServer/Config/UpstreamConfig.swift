/// How the gateway talks to providers.
///
/// Keys: `upstream.connect_timeout_seconds`, `upstream.stall_timeout_seconds`,
/// `upstream.max_connections_per_host`.
public struct UpstreamConfig: ConfigSection {
    public var connectTimeout: Duration
    /// Longest silence from upstream, before or between body bytes, before the call is cut.
    public var stallTimeout: Duration
    /// Pooled keep-alive connections per upstream.
    public var maxConnectionsPerHost: Int

    enum Key {
        static let connectTimeout = ConfigKey("upstream.connect_timeout_seconds", default: "10", "longest a connection to a provider may take to open")
        static let stallTimeout = ConfigKey(
            "upstream.stall_timeout_seconds", default: "300", "longest upstream silence before or between body bytes (504 or a cut stream)"
        )
        static let maxConnectionsPerHost = ConfigKey("upstream.max_connections_per_host", default: "512", "pooled keep-alive connections per upstream")
    }

    static let keys = [Key.connectTimeout, Key.stallTimeout, Key.maxConnectionsPerHost]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        connectTimeout = try v.seconds(Key.connectTimeout)
        stallTimeout = try v.seconds(Key.stallTimeout)
        maxConnectionsPerHost = try v.int(Key.maxConnectionsPerHost)
    }
}
