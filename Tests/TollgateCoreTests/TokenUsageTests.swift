import Foundation
import Testing
import TollgateCore

@Suite struct TokenUsageTests {
    @Test func derivedCountsFollowFromTheNormalizedFields() {
        let usage = TokenUsage(inputTokens: 100, outputTokens: 50, cacheReadTokens: 30, cacheWrite5mTokens: 20, cacheWrite1hTokens: 10)
        #expect(usage.cacheWriteTokens == 30)
        #expect(usage.totalTokens == 150)
        #expect(usage.uncachedInputTokens == 40)
    }

    @Test func uncachedInputNeverGoesNegative() {
        #expect(TokenUsage(inputTokens: 5, cacheReadTokens: 10).uncachedInputTokens == 0)
    }

    @Test func deepSeekCacheHitsCountAsCacheReads() throws {
        let usage = TokenUsage(openAI: try JSONValue.parse(
            #"{"prompt_tokens":100,"completion_tokens":10,"total_tokens":110,"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36}"#))
        #expect(usage == TokenUsage(inputTokens: 100, outputTokens: 10, cacheReadTokens: 64))
    }

    @Test func aBreakdownThatCoversLessThanTheFlatWriteCountsTheRestAsFiveMinutes() throws {
        let usage = TokenUsage(anthropic: try JSONValue.parse(
            #"{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_1h_input_tokens":100}}"#))
        #expect(usage == TokenUsage(inputTokens: 301, outputTokens: 2, cacheWrite5mTokens: 200, cacheWrite1hTokens: 100))
    }

    @Test func objectsWithoutTokenCountsAreNotUsage() throws {
        #expect(TokenUsage(openAI: .null) == nil)
        #expect(TokenUsage(openAI: ["foo": 1]) == nil)
        #expect(TokenUsage(anthropic: ["service_tier": "standard"]) == nil)
    }

    @Test func usageSurvivesACodableRoundTrip() throws {
        let usage = TokenUsage(inputTokens: 1, outputTokens: 2, cacheReadTokens: 3, cacheWrite5mTokens: 4, cacheWrite1hTokens: 5, reasoningTokens: 6)
        let data = try JSONEncoder().encode(usage)
        #expect(try JSONDecoder().decode(TokenUsage.self, from: data) == usage)
    }
}
