/// The live view of calls as they arrive (`GET /v1/requests/live`, the dashboard's Live page).
///
/// Keys: `live.max_subscribers`, `live.buffer_events`.
public struct LiveConfig: ConfigSection {
    /// Streams open at once, over every admin key and dashboard tab; 0 turns the live view off.
    public var maxSubscribers: Int
    /// Calls waiting to be written to one stream; beyond it the oldest are skipped (and counted).
    public var bufferEvents: Int

    enum Key {
        static let maxSubscribers = ConfigKey(
            "live.max_subscribers", default: "32",
            "live streams (`GET /v1/requests/live`, dashboard Live tabs) open at once; more get 503; 0 turns the live view off"
        )
        static let bufferEvents = ConfigKey(
            "live.buffer_events", default: "1024",
            "calls waiting to be sent to one live stream; a stream further behind skips the oldest and is told how many"
        )
    }

    static let keys = [Key.maxSubscribers, Key.bufferEvents]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        maxSubscribers = try v.int(Key.maxSubscribers)
        bufferEvents = try v.int(Key.bufferEvents)
        guard maxSubscribers >= 0 else { throw ConfigError("live.max_subscribers must be 0 or more, got \(maxSubscribers)") }
        guard bufferEvents > 0 else { throw ConfigError("live.buffer_events must be positive, got \(bufferEvents)") }
    }
}
