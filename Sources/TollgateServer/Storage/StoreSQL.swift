import Foundation

/// Statements both stores run, with `?` placeholders (the PostgreSQL store numbers them).
enum StoreSQL {
    /// An `INSERT … VALUES (row) …` that can also be written for several rows at once: one
    /// statement per batch where each statement is a round trip (PostgreSQL).
    struct Insert: Sendable {
        let head: String
        let row: String
        let tail: String
        /// Placeholders per row.
        var width: Int { row.filter { $0 == "?" }.count }
        var single: String { head + row + tail }
        func rows(_ count: Int) -> String { head + Array(repeating: row, count: count).joined(separator: ", ") + tail }
    }

    static let recordInsert = Insert(
        head: """
            INSERT INTO requests (id, project, created_at, method, path, provider, model, status, stream,
                user_id, properties, session_id, session_path, session_name, prompt_tokens, completion_tokens,
                total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, latency_ms,
                time_to_first_token_ms, upstream_latency_ms, overhead_ms, cache_hit, request_bytes, response_bytes,
                response_truncated, error)
            VALUES
            """ + " ",
        row: "(" + Array(repeating: "?", count: 30).joined(separator: ", ") + ")",
        tail: " ON CONFLICT DO NOTHING"
    )
    static let propertyInsert = Insert(head: "INSERT INTO request_properties (request_id, name, value) VALUES ", row: "(?, ?, ?)", tail: " ON CONFLICT DO NOTHING")
    static let bodiesInsert = Insert(
        head: "INSERT INTO bodies (request_id, request, response, response_reconstructed) VALUES ", row: "(?, ?, ?, ?)", tail: " ON CONFLICT DO NOTHING"
    )
    static let deliveryInsert = Insert(
        head: "INSERT INTO deliveries (id, webhook_id, request_id, status, attempts, next_attempt_at, created_at, lease_until) VALUES ",
        row: "(?, ?, ?, 'pending', 0, ?, ?, ?)", tail: " ON CONFLICT DO NOTHING"
    )

    /// The rows a batch of calls adds, table by table, in the order they must be inserted.
    static func rows(of batch: [StoredExchange], now: Date) -> [(Insert, [[SQLArgument]])] {
        var records: [[SQLArgument]] = [], properties: [[SQLArgument]] = [], bodies: [[SQLArgument]] = [], deliveries: [[SQLArgument]] = []
        records.reserveCapacity(batch.count)
        let created = SQLArgument.integer(StoredTime.micros(now))
        for item in batch {
            let r = item.record
            let id = SQLArgument.text(r.id.uuidString.lowercased())
            records.append([
                id, .text(r.project), .integer(StoredTime.micros(r.createdAt)), .text(r.method), .text(r.path),
                .text(r.provider), .text(r.model), .integer(Int64(r.status)), .bool(r.stream), .text(r.userID),
                .text(PropertyCoding.encode(r.properties)), .text(r.sessionID), .text(r.sessionPath), .text(r.sessionName),
                .integer(r.usage.map { Int64($0.inputTokens) }), .integer(r.usage.map { Int64($0.outputTokens) }),
                .integer(r.usage.map { Int64($0.totalTokens) }), .integer(r.usage.map { Int64($0.cacheReadTokens) }),
                .integer(r.usage.map { Int64($0.cacheWriteTokens) }), .integer(r.usage.map { Int64($0.reasoningTokens) }),
                .real(r.costUSD), .real(r.latencyMs), .real(r.timeToFirstTokenMs), .real(r.upstreamLatencyMs), .real(r.overheadMs),
                .bool(r.cacheHit), .integer(Int64(r.requestBytes)),
                .integer(Int64(r.responseBytes)), .bool(r.responseTruncated), .text(r.error),
            ])
            for property in r.properties {
                properties.append([id, .text(property.key), .text(property.value)])
            }
            if item.bodiesInDatabase {
                bodies.append([id, .bytes(item.bodies.request), .bytes(item.bodies.response), .bytes(item.bodies.reconstructedResponse)])
            }
            for delivery in item.deliveries {
                deliveries.append([
                    .text(delivery.id.uuidString.lowercased()), .text(delivery.webhookID.uuidString.lowercased()), id, created, created,
                    .integer(delivery.leaseUntil.map(StoredTime.micros)),
                ])
            }
        }
        return [(recordInsert, records), (propertyInsert, properties), (bodiesInsert, bodies), (deliveryInsert, deliveries)]
    }


