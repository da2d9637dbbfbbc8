import Foundation
import PostgresNIO
import TollgateCore

extension PostgresRecordStore: WebhookStore {
    static func key(_ id: UUID) -> SQLArgument { .text(id.uuidString.lowercased()) }

    public func createWebhook(_ w: Webhook) async throws {
        try await run(StoreSQL.insertWebhook, StoreSQL.webhookArguments(w))
    }

    public func updateWebhook(_ w: Webhook) async throws {
        try await run(StoreSQL.updateWebhook, StoreSQL.webhookArguments(w))
    }

    public func deleteWebhook(id: UUID) async throws -> Bool {
        let logger = self.logger
        return try await transaction { connection in
            try await connection.run(StoreSQL.deleteAttemptsOfWebhook, [Self.key(id)], logger: logger)
            try await connection.run(StoreSQL.deleteDeliveriesOfWebhook, [Self.key(id)], logger: logger)
            return !(try await connection.run("DELETE FROM webhooks WHERE id = ? RETURNING id", [Self.key(id)], logger: logger)).isEmpty
        }
    }

    public func webhook(id: UUID) async throws -> Webhook? {
        try await run("SELECT * FROM webhooks WHERE id = ?", [Self.key(id)]).first.map(Self.webhook(from:))
    }

    public func webhooks(project: String?) async throws -> [Webhook] {
        if let project {
            return try await run("SELECT * FROM webhooks WHERE project = ? ORDER BY created_at", [.text(project)]).map(Self.webhook(from:))
        }
        return try await run("SELECT * FROM webhooks ORDER BY created_at").map(Self.webhook(from:))
    }

    static func webhook(from row: PostgresRandomAccessRow) throws -> Webhook {
        Webhook(
            id: UUID(uuidString: try row.value("id"))!, project: try row.value("project"), destination: try row.value("destination"),
            sampleRate: try row.value("sample_rate"), includeData: try row.value("include_data"),
            propertyFilters: PropertyCoding.decode(try row.value("property_filters")), hmacKey: try row.value("hmac_key"),
            previousKey: try row.value("previous_key"), previousKeyExpiresAt: StoredTime.date(try row.value("previous_key_expires_at")),
            enabled: try row.value("enabled"), disabledReason: try row.value("disabled_reason"),
            failingSince: StoredTime.date(try row.value("failing_since")),
            createdAt: StoredTime.date(try row.value("created_at", as: Int64.self))!, updatedAt: StoredTime.date(try row.value("updated_at", as: Int64.self))!
        )
    }

    public func enqueue(_ deliveries: [Delivery]) async throws {
        for d in deliveries { try await run(StoreSQL.enqueueDelivery, StoreSQL.enqueueArguments(d)) }
    }

    public func claimDueDeliveries(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedDelivery] {
        try await run(StoreSQL.claimDue(lock: "FOR UPDATE SKIP LOCKED"), [
            .integer(StoredTime.micros(leaseUntil)), .integer(StoredTime.micros(now)), .integer(StoredTime.micros(now)), .integer(Int64(limit)),
        ]).map { ClaimedDelivery(delivery: try Self.delivery(from: $0), leaseUntil: leaseUntil) }
    }

