/// The response cache (`Helicone-Cache-Enabled`): how much it may hold and how often it is swept.
///
/// Keys: `cache.max_bytes`, `cache.sweep_interval_seconds`.
public struct CacheConfig: ConfigSection {
    /// The most answer bytes the cache keeps; beyond it the oldest answers are evicted.
    public var maxBytes: Int64
    /// How often expired answers and those over `max_bytes` are deleted.
    public var sweepInterval: Duration

    enum Key {
        static let maxBytes = ConfigKey("cache.max_bytes", default: "268435456", shown: "256 MiB", "most answer bytes the response cache keeps; the oldest answers are evicted beyond it")
        static let sweepInterval = ConfigKey("cache.sweep_interval_seconds", default: "60", "how often expired answers, and the oldest beyond `cache.max_bytes`, are deleted")
    }

    static let keys = [Key.maxBytes, Key.sweepInterval]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        let bytes = try v.double(Key.maxBytes)
        let seconds = try v.double(Key.sweepInterval)
        guard bytes >= 0, bytes == bytes.rounded(), seconds > 0 else {
            throw ConfigError("cache.max_bytes must be a whole number of bytes (0 or more) and cache.sweep_interval_seconds positive")
        }
        maxBytes = Int64(bytes)
        sweepInterval = .seconds(seconds)
    }
}
