import Foundation

/// The tables, in SQL both engines accept; the one difference, the blob type, comes from the
/// dialect. Times are integer microseconds since 1970; ids are lowercase UUID text. Integers are
/// `BIGINT` (on SQLite any type with INT in its name is an integer).
enum StoreSchema {
    /// A named step of the schema, applied once; each driver records the names it has applied
    /// (GRDB's `grdb_migrations`, PostgreSQL's `tollgate_migrations`), so a database made by an
    /// earlier release is upgraded in place.
    struct Migration: Sendable {
        let name: String
        let statements: [String]
    }

    /// Applied in order, each once.
    static func migrations(_ dialect: SQLDialect) -> [Migration] {
        [
            ("v1-records", recordSchema.replacingOccurrences(of: "{blob}", with: dialect.blob)),
            ("v2-webhooks", webhookSchema),
            ("v3-scores", scoreSchema),
            ("v4-response-truncated", "ALTER TABLE requests ADD COLUMN response_truncated BOOLEAN NOT NULL DEFAULT FALSE"),
            ("v5-latency-shares", """
                ALTER TABLE requests ADD COLUMN upstream_latency_ms DOUBLE PRECISION;
                ALTER TABLE requests ADD COLUMN overhead_ms DOUBLE PRECISION;
                ALTER TABLE requests ADD COLUMN cache_hit BOOLEAN NOT NULL DEFAULT FALSE
                """),
            ("v6-analytics", analyticsSchema),
            ("v7-cache-and-limits", controlsSchema.replacingOccurrences(of: "{blob}", with: dialect.blob)),
            ("v8-attempts", """
                ALTER TABLE requests ADD COLUMN attempts TEXT;
                ALTER TABLE requests ADD COLUMN fallback_index BIGINT
                """),
            // Batches whose calls are stored but not yet in the analytics (see SQLStore.insert):
            // the ids of those calls, until a later batch or an adopting gateway merges them.
            ("v9-analytics-pending", """
                CREATE TABLE analytics_pending (
                    id TEXT PRIMARY KEY,
                    created_at BIGINT NOT NULL,
                    ids TEXT NOT NULL
                );
                CREATE INDEX analytics_pending_created ON analytics_pending (created_at)
                """),
            // The models whose calls went unpriced, counted as calls are recorded (listing them
            // used to group every stored call); filled from the calls already stored.
            ("v10-unpriced-models", """
                CREATE TABLE unpriced_models (
                    project TEXT NOT NULL,
                    model TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    calls BIGINT NOT NULL,
                    last_seen BIGINT NOT NULL,
                    PRIMARY KEY (project, model, provider)
                );
                INSERT INTO unpriced_models (project, model, provider, calls, last_seen)
                    SELECT project, COALESCE(model, ''), provider, COUNT(*), MAX(created_at) FROM requests
                    WHERE cost_usd IS NULL AND total_tokens IS NOT NULL GROUP BY project, COALESCE(model, ''), provider
                """),
        ].map { name, sql in
            Migration(name: name, statements: sql.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty })
        }
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
            status BIGINT NOT NULL,
            stream BOOLEAN NOT NULL,
            user_id TEXT,
            properties TEXT NOT NULL,
            session_id TEXT,
            session_path TEXT,
            session_name TEXT,
            prompt_tokens BIGINT,
            completion_tokens BIGINT,
            total_tokens BIGINT,
            cache_read_tokens BIGINT,
            cache_write_tokens BIGINT,
            reasoning_tokens BIGINT,
            cost_usd DOUBLE PRECISION,
            latency_ms DOUBLE PRECISION NOT NULL,
            time_to_first_token_ms DOUBLE PRECISION,
            request_bytes BIGINT NOT NULL,
            response_bytes BIGINT NOT NULL,
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
            request {blob},
            response {blob},
            response_reconstructed {blob}
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
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT,
            lease_until BIGINT,
            created_at BIGINT NOT NULL,
            last_error TEXT,
            last_status_code BIGINT
        );
        CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
        CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at DESC);
        CREATE TABLE delivery_attempts (
            delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
            number BIGINT NOT NULL,
            started_at BIGINT NOT NULL,
            duration_ms DOUBLE PRECISION NOT NULL,
            status_code BIGINT,
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

    /// The response cache (one row per key and bucket slot; `created_at` orders eviction) and
    /// the rate limits' counts (one row per subject and fixed window; see ``RateLimitWindow``).
    static let controlsSchema = """
        ALTER TABLE requests ADD COLUMN cost_saved_usd DOUBLE PRECISION;
        CREATE TABLE cache_entries (
            key TEXT NOT NULL,
            bucket_index BIGINT NOT NULL,
            project TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            status BIGINT NOT NULL,
            headers TEXT NOT NULL,
            body {blob} NOT NULL,
            stream BOOLEAN NOT NULL,
            request_id TEXT NOT NULL,
            bytes BIGINT NOT NULL,
            PRIMARY KEY (key, bucket_index)
        );
        CREATE INDEX cache_entries_created ON cache_entries (created_at);
        CREATE INDEX cache_entries_project ON cache_entries (project, created_at);
        CREATE TABLE rate_limit_counts (
            subject TEXT NOT NULL,
            window_start BIGINT NOT NULL,
            window_seconds BIGINT NOT NULL,
            amount DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (subject, window_start)
        );
        CREATE INDEX rate_limit_counts_window ON rate_limit_counts (window_start)
        """

    static let analyticsSchema = """
        CREATE TABLE analytics (
            resolution BIGINT NOT NULL,
            dimension TEXT NOT NULL,
            bucket BIGINT NOT NULL,
            project TEXT NOT NULL,
            value TEXT NOT NULL,
            calls BIGINT NOT NULL,
            errors BIGINT NOT NULL,
            prompt_tokens BIGINT NOT NULL,
            completion_tokens BIGINT NOT NULL,
            total_tokens BIGINT NOT NULL,
            cost_usd DOUBLE PRECISION NOT NULL,
            unpriced BIGINT NOT NULL,
            cache_hits BIGINT NOT NULL,
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