    /// A batch of attempts in a few statements whatever its size: the attempt rows, the deliveries'
    /// new states, and the webhooks' failing runs.
    public func complete(_ outcomes: [(Delivery, AttemptResult)]) async throws {
        guard !outcomes.isEmpty else { return }
        let logger = self.logger
        let rows = outcomes.map { StoreSQL.attemptArguments($0.0, $0.1) }
        // Each webhook ends the batch as its last attempt left it: a success clears its failing run,
        // a failure starts one (from its first failure since the last success, if none is running).
        var last: [String: (succeeded: Bool, since: Int64)] = [:]
        for (delivery, result) in outcomes {
            let webhookID = delivery.webhookID.uuidString.lowercased()
            let at = StoredTime.micros(result.attempt.startedAt)
            if result.webhookSucceeded {
                last[webhookID] = (true, at)
            } else if last[webhookID]?.succeeded != false {
                last[webhookID] = (false, at)
            }
        }
        let cleared = last.filter(\.value.succeeded).map { SQLArgument.text($0.key) }
        let started = last.filter { !$0.value.succeeded }.mapValues(\.since)
        try await transaction { connection in
            for chunk in Self.chunks(rows.count, width: StoreSQL.attemptInsert.width) {
                try await connection.run(StoreSQL.attemptInsert.rows(chunk.count), rows[chunk].flatMap(\.insert), logger: logger)
                try await connection.run(StoreSQL.finishAttempts.rows(chunk.count), rows[chunk].flatMap(\.finish), logger: logger)
            }
            if !cleared.isEmpty {
                try await connection.run(StoreSQL.clearFailing(count: cleared.count), cleared, logger: logger)
            }
            for (webhookID, since) in started {
                try await connection.run(StoreSQL.startFailing, [.integer(since), .text(webhookID)], logger: logger)
            }
            for (delivery, result) in outcomes {
                if let reason = result.disableReason {
                    try await connection.run(StoreSQL.disableWebhook, [.bool(false), .text(reason), .integer(StoredTime.micros(Date())), Self.key(delivery.webhookID)], logger: logger)
                }
            }
        }
    }

    public func releaseLeases(_ ids: [UUID]) async throws {
        guard !ids.isEmpty else { return }
        try await run(StoreSQL.releaseLeases(count: ids.count), ids.map(Self.key))
    }

    public func delivery(id: UUID) async throws -> Delivery? {
        try await run("SELECT * FROM deliveries WHERE id = ?", [Self.key(id)]).first.map(Self.delivery(from:))
    }

    public func deliveries(webhookID: UUID, limit: Int, before: Date?) async throws -> [Delivery] {
        try await run(StoreSQL.deliveriesOfWebhook, [Self.key(webhookID), .integer(before.map(StoredTime.micros) ?? Int64.max), .integer(Int64(limit))])
            .map(Self.delivery(from:))
    }

    public func attempts(deliveryID: UUID) async throws -> [DeliveryAttempt] {
        try await run(StoreSQL.attemptsOfDelivery, [Self.key(deliveryID)]).map { row in
            DeliveryAttempt(
                deliveryID: deliveryID, number: try row.value("number"), startedAt: StoredTime.date(try row.value("started_at", as: Int64.self))!,
                durationMs: try row.value("duration_ms"), statusCode: try row.value("status_code"),
                responseHead: try row.value("response_head"), error: try row.value("error")
            )
        }
    }

    public func resend(deliveryIDs: [UUID]) async throws -> Int {
        let now = StoredTime.micros(Date())
        var count = 0
        for id in deliveryIDs { count += try await run(StoreSQL.resendOne, [.integer(now), Self.key(id)]).count }
        return count
    }

    public func resend(webhookID: UUID, since: Date) async throws -> Int {
        try await run(StoreSQL.resendSince, [.integer(StoredTime.micros(Date())), Self.key(webhookID), .integer(StoredTime.micros(since))]).count
    }

    public func pendingSummary() async throws -> (count: Int, oldest: Date?) {
        guard let row = try await run(StoreSQL.pendingSummary).first else { return (0, nil) }
        return (try row.value("n"), StoredTime.date(try row.value("oldest")))
    }

    public func nextDueTime() async throws -> Date? {
        StoredTime.date(try await run(StoreSQL.nextDue).first?[0].decode(Int64?.self))
    }

    static func delivery(from row: PostgresRandomAccessRow) throws -> Delivery {
        Delivery(
            id: UUID(uuidString: try row.value("id"))!, webhookID: UUID(uuidString: try row.value("webhook_id"))!,
            requestID: (try row.value("request_id", as: String?.self)).flatMap(UUID.init(uuidString:)),
            status: DeliveryStatus(rawValue: try row.value("status")) ?? .pending, attempts: try row.value("attempts"),
            nextAttemptAt: StoredTime.date(try row.value("next_attempt_at")), createdAt: StoredTime.date(try row.value("created_at", as: Int64.self))!,
            lastError: try row.value("last_error"), lastStatusCode: try row.value("last_status_code")
        )
    }
}
