/// The tables both stores use, in SQL that SQLite and PostgreSQL both accept once blobs are
/// `BYTEA` and integers `BIGINT` there (see ``StoreSchema/postgres(_:)``). Times are integer
/// microseconds since 1970; ids are lowercase UUID text.
enum StoreSchema {
    /// Applied in order, each once; names are recorded by each store's migrator.
    static let migrations: [(name: String, sql: String)] = [
        ("v1-records", recordSchema),
        ("v2-webhooks", webhookSchema),
        ("v3-scores", scoreSchema),
        ("v4-response-truncated", "ALTER TABLE requests ADD COLUMN response_truncated BOOLEAN NOT NULL DEFAULT FALSE"),
        ("v5-latency-shares", """
            ALTER TABLE requests ADD COLUMN upstream_latency_ms DOUBLE PRECISION;
            ALTER TABLE requests ADD COLUMN overhead_ms DOUBLE PRECISION;
            ALTER TABLE requests ADD COLUMN cache_hit BOOLEAN NOT NULL DEFAULT FALSE
            """),
        ("v6-analytics", analyticsSchema),
    ]

    /// The PostgreSQL spelling of a migration.
    static func postgres(_ sql: String) -> String {
        sql.replacingOccurrences(of: " BLOB", with: " BYTEA").replacingOccurrences(of: " INTEGER", with: " BIGINT")
    }

    static let recordSchema = """
        CREATE TABLE requests (
            id TEXT PRIMARY KEY,
            project TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT,
            status INTEGER NOT NULL,
            stream BOOLEAN NOT NULL,
            user_id TEXT,
            properties TEXT NOT NULL,
            session_id TEXT,
            session_path TEXT,
            session_name TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            total_tokens INTEGER,
            cache_read_tokens INTEGER,
            cache_write_tokens INTEGER,
            reasoning_tokens INTEGER,
            cost_usd DOUBLE PRECISION,
            latency_ms DOUBLE PRECISION NOT NULL,
            time_to_first_token_ms DOUBLE PRECISION,
            request_bytes INTEGER NOT NULL,
            response_bytes INTEGER NOT NULL,
            error TEXT
        );
        CREATE INDEX requests_project_created ON requests (project, created_at DESC, id DESC);
        CREATE INDEX requests_created ON requests (created_at DESC, id DESC);
        CREATE INDEX requests_user ON requests (user_id, created_at DESC);
        CREATE INDEX requests_model ON requests (model, created_at DESC);
        CREATE TABLE request_properties (
            request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (request_id, name)
        );
        CREATE INDEX request_properties_name_value ON request_properties (name, value);
        CREATE TABLE bodies (
            request_id TEXT PRIMARY KEY REFERENCES requests(id) ON DELETE CASCADE,
            request BLOB,
            response BLOB,
            response_reconstructed BLOB
        );
        """

    static let webhookSchema = """
        CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            project TEXT NOT NULL,
            destination TEXT NOT NULL,
            sample_rate DOUBLE PRECISION NOT NULL,
            include_data BOOLEAN NOT NULL,
            property_filters TEXT NOT NULL,
            hmac_key TEXT NOT NULL,
            previous_key TEXT,
            previous_key_expires_at BIGINT,
            enabled BOOLEAN NOT NULL,
            disabled_reason TEXT,
            failing_since BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX webhooks_project ON webhooks (project);
        CREATE TABLE deliveries (
            id TEXT PRIMARY KEY,
            webhook_id TEXT NOT NULL,
            request_id TEXT,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at BIGINT,
            lease_until BIGINT,
            created_at BIGINT NOT NULL,
            last_error TEXT,
            last_status_code INTEGER
        );
        CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
        CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at DESC);
        CREATE TABLE delivery_attempts (
            delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            started_at BIGINT NOT NULL,
            duration_ms DOUBLE PRECISION NOT NULL,
            status_code INTEGER,
            response_head TEXT,
            error TEXT,
            PRIMARY KEY (delivery_id, number)
        );
        """

    static let scoreSchema = """
        CREATE TABLE request_scores (
            request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            is_bool BOOLEAN NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (request_id, name)
        );
        CREATE INDEX request_scores_name_value ON request_scores (name, value);
        """

    /// Analytics kept as calls are recorded (``AnalyticsSQL``): one row per resolution (bucket
    /// width in seconds), dimension, bucket start, project and value; sums, and histograms in
    /// ``LogHistogram``'s text form. The key's order serves the reads (a dimension over a range
    /// of buckets); `analytics_sweep` serves retention. `requests_unpriced` (partial) lets the
    /// unpriced-models list read only the unpriced calls.
    static let analyticsSchema = """
        CREATE TABLE analytics (
            resolution INTEGER NOT NULL,
            dimension TEXT NOT NULL,
            bucket BIGINT NOT NULL,
            project TEXT NOT NULL,
            value TEXT NOT NULL,
            calls INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            total_tokens INTEGER NOT NULL,
            cost_usd DOUBLE PRECISION NOT NULL,
            unpriced INTEGER NOT NULL,
            cache_hits INTEGER NOT NULL,
            latency TEXT NOT NULL,
            ttft TEXT NOT NULL,
            overhead TEXT NOT NULL,
            tokens_per_second TEXT NOT NULL,
            PRIMARY KEY (resolution, dimension, bucket, project, value)
        );
        CREATE INDEX analytics_sweep ON analytics (resolution, bucket);
        CREATE INDEX requests_unpriced ON requests (model, provider) WHERE cost_usd IS NULL AND total_tokens IS NOT NULL
        """
}
