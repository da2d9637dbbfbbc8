/// Who may read `/metrics`.
///
/// Keys: `metrics.require_admin_key`.
public struct MetricsConfig: ConfigSection {
    /// Whether `/metrics` needs the global admin key (`Authorization: Bearer`).
    public var requireAdminKey: Bool

    enum Key {
        static let requireAdminKey = ConfigKey("metrics.require_admin_key", default: "false", "`/metrics` only with the admin key")
    }

    static let keys = [Key.requireAdminKey]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        requireAdminKey = try v.bool(Key.requireAdminKey)
    }
}
