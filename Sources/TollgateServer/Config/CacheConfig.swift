/// The response cache (`Helicone-Cache-Enabled`): how much it may hold and how often it is swept.
///
/// Keys: `cache.max_bytes`, `cache.sweep_interval_seconds`, `cache.memory_bytes`.
public struct CacheConfig: ConfigSection {
    /// The most answer bytes the cache keeps; beyond it the oldest answers are evicted.
    public var maxBytes: Int64
    /// How often expired answers and those over `max_bytes` are deleted.
    public var sweepInterval: Duration
    /// Answer bytes each instance keeps in memory to serve hits without the store (0: none).
    public var memoryBytes: Int

    enum Key {
        static let maxBytes = ConfigKey("cache.max_bytes", default: "268435456", shown: "256 MiB", "most answer bytes the response cache keeps; the oldest answers are evicted beyond it")
        static let sweepInterval = ConfigKey("cache.sweep_interval_seconds", default: "60", "how often expired answers, and the oldest beyond `cache.max_bytes`, are deleted")
        static let memoryBytes = ConfigKey("cache.memory_bytes", default: "33554432", shown: "32 MiB", "answer bytes each instance keeps in memory (for 30 s) to serve hits without asking the database; 0: every hit asks it")
    }

    static let keys = [Key.maxBytes, Key.sweepInterval, Key.memoryBytes]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        let bytes = try v.double(Key.maxBytes)
        let seconds = try v.double(Key.sweepInterval)
        let memory = try v.double(Key.memoryBytes)
        guard bytes >= 0, bytes == bytes.rounded(), memory >= 0, memory == memory.rounded(), memory < 1e15, seconds > 0 else {
            throw ConfigError("cache.max_bytes and cache.memory_bytes must be whole numbers of bytes (0 or more) and cache.sweep_interval_seconds positive")
        }
        maxBytes = Int64(bytes)
        memoryBytes = Int(memory)
        sweepInterval = .seconds(seconds)
    }
}
