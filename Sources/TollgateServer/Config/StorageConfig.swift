/// Where records, webhooks and deliveries are kept, and how the recorder writes them.
///
/// Keys: `storage.path`, `storage.kind` (`sqlite` | `postgres`), `storage.postgres.url`,
/// `storage.postgres.schema`, `storage.postgres.timeout_seconds`, `storage.queue_capacity`,
/// `storage.batch_size`.
public struct StorageConfig: ConfigSection {
    /// The SQLite database, or a PostgreSQL server.
    public enum Kind: Sendable, Equatable {
        /// `tollgate.sqlite` under ``StorageConfig/path``.
        case sqlite
        case postgres(Postgres)
    }

    /// A PostgreSQL database (`storage.postgres.*`).
    public struct Postgres: Sendable, Equatable {
        /// `postgres://user:password@host:5432/database`.
        public var url: String
        /// The schema holding Tollgate's tables.
        public var schema: String
        /// Longest one statement or transaction may take, the wait for a connection included,
        /// before it counts as a failure of the database (and is retried where it matters).
        public var timeout: Duration

        public init(url: String, schema: String = "public", timeout: Duration = .seconds(10)) {
            self.url = url
            self.schema = schema
            self.timeout = timeout
        }
    }

    /// The data directory: the SQLite file, `admin.key`, `signing.key`.
    public var path: String
    public var kind: Kind
    /// Finished calls waiting to be written; when full, new records are dropped and counted.
    public var queueCapacity: Int
    /// Records written per transaction.
    public var batchSize: Int

    enum Key {
        static let path = ConfigKey("storage.path", default: "./tollgate-data", "SQLite file (`tollgate.sqlite`), `admin.key`, `signing.key`")
        static let kind = ConfigKey("storage.kind", default: "sqlite", "`sqlite` or `postgres`")
        static let postgresURL = ConfigKey("storage.postgres.url", "`postgres://user:password@host:5432/database` (with `storage.kind: postgres`)")
        static let postgresSchema = ConfigKey("storage.postgres.schema", default: "public", "the schema holding Tollgate's tables")
        static let postgresTimeout = ConfigKey(
            "storage.postgres.timeout_seconds", default: "10",
            "longest one statement may take, the wait for a connection included (raise it if stats over a large table take longer; migrations are not bounded)"
        )
        static let queueCapacity = ConfigKey(
            "storage.queue_capacity", default: "10000", "finished calls waiting to be written; when full, calls are not recorded (counted)"
        )
        static let batchSize = ConfigKey("storage.batch_size", default: "500", "records written per transaction")
    }

    static let keys = [Key.path, Key.kind, Key.postgresURL, Key.postgresSchema, Key.postgresTimeout, Key.queueCapacity, Key.batchSize]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        path = v.string(Key.path)
        let rawKind = v.string(Key.kind)
        let url = v.optional(Key.postgresURL)
        let schema = v.string(Key.postgresSchema)
        let timeout = try v.double(Key.postgresTimeout)
        guard timeout > 0 else { throw ConfigError("storage.postgres.timeout_seconds must be positive, got \(timeout)") }
        switch rawKind {
        case "sqlite": kind = .sqlite
        case "postgres":
            guard let url else { throw ConfigError("storage.kind is postgres but storage.postgres.url is not set") }
            kind = .postgres(Postgres(url: url, schema: schema, timeout: .seconds(timeout)))
        default: throw ConfigError("storage.kind must be sqlite or postgres, got '\(rawKind)'")
        }
        queueCapacity = try v.int(Key.queueCapacity)
        batchSize = try v.int(Key.batchSize)
        guard queueCapacity > 0, batchSize > 0 else { throw ConfigError("storage.queue_capacity and storage.batch_size must be positive") }
    }
}
