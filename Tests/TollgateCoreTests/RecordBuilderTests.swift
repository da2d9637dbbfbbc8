import Foundation
import Testing
@testable import TollgateCore

@Suite struct RecordBuilderTests {
    static let pricing = PricingTable.embedded

    static func exchange(response: String, stream: Bool) -> Exchange {
        Exchange(
            id: UUID(), project: "default", receivedAt: Date(), method: "POST", path: "/v1/chat/completions",
            target: UpstreamTarget(provider: "openai", format: .openai, origin: Origin("https://api.openai.com")!, pathAndQuery: "/v1/chat/completions"),
            tags: GatewayTags(), status: 200, stream: stream, requestBody: Array(#"{"model":"gpt-5-nano"}"#.utf8),
            responseBody: Array(response.utf8), latencyMs: 12
        )
    }

    @Test func costsCarryNoFloatingPointNoise() {
        let body = #"{"object":"chat.completion","model":"gpt-5-nano","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3}}"#
        let built = RecordBuilder(pricing: Self.pricing).build(Self.exchange(response: body, stream: false))
        // 3 × 0.05 / 1e6 is 1.5000000000000002e-7 in floating point; a receiver should see 1.5e-7.
        #expect(built.record.costUSD == 1.5e-7)
    }

    @Test("a call answered from the cache costs 0 and keeps what it would have cost as saved")
    func cacheHitCostsNothing() {
        // gpt-5-nano: 1,000 × $0.05 + 500 × $0.40 per million tokens = $0.00025.
        let body = #"{"object":"chat.completion","model":"gpt-5-nano","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500}}"#
        var exchange = Self.exchange(response: body, stream: false)
        exchange.cacheHit = true
        let built = RecordBuilder(pricing: Self.pricing).build(exchange)
        #expect(built.record.cacheHit)
        #expect(built.record.costUSD == 0)
        #expect(built.record.costSavedUSD == 0.00025)
        #expect(built.record.usage?.totalTokens == 1500)
        #expect(!built.unpriced)
        exchange.cacheHit = false
        let paid = RecordBuilder(pricing: Self.pricing).build(exchange)
        #expect(paid.record.costUSD == 0.00025)
        #expect(paid.record.costSavedUSD == nil)
    }

    @Test func aJSONAnswerIsStoredAsSentAndOnlyStreamsAreRebuilt() {
        let body = "{ \"object\": \"chat.completion\", \"model\": \"gpt-5-nano\", \"choices\": [] }"
        let json = RecordBuilder(pricing: Self.pricing).build(Self.exchange(response: body, stream: false))
        #expect(json.bodies.response == Array(body.utf8))
        #expect(json.bodies.reconstructedResponse == nil)
        let events = #"data: {"object":"chat.completion.chunk","model":"gpt-5-nano","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}"# + "\n\ndata: [DONE]\n\n"
        let stream = RecordBuilder(pricing: Self.pricing).build(Self.exchange(response: events, stream: true))
        let rebuilt = stream.bodies.reconstructedResponse.flatMap { try? JSONParser.parse($0) }
        #expect(rebuilt?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hi")
    }
}
