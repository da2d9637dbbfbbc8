import TollgateCore

/// Where request and response bodies live and how long their links work.
///
/// Keys: `bodies.url_ttl_seconds`, `bodies.signing_key`, `bodies.max_kept_bytes`, `bodies.kind`
/// (`database` | `s3`), `bodies.s3.endpoint`, `bodies.s3.bucket`, `bodies.s3.region`,
/// `bodies.s3.path_style`, `bodies.s3.access_key_id`, `bodies.s3.secret_access_key`,
/// `bodies.s3.session_token` (the last four also from the usual `AWS_*` variables).
public struct BodiesConfig: ConfigSection {
    /// Beside the records, or in an S3-compatible bucket (links are then presigned S3 URLs).
    public enum Kind: Sendable, Equatable {
        case database
        case s3(S3)
    }

    /// An S3-compatible bucket (`bodies.s3.*`).
    public struct S3: Sendable, Equatable {
        public var endpoint: Origin
        public var bucket: String
        public var region: String
        public var credentials: AWSCredentials
        /// `endpoint/bucket/key` (MinIO, moto, most self-hosted) rather than `bucket.endpoint/key`.
        public var pathStyle: Bool

        public init(endpoint: Origin, bucket: String, region: String = "us-east-1", credentials: AWSCredentials, pathStyle: Bool = true) {
            self.endpoint = endpoint
            self.bucket = bucket
            self.region = region
            self.credentials = credentials
            self.pathStyle = pathStyle
        }
    }

    /// How long a `request_response_url` works.
    public var urlTTL: Duration
    /// The key signing body URLs; nil: generated and kept under `storage.path`.
    public var signingKey: String?
    /// Most of one answer kept in memory for the recorder and stored; beyond it the start and the
    /// last 64 KiB are kept and the record says `response_truncated`.
    public var maxKeptBytes: Int
    public var kind: Kind

    enum Key {
        static let urlTTL = ConfigKey("bodies.url_ttl_seconds", default: "1800", "how long a `request_response_url` works")
        static let signingKey = ConfigKey("bodies.signing_key", shown: "generated", "signs body URLs; generated and stored in `storage.path/signing.key`")
        static let maxKeptBytes = ConfigKey(
            "bodies.max_kept_bytes", default: "4194304",
            "4 MiB of one answer kept in memory and stored; beyond it, its start and last 64 KiB (`response_truncated: true`)"
        )
        static let kind = ConfigKey("bodies.kind", default: "database", "`database` or `s3` (then `request_response_url` is a presigned S3 URL)")
        static let endpoint = ConfigKey("bodies.s3.endpoint", "e.g. `https://s3.us-east-1.amazonaws.com` or `http://minio.internal:9000`")
        static let bucket = ConfigKey("bodies.s3.bucket", "the bucket bodies are written to")
        static let region = ConfigKey("bodies.s3.region", default: "us-east-1", fallbacks: ["AWS_REGION", "AWS_DEFAULT_REGION"], "the bucket's region")
        static let pathStyle = ConfigKey("bodies.s3.path_style", default: "true", "`endpoint/bucket/key`; false for `bucket.endpoint/key`")
        static let accessKeyID = ConfigKey("bodies.s3.access_key_id", fallbacks: ["AWS_ACCESS_KEY_ID"], "S3 credentials")
        static let secretAccessKey = ConfigKey("bodies.s3.secret_access_key", fallbacks: ["AWS_SECRET_ACCESS_KEY"], "S3 credentials")
        static let sessionToken = ConfigKey("bodies.s3.session_token", fallbacks: ["AWS_SESSION_TOKEN"], "S3 credentials, when temporary")
    }

    static let keys = [
        Key.urlTTL, Key.signingKey, Key.maxKeptBytes, Key.kind, Key.endpoint, Key.bucket, Key.region, Key.pathStyle,
        Key.accessKeyID, Key.secretAccessKey, Key.sessionToken,
    ]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        urlTTL = .seconds(try v.int(Key.urlTTL))
        signingKey = v.optional(Key.signingKey)
        maxKeptBytes = try v.int(Key.maxKeptBytes)
        guard maxKeptBytes >= 256 * 1024 else { throw ConfigError("bodies.max_kept_bytes must be at least 262144, got \(maxKeptBytes)") }
        let rawKind = v.string(Key.kind)
        let region = v.optional(Key.region) ?? Key.region.defaultValue
        let pathStyle = try v.bool(Key.pathStyle)
        switch rawKind {
        case "database": kind = .database
        case "s3":
            guard let endpoint = v.optional(Key.endpoint).flatMap(Origin.init) else {
                throw ConfigError("bodies.kind is s3: bodies.s3.endpoint must be an http(s) URL, e.g. https://s3.us-east-1.amazonaws.com")
            }
            guard let bucket = v.optional(Key.bucket) else { throw ConfigError("bodies.kind is s3 but bodies.s3.bucket is not set") }
            guard let accessKeyID = v.optional(Key.accessKeyID), let secret = v.optional(Key.secretAccessKey) else {
                throw ConfigError("bodies.kind is s3 but no credentials: set bodies.s3.access_key_id and secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
            let credentials = AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: v.optional(Key.sessionToken))
            kind = .s3(S3(endpoint: endpoint, bucket: bucket, region: region, credentials: credentials, pathStyle: pathStyle))
        default: throw ConfigError("bodies.kind must be database or s3, got '\(rawKind)'")
        }
    }
}
