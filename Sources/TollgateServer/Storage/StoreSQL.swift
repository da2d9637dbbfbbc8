import Foundation
import TollgateCore

/// The store's statements that are more than a table's plain insert or update (those come from
/// each table's codec, ``StoredRow``). Written once, with `?` placeholders, for both engines.
enum StoreSQL {
    /// The statements that write a batch of finished calls, table by table, in the order they
    /// must run (a call's record before what refers to it).
    static func insert(_ batch: [StoredExchange], now: Date, _ dialect: SQLDialect) -> [SQLStatement] {
        var records: [[SQLArgument]] = [], properties: [[SQLArgument]] = [], bodies: [[SQLArgument]] = [], deliveries: [[SQLArgument]] = []
        records.reserveCapacity(batch.count)
        for item in batch {
            let r = item.record
            records.append(r.arguments)
            for property in r.properties {
                properties.append(PropertyRow(requestID: r.id, property: property).arguments)
            }
            if item.bodiesInDatabase {
                bodies.append(BodiesRow(requestID: r.id, bodies: item.bodies).arguments)
            }
            for d in item.deliveries {
                let delivery = Delivery(
                    id: d.id, webhookID: d.webhookID, requestID: r.id, status: .pending, attempts: 0, nextAttemptAt: now,
                    createdAt: now, lastError: nil, lastStatusCode: nil
                )
                deliveries.append(DeliveryRow(delivery, leaseUntil: d.leaseUntil).arguments)
            }
        }
        return recordInsert.statements(records, dialect) + propertyInsert.statements(properties, dialect)
            + bodiesInsert.statements(bodies, dialect) + deliveryInsert.statements(deliveries, dialect)
    }

    static let recordInsert = RequestRecord.table.insert()
    static let propertyInsert = PropertyRow.table.insert()
    static let bodiesInsert = BodiesRow.table.insert()
    static let deliveryInsert = DeliveryRow.table.insert()
    static let attemptInsert = DeliveryAttempt.table.insert()

    static let recordByID = "SELECT * FROM requests WHERE id = ?"
    static let recordExists = "SELECT 1 AS found FROM requests WHERE id = ?"
    static func storedRecords(count: Int) -> String { "SELECT id FROM requests WHERE id IN (\(placeholders(count)))" }
    static func recordsByIDs(count: Int) -> String { "SELECT * FROM requests WHERE id IN (\(placeholders(count)))" }
    static let bodiesByID = "SELECT * FROM bodies WHERE request_id = ?"

    /// A page of records newest first, one more than `limit` to tell whether another page follows.
    static func records(_ filter: SQLFilter, limit: Int) -> SQLStatement {
        SQLStatement("SELECT * FROM requests r WHERE \(filter.sql) ORDER BY created_at DESC, id DESC LIMIT \(limit + 1)", filter.arguments)
    }

    static func scores(count: Int) -> String {
        "SELECT * FROM request_scores WHERE request_id IN (\(placeholders(count))) ORDER BY name"
    }

    /// Calls with tokens and `cost_usd IS NULL`, grouped by model and provider, most recently
    /// seen first; `?` is the project when one is given.
    /// The models whose calls went unpriced, newest first: table `unpriced_models`, which each
    /// batch adds its unpriced calls to (``unpricedCounts(_:)``), so this reads one row per model
    /// however many calls are stored. Across projects (no project given) the rows are summed.
    static func unpricedModels(project: Bool) -> String {
        project
            ? "SELECT model, provider, calls, last_seen FROM unpriced_models WHERE project = ? ORDER BY last_seen DESC LIMIT 1000"
            : """
            SELECT model, provider, SUM(calls) AS calls, MAX(last_seen) AS last_seen FROM unpriced_models
            GROUP BY model, provider ORDER BY last_seen DESC LIMIT 1000
            """
    }

    /// Adds `records`' unpriced calls (usage but no cost) to `unpriced_models`, one upsert per
    /// project, model and provider. A call with no model counts under ''.
    static func unpricedCounts(_ records: some Sequence<RequestRecord>) -> [SQLStatement] {
        var counts: [[String]: (calls: Int64, last: Int64)] = [:]
        for record in records where record.costUSD == nil && record.usage != nil {
            let key = [record.project, record.model ?? "", record.provider]
            let at = StoredTime.micros(record.createdAt)
            let now = counts[key] ?? (0, at)
            counts[key] = (now.calls + 1, max(now.last, at))
        }
        return counts.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { key, count in
            SQLStatement("""
                INSERT INTO unpriced_models (project, model, provider, calls, last_seen) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (project, model, provider) DO UPDATE SET calls = unpriced_models.calls + excluded.calls,
                last_seen = CASE WHEN excluded.last_seen > unpriced_models.last_seen THEN excluded.last_seen ELSE unpriced_models.last_seen END
                """, key.map { .text($0) } + [.integer(count.calls), .integer(count.last)])
        }
    }

    static let webhookByID = "SELECT * FROM webhooks WHERE id = ?"
    static let webhooksOfProject = "SELECT * FROM webhooks WHERE project = ? ORDER BY created_at"
    static let allWebhooks = "SELECT * FROM webhooks ORDER BY created_at"
    static let insertWebhook = Webhook.table.insert(conflict: "").single
    static let updateWebhook = Webhook.table.update(key: "id")
    /// A webhook goes with its deliveries and their attempts.
    static let deleteWebhook = [
        "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE webhook_id = ?)",
        "DELETE FROM deliveries WHERE webhook_id = ?",
        "DELETE FROM webhooks WHERE id = ? RETURNING id",
    ]

