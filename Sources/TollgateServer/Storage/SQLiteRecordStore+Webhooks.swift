import Foundation
import GRDB
import TollgateCore

extension SQLiteRecordStore: WebhookStore {
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

    static let insertDeliverySQL = """
        INSERT INTO deliveries (id, webhook_id, request_id, status, attempts, next_attempt_at, created_at)
        VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT DO NOTHING
        """

    static func key(_ id: UUID) -> String { id.uuidString.lowercased() }
    static func date(_ micros: Int64?) -> Date? { micros.map { Date(timeIntervalSince1970: Double($0) / 1_000_000) } }

    public func createWebhook(_ w: Webhook) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO webhooks (id, project, destination, sample_rate, include_data, property_filters, hmac_key,
                    previous_key, previous_key_expires_at, enabled, disabled_reason, failing_since, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: Self.webhookArguments(w))
        }
    }

    public func updateWebhook(_ w: Webhook) async throws {
        let arguments = Self.webhookArguments(w, includingID: false) + [Self.key(w.id)]
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE webhooks SET project = ?, destination = ?, sample_rate = ?, include_data = ?, property_filters = ?,
                    hmac_key = ?, previous_key = ?, previous_key_expires_at = ?, enabled = ?, disabled_reason = ?,
                    failing_since = ?, created_at = ?, updated_at = ? WHERE id = ?
                """, arguments: arguments)
        }
    }

    static func webhookArguments(_ w: Webhook, includingID: Bool = true) -> StatementArguments {
        let arguments: StatementArguments = [
            w.project, w.destination, w.sampleRate, w.includeData, PropertyCoding.encode(w.propertyFilters),
            w.hmacKey, w.previousKey, w.previousKeyExpiresAt.map(micros), w.enabled, w.disabledReason,
            w.failingSince.map(micros), micros(w.createdAt), micros(w.updatedAt),
        ]
        return includingID ? [key(w.id)] + arguments : arguments
    }

    public func deleteWebhook(id: UUID) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE webhook_id = ?)", arguments: [Self.key(id)])
            try db.execute(sql: "DELETE FROM deliveries WHERE webhook_id = ?", arguments: [Self.key(id)])
            try db.execute(sql: "DELETE FROM webhooks WHERE id = ?", arguments: [Self.key(id)])
            return db.changesCount > 0
        }
    }

    public func webhook(id: UUID) async throws -> Webhook? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM webhooks WHERE id = ?", arguments: [Self.key(id)]).map(Self.webhook(from:))
        }
    }

    public func webhooks(project: String?) async throws -> [Webhook] {
        try await pool.read { db in
            if let project {
                return try Row.fetchAll(db, sql: "SELECT * FROM webhooks WHERE project = ? ORDER BY created_at", arguments: [project]).map(Self.webhook(from:))
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM webhooks ORDER BY created_at").map(Self.webhook(from:))
        }
    }

    static func webhook(from row: Row) -> Webhook {
        Webhook(
            id: UUID(uuidString: row["id"])!, project: row["project"], destination: row["destination"],
            sampleRate: row["sample_rate"], includeData: row["include_data"],
            propertyFilters: PropertyCoding.decode(row["property_filters"]), hmacKey: row["hmac_key"],
            previousKey: row["previous_key"], previousKeyExpiresAt: date(row["previous_key_expires_at"]),
            enabled: row["enabled"], disabledReason: row["disabled_reason"], failingSince: date(row["failing_since"]),
            createdAt: date(row["created_at"])!, updatedAt: date(row["updated_at"])!
        )
    }

    public func enqueue(_ deliveries: [Delivery]) async throws {
        try await pool.write { db in
            for d in deliveries {
                try db.execute(sql: """
                    INSERT INTO deliveries (id, webhook_id, request_id, status, attempts, next_attempt_at, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [
                        Self.key(d.id), Self.key(d.webhookID), d.requestID.map(Self.key), d.status.rawValue, d.attempts,
                        d.nextAttemptAt.map(Self.micros), Self.micros(d.createdAt),
                    ])
            }
        }
    }

    public func claimDueDeliveries(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedDelivery] {
        let nowMicros = Self.micros(now)
        let leaseMicros = Self.micros(leaseUntil)
        return try await pool.write { db in
            let rows = try Row.fetchAll(db, sql: """
                UPDATE deliveries SET lease_until = ?
                WHERE id IN (
                    SELECT id FROM deliveries
                    WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
                    ORDER BY next_attempt_at LIMIT ?
                )
                RETURNING *
                """, arguments: [leaseMicros, nowMicros, nowMicros, limit])
            return rows.map { ClaimedDelivery(delivery: Self.delivery(from: $0), leaseUntil: leaseUntil) }
        }
    }

    public func complete(_ delivery: Delivery, result: AttemptResult) async throws {
        let a = result.attempt
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code, response_head, error)
                VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """, arguments: [Self.key(a.deliveryID), a.number, Self.micros(a.startedAt), a.durationMs, a.statusCode, a.responseHead, a.error])
            try db.execute(sql: """
                UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, lease_until = NULL, last_error = ?, last_status_code = ?
                WHERE id = ?
                """, arguments: [result.status.rawValue, a.number, result.nextAttemptAt.map(Self.micros), a.error, a.statusCode, Self.key(delivery.id)])
            let webhookID = Self.key(delivery.webhookID)
            if result.webhookSucceeded {
                try db.execute(sql: "UPDATE webhooks SET failing_since = NULL WHERE id = ?", arguments: [webhookID])
            } else {
                try db.execute(sql: "UPDATE webhooks SET failing_since = ? WHERE id = ? AND failing_since IS NULL", arguments: [Self.micros(a.startedAt), webhookID])
            }
            if let reason = result.disableReason {
                try db.execute(sql: "UPDATE webhooks SET enabled = ?, disabled_reason = ?, updated_at = ? WHERE id = ?", arguments: [false, reason, Self.micros(Date()), webhookID])
            }
        }
    }

    public func releaseLeases(_ ids: [UUID]) async throws {
        guard !ids.isEmpty else { return }
        try await pool.write { db in
            for id in ids {
                try db.execute(sql: "UPDATE deliveries SET lease_until = NULL WHERE id = ?", arguments: [Self.key(id)])
            }
        }
    }

    public func delivery(id: UUID) async throws -> Delivery? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM deliveries WHERE id = ?", arguments: [Self.key(id)]).map(Self.delivery(from:))
        }
    }

    public func deliveries(webhookID: UUID, limit: Int, before: Date?) async throws -> [Delivery] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM deliveries WHERE webhook_id = ? AND created_at < ? ORDER BY created_at DESC, id DESC LIMIT ?
                """, arguments: [Self.key(webhookID), before.map(Self.micros) ?? Int64.max, limit]).map(Self.delivery(from:))
        }
    }

    public func attempts(deliveryID: UUID) async throws -> [DeliveryAttempt] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY number", arguments: [Self.key(deliveryID)]).map { row in
                DeliveryAttempt(
                    deliveryID: deliveryID, number: row["number"], startedAt: Self.date(row["started_at"])!,
                    durationMs: row["duration_ms"], statusCode: row["status_code"], responseHead: row["response_head"], error: row["error"]
                )
            }
        }
    }

    public func resend(deliveryIDs: [UUID]) async throws -> Int {
        let now = Self.micros(Date())
        return try await pool.write { db in
            var count = 0
            for id in deliveryIDs {
                try db.execute(sql: "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL WHERE id = ?", arguments: [now, Self.key(id)])
                count += db.changesCount
            }
            return count
        }
    }

    public func resend(webhookID: UUID, since: Date) async throws -> Int {
        let now = Self.micros(Date())
        return try await pool.write { db in
            try db.execute(sql: """
                UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL
                WHERE webhook_id = ? AND created_at >= ?
                """, arguments: [now, Self.key(webhookID), Self.micros(since)])
            return db.changesCount
        }
    }

    public func pendingSummary() async throws -> (count: Int, oldest: Date?) {
        try await pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries WHERE status = 'pending'")
            return (row?["n"] ?? 0, Self.date(row?["oldest"]))
        }
    }

    public func nextDueTime() async throws -> Date? {
        try await pool.read { db in
            Self.date(try Int64.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'"))
        }
    }

    static func delivery(from row: Row) -> Delivery {
        Delivery(
            id: UUID(uuidString: row["id"])!, webhookID: UUID(uuidString: row["webhook_id"])!,
            requestID: (row["request_id"] as String?).flatMap(UUID.init(uuidString:)),
            status: DeliveryStatus(rawValue: row["status"]) ?? .pending, attempts: row["attempts"],
            nextAttemptAt: date(row["next_attempt_at"]), createdAt: date(row["created_at"])!,
            lastError: row["last_error"], lastStatusCode: row["last_status_code"]
        )
    }
}
