/// Where the gateway listens and what it accepts from a client.
///
/// Keys: `server.host`, `server.port`, `server.public_url`, `server.max_body_bytes`,
/// `server.max_header_bytes`, `server.header_timeout_seconds`, `server.idle_timeout_seconds`.
public struct ServerConfig: ConfigSection {
    public var host: String
    /// 0 picks a free port.
    public var port: Int
    /// Base of the absolute URLs the gateway hands out; nil means `http://host:port`.
    public var publicURL: String?
    /// Largest request body accepted (413 above it).
    public var maxBodyBytes: Int
    /// Largest request head (request line and headers) forwarded upstream; 431 above it. At most
    /// 60 KiB, so a head always fits the upstream connection's 64 KiB write buffer.
    public var maxHeaderBytes: Int
    /// Longest a client may take to send a request head once it has started one.
    public var headerTimeout: Duration
    /// Longest a keep-alive connection may sit with no request before it is closed.
    public var idleTimeout: Duration

    enum Key {
        static let host = ConfigKey("server.host", default: "127.0.0.1", "without `auth.gateway_keys` only loopback is allowed")
        static let port = ConfigKey("server.port", default: "8787", "0 picks a free port")
        static let publicURL = ConfigKey("server.public_url", shown: "`http://host:port`", "base of `request_response_url`")
        static let maxBodyBytes = ConfigKey("server.max_body_bytes", default: "33554432", "32 MiB; larger request bodies get 413")
        static let maxHeaderBytes = ConfigKey(
            "server.max_header_bytes", default: "32768", "request line and headers forwarded upstream; larger gets 431 (at most 61440)"
        )
        static let headerTimeout = ConfigKey(
            "server.header_timeout_seconds", default: "10", "a started request head must be complete within this, or the connection is closed"
        )
        static let idleTimeout = ConfigKey(
            "server.idle_timeout_seconds", default: "60", "a keep-alive connection with no request in progress is closed after this"
        )
    }

    static let keys = [Key.host, Key.port, Key.publicURL, Key.maxBodyBytes, Key.maxHeaderBytes, Key.headerTimeout, Key.idleTimeout]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        host = v.string(Key.host)
        port = try v.int(Key.port)
        guard (1...65535).contains(port) || port == 0 else { throw ConfigError("server.port must be 0...65535, got \(port)") }
        publicURL = v.optional(Key.publicURL)
        maxBodyBytes = try v.int(Key.maxBodyBytes)
        maxHeaderBytes = try v.int(Key.maxHeaderBytes)
        guard (1024...60 * 1024).contains(maxHeaderBytes) else {
            throw ConfigError("server.max_header_bytes must be 1024...61440 (a forwarded head must fit the upstream connection's 64 KiB write buffer), got \(maxHeaderBytes)")
        }
        headerTimeout = try v.seconds(Key.headerTimeout)
        idleTimeout = try v.seconds(Key.idleTimeout)
        guard headerTimeout > .zero, idleTimeout > .zero else { throw ConfigError("server.header_timeout_seconds and idle_timeout_seconds must be positive") }
    }

    /// Whether `host` is a loopback address, the only kind allowed without gateway keys.
    public var bindsLoopbackOnly: Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }
}
