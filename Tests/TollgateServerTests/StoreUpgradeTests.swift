import Foundation
import Testing
import TollgateCore
@testable import TollgateServer

/// A gateway upgraded in place keeps its data: the databases in Fixtures/ were written by the
/// release before the one SQL store (`scripts/make-upgrade-fixtures` with that release's binary),
/// and the current store opens them, migrates them and shows what that release recorded.
@Suite("Upgrading in place")
struct StoreUpgradeTests {
    static let release = "release-b2fb3b0"
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The release's database, copied, on the engine this run tests (SQLite, or PostgreSQL when
    /// TOLLGATE_TEST_POSTGRES_URL is set: loaded into a new schema).
    static func openReleaseDatabase() async throws -> SQLStore {
        let config = TestGateway.testConfig()
        if case .postgres(let postgres) = config.storage.kind {
            let dump = try String(contentsOf: fixtures.appendingPathComponent(release + ".postgres.sql"), encoding: .utf8)
            let loader = try PostgresDatabase(url: postgres.url, schema: "public", logger: RunningServer.quietLogger)
            try await loader.write([SQLStatement("CREATE SCHEMA \(postgres.schema)")] + Self.statements(ofDump: dump, schema: postgres.schema))
            await loader.close()
            return try SQLStore.postgres(url: postgres.url, schema: postgres.schema, logger: RunningServer.quietLogger)
        }
        try FileManager.default.createDirectory(atPath: config.storage.path, withIntermediateDirectories: true)
        let path = config.storage.path + "/tollgate.sqlite"
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent(release + ".sqlite"), to: URL(fileURLWithPath: path))
        return try SQLStore.sqlite(path: path)
    }

    /// The statements of a `pg_dump --inserts` file, its schema renamed; psql's own settings and meta-commands left out.
    static func statements(ofDump dump: String, schema: String) -> [SQLStatement] {
        dump.replacingOccurrences(of: "release_fixture.", with: schema + ".")
            .components(separatedBy: ";\n")
            .map { $0.split(separator: "\n").filter { !$0.hasPrefix("--") && !$0.hasPrefix("\\") }.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty && !$0.hasPrefix("SET ") && !$0.hasPrefix("SELECT pg_catalog.set_config") && !$0.hasPrefix("CREATE SCHEMA") }
            .map { SQLStatement($0) }
    }

    @Test("a database the previous release wrote opens and migrates, and shows its calls, bodies, scores, webhooks and delivery attempts as that release did")
    func previousReleaseDatabaseUpgrades() async throws {
        let store = try await Self.openReleaseDatabase()
        defer { DeliveryHandoffTests.close(store) }
        try await store.migrate()

        let records = try await store.records(matching: RecordQuery()).records
        #expect(records.count == 3)
        let priced = try #require(records.first { $0.userID == "alice" })
        #expect(priced.model == "gpt-4o-mini-2024-07-18")
        #expect(priced.properties == [Property(name: "Environment", value: "prod"), Property(name: "App", value: "fixture")])
        #expect(priced.usage?.inputTokens == 12)
        #expect(priced.usage?.outputTokens == 3)
        // gpt-4o-mini: 12 × $0.15 + 3 × $0.60 per million tokens = $0.0000036.
        #expect(abs((priced.costUSD ?? 0) - 3.6e-6) < 1e-12)
        #expect(priced.cacheHit == false, "calls from before the cache read as not cached")
        #expect(priced.overheadMs == nil, "calls from before the latency split have none")
        let bodies = try #require(try await store.bodies(id: priced.id))
        #expect(String(decoding: bodies.response ?? [], as: UTF8.self).contains(#""content": "Hello <b>there</b>""#))
        let scores = try await store.scores(requestIDs: [priced.id])[priced.id] ?? []
        #expect(scores == [Score(name: "accuracy", value: 0.5, isBool: false), Score(name: "helpful", value: 1, isBool: true)])

        let stream = try #require(records.first { $0.userID == "bob" })
        #expect(stream.stream)
        #expect(stream.usage?.totalTokens == 6)
        #expect(try await store.bodies(id: stream.id)?.reconstructedResponse != nil)
        #expect(records.contains { $0.status == 529 })
        // The unpriced models' list, kept as calls are recorded since v10, starts from the calls stored
        // before: here none (the 529 call has no usage, so it is not unpriced).
        let unpriced = records.filter { $0.costUSD == nil && $0.usage != nil }
        #expect(try await store.unpricedModels(project: nil).map { "\($0.model ?? "-") \($0.calls)" }
            == Dictionary(grouping: unpriced) { $0.model ?? "-" }.map { "\($0.key) \($0.value.count)" }.sorted())

        var byProperty = RecordQuery()
        byProperty.properties = [Property(name: "environment", value: "prod")]
        #expect(try await store.records(matching: byProperty).records.map(\.id) == [priced.id])

        let webhook = try #require(try await store.webhooks(project: nil).first)
        #expect(webhook.destination == "http://127.0.0.1:9/down")
        #expect(webhook.failingSince != nil)
        let deliveries = try await store.deliveries(webhookID: webhook.id, limit: 10, before: nil)
        #expect(deliveries.count == 3)
        for delivery in deliveries {
            let attempts = try await store.attempts(deliveryID: delivery.id)
            #expect(!attempts.isEmpty)
            #expect(attempts.allSatisfy { $0.error != nil })
        }

        // And it goes on recording, new columns included.
        var next = StoreContractTests.record(at: 0, user: "carol")
        next.overheadMs = 1.5
        next.upstreamLatencyMs = 98.5
        try await store.insert([StoreContractTests.exchange(next)])
        #expect(try await store.record(id: next.id) == next)
    }
}
