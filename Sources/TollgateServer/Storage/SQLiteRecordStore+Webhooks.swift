import Foundation
import GRDB
import TollgateCore

extension SQLiteRecordStore: WebhookStore {
    static func key(_ id: UUID) -> String { id.uuidString.lowercased() }

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
            w.hmacKey, w.previousKey, w.previousKeyExpiresAt.map(StoredTime.micros), w.enabled, w.disabledReason,
            w.failingSince.map(StoredTime.micros),StoredTime.micros(w.createdAt),StoredTime.micros(w.updatedAt),
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
            previousKey: row["previous_key"], previousKeyExpiresAt: StoredTime.date(row["previous_key_expires_at"]),
            enabled: row["enabled"], disabledReason: row["disabled_reason"], failingSince: StoredTime.date(row["failing_since"]),
            createdAt: StoredTime.date(row["created_at"])!, updatedAt: StoredTime.date(row["updated_at"])!
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
                        d.nextAttemptAt.map(StoredTime.micros), StoredTime.micros(d.createdAt),
                    ])
            }
        }
    }

    public func claimDueDeliveries(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedDelivery] {
        let nowMicros = StoredTime.micros(now)
        let leaseMicros = StoredTime.micros(leaseUntil)
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
                """, arguments: [Self.key(a.deliveryID), a.number, StoredTime.micros(a.startedAt), a.durationMs, a.statusCode, a.responseHead, a.error])
            try db.execute(sql: """
                UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, lease_until = NULL, last_error = ?, last_status_code = ?
                WHERE id = ?
                """, arguments: [result.status.rawValue, a.number, result.nextAttemptAt.map(StoredTime.micros), a.error, a.statusCode, Self.key(delivery.id)])
            let webhookID = Self.key(delivery.webhookID)
            if result.webhookSucceeded {
                try db.execute(sql: "UPDATE webhooks SET failing_since = NULL WHERE id = ?", arguments: [webhookID])
            } else {
                try db.execute(sql: "UPDATE webhooks SET failing_since = ? WHERE id = ? AND failing_since IS NULL", arguments: [StoredTime.micros(a.startedAt), webhookID])
            }
            if let reason = result.disableReason {
                try db.execute(sql: "UPDATE webhooks SET enabled = ?, disabled_reason = ?, updated_at = ? WHERE id = ?", arguments: [false, reason, StoredTime.micros(Date()), webhookID])
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
                """, arguments: [Self.key(webhookID), before.map(StoredTime.micros) ?? Int64.max, limit]).map(Self.delivery(from:))
        }
    }

    public func attempts(deliveryID: UUID) async throws -> [DeliveryAttempt] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY number", arguments: [Self.key(deliveryID)]).map { row in
                DeliveryAttempt(
                    deliveryID: deliveryID, number: row["number"], startedAt: StoredTime.date(row["started_at"])!,
                    durationMs: row["duration_ms"], statusCode: row["status_code"], responseHead: row["response_head"], error: row["error"]
                )
            }
        }
    }

    public func resend(deliveryIDs: [UUID]) async throws -> Int {
        let now = StoredTime.micros(Date())
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
        let now = StoredTime.micros(Date())
        return try await pool.write { db in
            try db.execute(sql: """
                UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL
                WHERE webhook_id = ? AND created_at >= ?
                """, arguments: [now, Self.key(webhookID), StoredTime.micros(since)])
            return db.changesCount
        }
    }

    public func pendingSummary() async throws -> (count: Int, oldest: Date?) {
        try await pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries WHERE status = 'pending'")
            return (row?["n"] ?? 0, StoredTime.date(row?["oldest"]))
        }
    }

    public func nextDueTime() async throws -> Date? {
        try await pool.read { db in
            StoredTime.date(try Int64.fetchOne(db, sql: StoreSQL.nextDue))
        }
    }

    static func delivery(from row: Row) -> Delivery {
        Delivery(
            id: UUID(uuidString: row["id"])!, webhookID: UUID(uuidString: row["webhook_id"])!,
            requestID: (row["request_id"] as String?).flatMap(UUID.init(uuidString:)),
            status: DeliveryStatus(rawValue: row["status"]) ?? .pending, attempts: row["attempts"],
            nextAttemptAt: StoredTime.date(row["next_attempt_at"]), createdAt: StoredTime.date(row["created_at"])!,
            lastError: row["last_error"], lastStatusCode: row["last_status_code"]
        )
    }
}
