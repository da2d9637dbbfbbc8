import Foundation
import GRDB
import TollgateCore

extension SQLiteRecordStore: WebhookStore {
    static func key(_ id: UUID) -> String { id.uuidString.lowercased() }

    public func createWebhook(_ w: Webhook) async throws {
        try await pool.write { db in try db.execute(sql: StoreSQL.insertWebhook, arguments: StatementArguments(StoreSQL.webhookArguments(w))) }
    }

    public func updateWebhook(_ w: Webhook) async throws {
        try await pool.write { db in try db.execute(sql: StoreSQL.updateWebhook, arguments: StatementArguments(StoreSQL.webhookArguments(w))) }
    }

    public func deleteWebhook(id: UUID) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: StoreSQL.deleteAttemptsOfWebhook, arguments: [Self.key(id)])
            try db.execute(sql: StoreSQL.deleteDeliveriesOfWebhook, arguments: [Self.key(id)])
            try db.execute(sql: "DELETE FROM webhooks WHERE id = ?", arguments: [Self.key(id)])
            return db.changesCount > 0
        }
    }

    public func webhook(id: UUID) async throws -> Webhook? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM webhooks WHERE id = ?"), arguments: [Self.key(id)]).map(Self.webhook(from:))
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
                try db.execute(sql: StoreSQL.enqueueDelivery, arguments: StatementArguments(StoreSQL.enqueueArguments(d)))
            }
        }
    }

    public func claimDueDeliveries(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedDelivery] {
        let arguments: [SQLArgument] = [.integer(StoredTime.micros(leaseUntil)), .integer(StoredTime.micros(now)), .integer(StoredTime.micros(now)), .integer(Int64(limit))]
        return try await pool.write { db in
            try Row.fetchAll(db.cachedStatement(sql: StoreSQL.claimDue(lock: "")), arguments: StatementArguments(arguments))
                .map { ClaimedDelivery(delivery: Self.delivery(from: $0), leaseUntil: leaseUntil) }
        }
    }

    public func complete(_ outcomes: [(Delivery, AttemptResult)]) async throws {
        guard !outcomes.isEmpty else { return }
        try await pool.write { db in
            for (delivery, result) in outcomes {
                let (insert, finish) = StoreSQL.attemptArguments(delivery, result)
                let webhookID = Self.key(delivery.webhookID)
                try db.cachedStatement(sql: StoreSQL.insertAttempt).execute(arguments: StatementArguments(insert))
                try db.cachedStatement(sql: StoreSQL.finishAttempt).execute(arguments: StatementArguments(finish))
                if result.webhookSucceeded {
                    try db.cachedStatement(sql: StoreSQL.clearFailing).execute(arguments: [webhookID])
                } else {
                    try db.cachedStatement(sql: StoreSQL.startFailing).execute(arguments: [StoredTime.micros(result.attempt.startedAt), webhookID])
                }
                if let reason = result.disableReason {
                    try db.execute(sql: StoreSQL.disableWebhook, arguments: [false, reason, StoredTime.micros(Date()), webhookID])
                }
            }
        }
    }

    public func releaseLeases(_ ids: [UUID]) async throws {
        guard !ids.isEmpty else { return }
        try await pool.write { db in
            try db.execute(sql: StoreSQL.releaseLeases(count: ids.count), arguments: StatementArguments(ids.map(Self.key)))
        }
    }

    public func delivery(id: UUID) async throws -> Delivery? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM deliveries WHERE id = ?", arguments: [Self.key(id)]).map(Self.delivery(from:))
        }
    }

    public func deliveries(webhookID: UUID, limit: Int, before: Date?) async throws -> [Delivery] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: StoreSQL.deliveriesOfWebhook, arguments: [Self.key(webhookID), before.map(StoredTime.micros) ?? Int64.max, limit])
                .map(Self.delivery(from:))
        }
    }

    public func attempts(deliveryID: UUID) async throws -> [DeliveryAttempt] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: StoreSQL.attemptsOfDelivery, arguments: [Self.key(deliveryID)]).map { row in
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
            try deliveryIDs.reduce(0) { count, id in count + (try Row.fetchAll(db, sql: StoreSQL.resendOne, arguments: [now, Self.key(id)]).count) }
        }
    }

    public func resend(webhookID: UUID, since: Date) async throws -> Int {
        let now = StoredTime.micros(Date())
        return try await pool.write { db in
            try Row.fetchAll(db, sql: StoreSQL.resendSince, arguments: [now, Self.key(webhookID), StoredTime.micros(since)]).count
        }
    }

    public func pendingSummary() async throws -> (count: Int, oldest: Date?) {
        try await pool.read { db in
            let row = try Row.fetchOne(db, sql: StoreSQL.pendingSummary)
            return (row?["n"] ?? 0, StoredTime.date(row?["oldest"]))
        }
    }

    public func nextDueTime() async throws -> Date? {
        try await pool.read { db in StoredTime.date(try Int64.fetchOne(db.cachedStatement(sql: StoreSQL.nextDue))) }
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