    static let upsertScore = """
        INSERT INTO request_scores (request_id, name, value, is_bool, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (request_id, name) DO UPDATE SET value = excluded.value, is_bool = excluded.is_bool, updated_at = excluded.updated_at
        """

    /// When the next pending delivery becomes claimable: its retry time, or its lease's end if later.
    static let nextDue = """
        SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END)
        FROM deliveries WHERE status = 'pending'
        """

    static let insertWebhook = """
        INSERT INTO webhooks (project, destination, sample_rate, include_data, property_filters, hmac_key,
            previous_key, previous_key_expires_at, enabled, disabled_reason, failing_since, created_at, updated_at, id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static let updateWebhook = """
        UPDATE webhooks SET project = ?, destination = ?, sample_rate = ?, include_data = ?, property_filters = ?,
            hmac_key = ?, previous_key = ?, previous_key_expires_at = ?, enabled = ?, disabled_reason = ?,
            failing_since = ?, created_at = ?, updated_at = ? WHERE id = ?
        """

    /// The arguments of ``insertWebhook`` and ``updateWebhook``, the id last.
    static func webhookArguments(_ w: Webhook) -> [SQLArgument] {
        [
            .text(w.project), .text(w.destination), .real(w.sampleRate), .bool(w.includeData),
            .text(PropertyCoding.encode(w.propertyFilters)), .text(w.hmacKey), .text(w.previousKey),
            .integer(w.previousKeyExpiresAt.map(StoredTime.micros)), .bool(w.enabled), .text(w.disabledReason),
            .integer(w.failingSince.map(StoredTime.micros)), .integer(StoredTime.micros(w.createdAt)),
            .integer(StoredTime.micros(w.updatedAt)), .text(w.id.uuidString.lowercased()),
        ]
    }

    static let deleteAttemptsOfWebhook = "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE webhook_id = ?)"
    static let deleteDeliveriesOfWebhook = "DELETE FROM deliveries WHERE webhook_id = ?"

    static let enqueueDelivery = """
        INSERT INTO deliveries (id, webhook_id, request_id, status, attempts, next_attempt_at, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        """

    static func enqueueArguments(_ d: Delivery) -> [SQLArgument] {
        [.text(d.id.uuidString.lowercased()), .text(d.webhookID.uuidString.lowercased()), .text(d.requestID?.uuidString.lowercased()),
         .text(d.status.rawValue), .integer(Int64(d.attempts)), .integer(d.nextAttemptAt.map(StoredTime.micros)),
         .integer(StoredTime.micros(d.createdAt))]
    }

    /// Leases due deliveries; `lock` is PostgreSQL's `FOR UPDATE SKIP LOCKED` (SQLite has one writer).
    static func claimDue(lock: String) -> String {
        """
        UPDATE deliveries SET lease_until = ?
        WHERE id IN (
            SELECT id FROM deliveries
            WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
            ORDER BY next_attempt_at LIMIT ? \(lock)
        )
        RETURNING *
        """
    }

    static let attemptInsert = Insert(
        head: "INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code, response_head, error) VALUES ",
        row: "(?, ?, ?, ?, ?, ?, ?)", tail: " ON CONFLICT DO NOTHING"
    )
    static let insertAttempt = attemptInsert.single

    static let finishAttempt = """
        UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, lease_until = NULL, last_error = ?, last_status_code = ?
        WHERE id = ?
        """

    /// ``finishAttempt`` for many deliveries in one statement, same arguments row by row. PostgreSQL
    /// only (SQLite has no column list on a VALUES alias, and gains nothing: no round trips).
    static let finishAttempts = Insert(
        head: """
            UPDATE deliveries SET status = v.status, attempts = v.attempts, next_attempt_at = v.next_attempt_at, lease_until = NULL,
                last_error = v.last_error, last_status_code = v.last_status_code
            FROM (VALUES
            """ + " ",
        row: "(CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS TEXT))",
        tail: ") AS v (status, attempts, next_attempt_at, last_error, last_status_code, id) WHERE deliveries.id = v.id"
    )

    /// ``clearFailing`` for several webhooks.
    static func clearFailing(count: Int) -> String {
        "UPDATE webhooks SET failing_since = NULL WHERE failing_since IS NOT NULL AND id IN (\(placeholders(count)))"
    }

    static let clearFailing = "UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL"
    static let startFailing = "UPDATE webhooks SET failing_since = ? WHERE id = ? AND failing_since IS NULL"
    static let disableWebhook = "UPDATE webhooks SET enabled = ?, disabled_reason = ?, updated_at = ? WHERE id = ?"
    /// Gives up the leases of `count` deliveries in one statement (one round trip at shutdown).
    static func releaseLeases(count: Int) -> String {
        "UPDATE deliveries SET lease_until = NULL WHERE id IN (\(placeholders(count)))"
    }
    static let resendOne = "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL WHERE id = ? RETURNING id"
    static let resendSince = """
        UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL
        WHERE webhook_id = ? AND created_at >= ? RETURNING id
        """
    static let deliveriesOfWebhook = "SELECT * FROM deliveries WHERE webhook_id = ? AND created_at < ? ORDER BY created_at DESC, id DESC LIMIT ?"
    static let attemptsOfDelivery = "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY number"
    static let pendingSummary = "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries WHERE status = 'pending'"

    /// The arguments that record one attempt's outcome, in ``insertAttempt`` then ``finishAttempt`` order.
    static func attemptArguments(_ delivery: Delivery, _ result: AttemptResult) -> (insert: [SQLArgument], finish: [SQLArgument]) {
        let a = result.attempt
        return (
            [.text(a.deliveryID.uuidString.lowercased()), .integer(Int64(a.number)), .integer(StoredTime.micros(a.startedAt)),
             .real(a.durationMs), .integer(a.statusCode.map(Int64.init)), .text(a.responseHead), .text(a.error)],
            [.text(result.status.rawValue), .integer(Int64(a.number)), .integer(result.nextAttemptAt.map(StoredTime.micros)),
             .text(a.error), .integer(a.statusCode.map(Int64.init)), .text(delivery.id.uuidString.lowercased())]
        )
    }

    /// Retention: the oldest records before a time (their properties, bodies and scores go with
    /// them by `ON DELETE CASCADE`).
    static let oldRecords = "SELECT id FROM requests WHERE created_at < ? ORDER BY created_at LIMIT ?"
    static let oldDeliveries = "SELECT id FROM deliveries WHERE status <> 'pending' AND created_at < ? ORDER BY created_at LIMIT ?"

    /// What goes with an old record (the rest cascades) and with an old finished delivery.
    static let recordTables = [("requests", "id")]
    static let deliveryLogTables = [("delivery_attempts", "delivery_id"), ("deliveries", "id")]

    /// `DELETE FROM table WHERE column IN (?, ?, …)` for `count` ids.
    static func deleteIn(_ table: String, _ column: String, count: Int) -> String {
        "DELETE FROM \(table) WHERE \(column) IN (\(placeholders(count)))"
    }

    /// `?, ?, …`: `count` placeholders for an `IN (…)` list.
    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}
