/// What the background sweep deletes, and how often it runs.
///
/// Keys: `retention.records_days`, `retention.delivery_logs_days`, `retention.interval_seconds`.
public struct RetentionConfig: ConfigSection {
    /// Records and bodies older than this are deleted; nil keeps them (`records_days: 0`).
    public var recordsMaxAge: Duration?
    /// Finished deliveries and their attempt logs older than this are deleted; nil keeps them.
    public var deliveryLogsMaxAge: Duration?
    /// How often the sweep runs.
    public var interval: Duration

    enum Key {
        static let recordsDays = ConfigKey(
            "retention.records_days", default: "0", shown: "0 (keep)", "records and bodies older than this many days are deleted (fractions allowed)"
        )
        static let deliveryLogsDays = ConfigKey(
            "retention.delivery_logs_days", default: "0", shown: "0 (keep)", "finished deliveries and their attempt logs older than this many days are deleted"
        )
        static let interval = ConfigKey("retention.interval_seconds", default: "600", "how often the background sweep runs")
    }

    static let keys = [Key.recordsDays, Key.deliveryLogsDays, Key.interval]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        let recordsDays = try v.double(Key.recordsDays)
        let deliveryLogsDays = try v.double(Key.deliveryLogsDays)
        let intervalSeconds = try v.double(Key.interval)
        guard recordsDays >= 0, deliveryLogsDays >= 0, intervalSeconds > 0 else {
            throw ConfigError("retention.records_days and delivery_logs_days must be 0 or more, interval_seconds positive")
        }
        recordsMaxAge = recordsDays > 0 ? .seconds(recordsDays * 86_400) : nil
        deliveryLogsMaxAge = deliveryLogsDays > 0 ? .seconds(deliveryLogsDays * 86_400) : nil
        interval = .seconds(intervalSeconds)
    }
}
