import Foundation
import Testing
import TollgateCore

@Suite struct PricingTableTests {
    private let table: PricingTable = {
        try! PricingTable(yaml: """
        models:
          - model: gpt-4o
            match: prefix
            input: 2.50
            output: 10.00
            cache_read: 1.25
          - model: gpt-4o-mini
            match: prefix
            input: 0.15
            output: 0.60
            cache_read: 0.075
          - model: gpt-4o-2024-05-13
            input: 5.00
            output: 15.00
          - model: o4-mini
            match: prefix
            input: 1.10
            output: 4.40
            cache_read: 0.275
          - model: claude-sonnet-4-5
            match: prefix
            provider: anthropic
            input: 3.00
            output: 15.00
            cache_read: 0.30
            cache_write_5m: 3.75
            cache_write_1h: 6.00
          - model: claude-3-haiku
            match: prefix
            input: 0.25
            output: 1.25
          - model: llama-3.3-70b-versatile
            input: 0.9
            output: 0.9
          - model: llama-3.3-70b-versatile
            provider: groq
            input: 0.59
            output: 0.79
            source: https://groq.com/pricing
            read_on: 2026-12-01
        """)
    }()

    private func close(_ a: Double?, _ b: Double) -> Bool {
        guard let a else { return false }
        return abs(a - b) < 1e-12
    }

    @Test func openAICachedTokensAreBilledAtTheCacheReadPrice() {
        // gpt-4o-mini: 1000 prompt tokens of which 400 cached, 200 completion:
        // 600 × 0.15 + 400 × 0.075 + 200 × 0.60 = 90 + 30 + 120 = 240 per million → $0.00024
        let usage = TokenUsage(inputTokens: 1000, outputTokens: 200, cacheReadTokens: 400)
        #expect(close(table.cost(provider: "openai", format: .openai, model: "gpt-4o-mini", usage: usage), 0.00024))
    }

    @Test func anthropicCacheReadsAndBothWriteLifetimesHaveTheirOwnPrices() {
        // claude-sonnet-4-5: 12 uncached × 3 + 10000 read × 0.30 + 1000 5m × 3.75 + 2000 1h × 6
        // + 250 out × 15 = 36 + 3000 + 3750 + 12000 + 3750 = 22536 per million → $0.022536
        let usage = TokenUsage(inputTokens: 13012, outputTokens: 250, cacheReadTokens: 10000,
                               cacheWrite5mTokens: 1000, cacheWrite1hTokens: 2000)
        let cost = table.cost(provider: "anthropic", format: .anthropic, model: "claude-sonnet-4-5-20250929", usage: usage)
        #expect(close(cost, 0.022536))
    }

    @Test func reasoningTokensAreBilledAsOutput() {
        // o4-mini: 52 in × 1.10 + 1186 out (1152 of them reasoning) × 4.40 = 57.2 + 5218.4 → $0.0052756
        let usage = TokenUsage(inputTokens: 52, outputTokens: 1186, reasoningTokens: 1152)
        #expect(close(table.cost(provider: "openai", format: .openai, model: "o4-mini-2025-04-16", usage: usage), 0.0052756))
    }

    @Test func anUnpricedModelHasNoCostRatherThanZero() {
        #expect(table.cost(provider: "openai", format: .openai, model: "mystery-model", usage: TokenUsage(inputTokens: 10)) == nil)
        #expect(table.price(provider: "openai", model: "gpt-4") == nil)
    }

    @Test func datedModelNamesFindTheirOwnFamilyNotAShorterOne() {
        #expect(table.price(provider: "openai", model: "gpt-4o-mini-2024-07-18")?.input == 0.15)
        #expect(table.price(provider: "openai", model: "gpt-4o-2024-08-06")?.input == 2.50)
        #expect(table.price(provider: "anthropic", model: "claude-sonnet-4-5-20250929")?.output == 15)
    }

    @Test func anExactEntryBeatsAPrefixEntry() {
        #expect(table.price(provider: "openai", model: "gpt-4o-2024-05-13")?.input == 5.00)
    }

    @Test func providerRestrictedEntriesApplyOnlyToThatProviderAndWinThere() {
        #expect(table.price(provider: "groq", model: "llama-3.3-70b-versatile")?.input == 0.59)
        #expect(table.price(provider: "together", model: "llama-3.3-70b-versatile")?.input == 0.9)
        #expect(table.price(provider: "bedrock", model: "claude-sonnet-4-5") == nil)
    }

    @Test func modelNamesMatchCaseInsensitively() {
        #expect(table.price(provider: "OpenAI", model: "GPT-4o-Mini")?.input == 0.15)
    }

    @Test func missingCachePricesDefaultToInputAndAnthropicsWriteMultipliers() {
        let price = table.price(provider: "anthropic", model: "claude-3-haiku-20240307")
        #expect(price == ModelPrice(input: 0.25, output: 1.25, cacheRead: 0.25, cacheWrite5m: 0.3125, cacheWrite1h: 0.5))
    }

    @Test func sourceAndReadOnDatesAreKept() {
        let entry = table.entries.last
        #expect(entry?.source == "https://groq.com/pricing")
        #expect(entry?.readOn == "2026-12-01")
    }

    @Test func badTablesAreRejectedWithAReason() {
        #expect(throws: PricingTable.LoadError.self) { try PricingTable(yaml: "models:\n  - model: x\n    input: 1\n") }
        #expect(throws: PricingTable.LoadError.self) {
            try PricingTable(yaml: "models:\n  - model: x\n    match: regex\n    input: 1\n    output: 1\n")
        }
    }
}

@Suite struct ShippedPricingTests {
    private static let table: PricingTable? = {
        let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        guard let text = try? String(contentsOf: root.appendingPathComponent("conf/pricing.yaml"), encoding: .utf8) else { return nil }
        return try? PricingTable(yaml: text)
    }()

    @Test func theShippedTableLoadsAndEveryEntrySaysWhereItsPriceCameFrom() throws {
        let table = try #require(Self.table)
        #expect(table.entries.count > 40)
        for entry in table.entries {
            #expect(entry.source?.hasPrefix("https://") == true, "\(entry.model)")
            #expect(entry.readOn != nil, "\(entry.model)")
        }
    }

    @Test(arguments: [
        ("openai", "gpt-4o-mini-2024-07-18", 0.15), ("openai", "gpt-4o-2024-08-06", 2.50), ("openai", "gpt-5-mini-2025-08-07", 0.25),
        ("openai", "gpt-5-2025-08-07", 1.25), ("openai", "gpt-4.1-nano-2025-04-14", 0.10), ("openai", "o3-mini-2025-01-31", 1.10),
        ("openai", "o1-2024-12-17", 15), ("openai", "text-embedding-3-small", 0.02),
        ("anthropic", "claude-sonnet-4-5-20250929", 3), ("anthropic", "claude-opus-4-1-20250805", 15),
        ("anthropic", "claude-opus-4-5-20251101", 5), ("anthropic", "claude-haiku-4-5-20251001", 1),
        ("anthropic", "claude-3-5-haiku-20241022", 0.80), ("anthropic", "claude-3-7-sonnet-latest", 3),
        ("groq", "llama-3.3-70b-versatile", 0.59), ("deepseek", "deepseek-chat", 0.28),
    ] as [(String, String, Double)])
    func shippedPricesCoverCommonModels(_ provider: String, _ model: String, _ input: Double) throws {
        let table = try #require(Self.table)
        #expect(table.price(provider: provider, model: model)?.input == input)
    }
}