    /// When the next pending delivery becomes claimable: its retry time, or its lease's end if later.
    static let nextDue = """
        SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END) AS due
        FROM deliveries WHERE status = 'pending'
        """

    /// Leases due deliveries whose lease is free or over; with PostgreSQL's `SKIP LOCKED`, two
    /// claimers never take the same one.
    static func claimDue(_ dialect: SQLDialect) -> String {
        """
        UPDATE deliveries SET lease_until = ?
        WHERE id IN (
            SELECT id FROM deliveries
            WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
            ORDER BY next_attempt_at LIMIT ? \(dialect.skipLocked)
        )
        RETURNING *
        """
    }

    /// Moves a delivery on after an attempt and frees its lease: status, attempts, next attempt,
    /// last error, last status code, then the id. Many rows at once through `UPDATE … FROM
    /// (VALUES …)` where the engine batches (SQLite has no column list on a VALUES alias).
    static let finishAttempt = RowStatement(
        single: """
            UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, lease_until = NULL, last_error = ?, last_status_code = ?
            WHERE id = ?
            """,
        many: { n in
            """
            UPDATE deliveries SET status = v.status, attempts = v.attempts, next_attempt_at = v.next_attempt_at, lease_until = NULL,
                last_error = v.last_error, last_status_code = v.last_status_code
            FROM (VALUES \(Array(repeating: "(CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS TEXT))", count: n).joined(separator: ", "))) AS v (status, attempts, next_attempt_at, last_error, last_status_code, id)
            WHERE deliveries.id = v.id
            """
        },
        width: 6
    )

    /// The arguments of ``finishAttempt`` for one outcome.
    static func finishArguments(_ delivery: Delivery, _ result: AttemptResult) -> [SQLArgument] {
        [.text(result.status.rawValue), .int(result.attempt.number), .time(result.nextAttemptAt), .text(result.attempt.error),
         .int(result.attempt.statusCode), .id(delivery.id)]
    }

    /// A webhook's failing run: cleared by a success, set to the first failure after it.
    static let clearFailing = "UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL"
    static let setFailing = "UPDATE webhooks SET failing_since = ? WHERE id = ?"
    static let startFailing = "UPDATE webhooks SET failing_since = ? WHERE id = ? AND failing_since IS NULL"
    static let disableWebhook = "UPDATE webhooks SET enabled = ?, disabled_reason = ?, updated_at = ? WHERE id = ?"

    /// Gives up the leases of `count` deliveries in one statement (one round trip at shutdown).
    static func releaseLeases(count: Int) -> String {
        "UPDATE deliveries SET lease_until = NULL WHERE id IN (\(placeholders(count)))"
    }

    static let deliveryByID = "SELECT * FROM deliveries WHERE id = ?"
    static let resendOne = "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL WHERE id = ? RETURNING id"
    static let resendSince = """
        UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL
        WHERE webhook_id = ? AND created_at >= ? RETURNING id
        """
    static let deliveriesOfWebhook = "SELECT * FROM deliveries WHERE webhook_id = ? AND created_at < ? ORDER BY created_at DESC, id DESC LIMIT ?"
    static let attemptsOfDelivery = "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY number"
    static let pendingSummary = "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries WHERE status = 'pending'"

    /// Retention: the oldest records before a time (their properties, bodies and scores go with
    /// them by `ON DELETE CASCADE`), and the oldest finished deliveries with their attempts.
    static let oldRecords = "SELECT id FROM requests WHERE created_at < ? ORDER BY created_at LIMIT ?"
    static let oldDeliveries = "SELECT id FROM deliveries WHERE status <> 'pending' AND created_at < ? ORDER BY created_at LIMIT ?"
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

/// The WHERE clause of a ``RecordQuery`` (the table is aliased `r`).
struct SQLFilter: Sendable {
    var sql: String
    var arguments: [SQLArgument]

    init(_ query: RecordQuery) {
        var clauses: [String] = []
        var arguments: [SQLArgument] = []
        func add(_ clause: String, _ values: SQLArgument...) {
            clauses.append(clause)
            arguments += values
        }
        if let project = query.project { add("r.project = ?", .text(project)) }
        if let user = query.userID { add("r.user_id = ?", .text(user)) }
        if let model = query.model { add("r.model = ?", .text(model)) }
        if let status = query.status { add("r.status = ?", .int(status)) }
        if let since = query.since { add("r.created_at >= ?", .time(since)) }
        if let until = query.until { add("r.created_at < ?", .time(until)) }
        for score in query.scores {
            add("EXISTS (SELECT 1 FROM request_scores s WHERE s.request_id = r.id AND s.name = ? AND s.value = ?)", .text(score.name), .real(score.value))
        }
        for property in query.properties {
            add("EXISTS (SELECT 1 FROM request_properties p WHERE p.request_id = r.id AND p.name = ? AND p.value = ?)", .text(property.key), .text(property.value))
        }
        if let cursor = query.cursor {
            add("(r.created_at < ? OR (r.created_at = ? AND r.id < ?))", .integer(cursor.createdAtMicros), .integer(cursor.createdAtMicros), .text(cursor.id))
        }
        self.sql = clauses.isEmpty ? "1 = 1" : clauses.joined(separator: " AND ")
        self.arguments = arguments
    }
}
