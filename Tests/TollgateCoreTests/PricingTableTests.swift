import Foundation
import Testing
@testable import TollgateCore

/// Costs of real-shaped provider answers, priced with the snapshot compiled into the binary.
///
/// Every expected cost is worked out here from the provider's published list prices in USD per
/// million tokens (OpenAI's and Anthropic's pricing pages, as of the snapshot's date), typed in
/// by hand — not read back from the map, which would test nothing. A refreshed snapshot that
/// changes a price fails these tests until the price here is checked and changed too.
@Suite struct PricesMatchTheBillTests {
    /// A published price, USD per million tokens: input, cached input (cache read), output, and
    /// for Anthropic the 5-minute and 1-hour cache writes.
    struct ListPrice: Sendable, CustomStringConvertible {
        var model: String
        var input: Double
        var cached: Double
        var output: Double
        var write5m: Double = 0
        var write1h: Double = 0
        var description: String { model }
    }

    // MARK: - Bodies as the providers send them

    static func chatCompletion(model: String, prompt: Int, cached: Int, completion: Int, reasoning: Int = 0,
                               audioIn: Int = 0, audioOut: Int = 0, cacheWrite: (m30: Int, h12: Int)? = nil, tier: String = "default") -> String {
        let writes = cacheWrite.map { #","cache_write_tokens":\#($0.m30 + $0.h12),"cache_write_tokens_details":{"ttl_30m_tokens":\#($0.m30),"ttl_12h_tokens":\#($0.h12)}"# } ?? ""
        return """
        {"id":"chatcmpl-CXa1","object":"chat.completion","created":1764547200,"model":"\(model)",\
        "choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null,"annotations":[]},"finish_reason":"stop"}],\
        "usage":{"prompt_tokens":\(prompt),"completion_tokens":\(completion),"total_tokens":\(prompt + completion),\
        "prompt_tokens_details":{"cached_tokens":\(cached),"audio_tokens":\(audioIn)\(writes)},\
        "completion_tokens_details":{"reasoning_tokens":\(reasoning),"audio_tokens":\(audioOut),"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},\
        "service_tier":"\(tier)","system_fingerprint":null}
        """
    }

    static func chatStream(model: String, prompt: Int, cached: Int, completion: Int, reasoning: Int = 0, tier: String = "default") -> String {
        let head = #"{"id":"chatcmpl-CXa2","object":"chat.completion.chunk","created":1764547200,"model":"\#(model)","service_tier":"\#(tier)","system_fingerprint":null,"#
        return [
            head + #""choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}],"usage":null}"#,
            head + #""choices":[{"index":0,"delta":{"content":"Hello!"},"finish_reason":null}],"usage":null}"#,
            head + #""choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"#,
            head + #""choices":[],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion),"prompt_tokens_details":{"cached_tokens":\#(cached),"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":\#(reasoning),"audio_tokens":0}}}"#,
        ].map { "data: \($0)\n\n" }.joined() + "data: [DONE]\n\n"
    }

    static func response(model: String, input: Int, cached: Int, output: Int, reasoning: Int, tier: String = "default") -> String {
        """
        {"id":"resp_68a1","object":"response","created_at":1764547200,"status":"completed","model":"\(model)",\
        "output":[{"id":"rs_1","type":"reasoning","summary":[]},{"id":"msg_1","type":"message","status":"completed","role":"assistant",\
        "content":[{"type":"output_text","annotations":[],"text":"Hello!"}]}],"service_tier":"\(tier)",\
        "usage":{"input_tokens":\(input),"input_tokens_details":{"cached_tokens":\(cached)},"output_tokens":\(output),\
        "output_tokens_details":{"reasoning_tokens":\(reasoning)},"total_tokens":\(input + output)}}
        """
    }

    static func responseStream(model: String, input: Int, cached: Int, output: Int, reasoning: Int, tier: String = "default") -> String {
        let done = response(model: model, input: input, cached: cached, output: output, reasoning: reasoning, tier: tier)
        let created = #"{"type":"response.created","sequence_number":0,"response":{"id":"resp_68a1","object":"response","status":"in_progress","model":"\#(model)","output":[],"usage":null}}"#
        let delta = #"{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Hello!"}"#
        return "event: response.created\ndata: \(created)\n\n" + "event: response.output_text.delta\ndata: \(delta)\n\n"
            + "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":\(done)}\n\n"
    }

    static func anthropicMessage(model: String, input: Int, read: Int, write5m: Int, write1h: Int, output: Int, extra: String = "") -> String {
        """
        {"id":"msg_01XFD","type":"message","role":"assistant","model":"\(model)","content":[{"type":"text","text":"Bonjour !"}],\
        "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":\(input),"cache_creation_input_tokens":\(write5m + write1h),\
        "cache_read_input_tokens":\(read),"cache_creation":{"ephemeral_5m_input_tokens":\(write5m),"ephemeral_1h_input_tokens":\(write1h)},\
        "output_tokens":\(output),"service_tier":"standard"\(extra)}}
        """
    }

    static func anthropicStream(model: String, input: Int, read: Int, write5m: Int, write1h: Int, output: Int) -> String {
        let start = #"{"type":"message_start","message":{"id":"msg_01XFE","type":"message","role":"assistant","model":"\#(model)","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":\#(input),"cache_creation_input_tokens":\#(write5m + write1h),"cache_read_input_tokens":\#(read),"cache_creation":{"ephemeral_5m_input_tokens":\#(write5m),"ephemeral_1h_input_tokens":\#(write1h)},"output_tokens":1,"service_tier":"standard"}}}"#
        let events: [(String, String)] = [
            ("message_start", start),
            ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
            ("ping", #"{"type": "ping"}"#),
            ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bonjour !"}}"#),
            ("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
            ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":\#(output)}}"#),
            ("message_stop", #"{"type":"message_stop"}"#),
        ]
        return events.map { "event: \($0.0)\ndata: \($0.1)\n\n" }.joined()
    }

    static func embedding(model: String, tokens: Int) -> String {
        #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292]}],"model":"\#(model)","usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#
    }

    /// The cost Tollgate records for `body`, answered by `provider` to a request for `model`.
    static func recordedCost(_ body: String, stream: Bool = false, provider: String = "openai", format: APIFormat = .openai,
                             requestModel: String = "unused", pricing: PricingTable = .embedded) -> Double? {
        let exchange = Exchange(
            id: UUID(), project: "default", receivedAt: Date(), method: "POST", path: "/v1/chat/completions",
            target: UpstreamTarget(provider: provider, format: format, origin: Origin("https://api.example.com")!, pathAndQuery: "/v1/x"),
            tags: GatewayTags(), status: 200, stream: stream, requestBody: Array(#"{"model":"\#(requestModel)"}"#.utf8),
            responseBody: Array(body.utf8), latencyMs: 10
        )
        return RecordBuilder(pricing: pricing).build(exchange).record.costUSD
    }

    static func close(_ a: Double?, _ b: Double) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= 1e-12 + abs(b) * 1e-9
    }

    // MARK: - The issue's cases

    @Test func gpt55WithCachedInputCostsWhatOpenAIBills() {
        // gpt-5.5: $5 in, $0.50 cached, $30 out. 600 × 5 + 400 × 0.5 + 200 × 30 = 9,200 per million.
        let body = Self.chatCompletion(model: "gpt-5.5", prompt: 1000, cached: 400, completion: 200)
        #expect(Self.close(Self.recordedCost(body), 0.0092))
    }

    @Test func gpt52ProIsNotPricedAsGpt52() {
        // gpt-5.2-pro (Responses API): $21 in, $168 out. 1000 × 21 + 100 × 168 = 37,800 per million.
        let body = Self.response(model: "gpt-5.2-pro-2025-12-11", input: 1000, cached: 0, output: 100, reasoning: 80)
        #expect(Self.close(Self.recordedCost(body), 0.0378))
        #expect(Self.close(Self.recordedCost(Self.responseStream(model: "gpt-5.2-pro", input: 1000, cached: 0, output: 100, reasoning: 80), stream: true), 0.0378))
    }

    @Test func claudeOpus47IsNotPricedAsClaudeOpus4() {
        // claude-opus-4-7: $5 in, $0.50 cache read, $6.25 5-minute write, $25 out.
        // 1000 × 5 + 5000 × 0.5 + 1000 × 6.25 + 115 × 25 = 5000 + 2500 + 6250 + 2875 = 16,625 per million.
        let json = Self.anthropicMessage(model: "claude-opus-4-7", input: 1000, read: 5000, write5m: 1000, write1h: 0, output: 115)
        #expect(Self.close(Self.recordedCost(json, provider: "anthropic", format: .anthropic), 0.016625))
        let stream = Self.anthropicStream(model: "claude-opus-4-7-20260416", input: 1000, read: 5000, write5m: 1000, write1h: 0, output: 115)
        #expect(Self.close(Self.recordedCost(stream, stream: true, provider: "anthropic", format: .anthropic), 0.016625))
    }

    @Test func claudeSonnet55AndOpus55ArePriced() {
        // claude-sonnet-5-5: $2 in, $0.10 read, $2.50 5m write, $4 1h write, $10 out:
        // 100 × 2 + 2000 × 0.1 + 400 × 2.5 + 100 × 4 + 300 × 10 = 200 + 200 + 1000 + 400 + 3000 = 4,800.
        let sonnet = Self.anthropicMessage(model: "claude-sonnet-5-5", input: 100, read: 2000, write5m: 400, write1h: 100, output: 300)
        #expect(Self.close(Self.recordedCost(sonnet, provider: "anthropic", format: .anthropic), 0.0048))
        // claude-opus-5-5: $4 in, $0.20 read, $5 5m write, $8 1h write, $20 out:
        // 100 × 4 + 2000 × 0.2 + 400 × 5 + 100 × 8 + 300 × 20 = 400 + 400 + 2000 + 800 + 6000 = 9,600.
        let opus = Self.anthropicMessage(model: "claude-opus-5-5", input: 100, read: 2000, write5m: 400, write1h: 100, output: 300)
        #expect(Self.close(Self.recordedCost(opus, provider: "anthropic", format: .anthropic), 0.0096))
    }

    @Test func gpt55AboveItsLongContextThresholdCostsTheLongContextRate() {
        // More than 272K input tokens: $10 in, $45 out for the whole call. 300,000 × 10 + 1000 × 45 = 3,045,000.
        let body = Self.chatCompletion(model: "gpt-5.5", prompt: 300_000, cached: 0, completion: 1000)
        #expect(Self.close(Self.recordedCost(body), 3.045))
    }

    // MARK: - Today's models, JSON and streams

    static let openAIModels: [ListPrice] = [
        ListPrice(model: "gpt-5.5", input: 5, cached: 0.5, output: 30),
        ListPrice(model: "gpt-5.5-2026-04-23", input: 5, cached: 0.5, output: 30),
        ListPrice(model: "gpt-5.4", input: 2.5, cached: 0.25, output: 15),
        ListPrice(model: "gpt-5.4-mini-2026-03-17", input: 0.75, cached: 0.075, output: 4.5),
        ListPrice(model: "gpt-5.4-nano", input: 0.2, cached: 0.02, output: 1.25),
        ListPrice(model: "gpt-5.2", input: 1.75, cached: 0.175, output: 14),
        ListPrice(model: "gpt-5.2-2025-12-11", input: 1.75, cached: 0.175, output: 14),
        ListPrice(model: "gpt-5.1", input: 1.25, cached: 0.125, output: 10),
        ListPrice(model: "gpt-5", input: 1.25, cached: 0.125, output: 10),
        ListPrice(model: "gpt-5-2025-08-07", input: 1.25, cached: 0.125, output: 10),
        ListPrice(model: "gpt-5-mini-2025-08-07", input: 0.25, cached: 0.025, output: 2),
        ListPrice(model: "gpt-5-nano", input: 0.05, cached: 0.005, output: 0.4),
        ListPrice(model: "gpt-4.1", input: 2, cached: 0.5, output: 8),
        ListPrice(model: "gpt-4.1-mini-2025-04-14", input: 0.4, cached: 0.1, output: 1.6),
        ListPrice(model: "gpt-4o", input: 2.5, cached: 1.25, output: 10),
        ListPrice(model: "gpt-4o-mini-2024-07-18", input: 0.15, cached: 0.075, output: 0.6),
        ListPrice(model: "o3", input: 2, cached: 0.5, output: 8),
        ListPrice(model: "o4-mini-2025-04-16", input: 1.1, cached: 0.275, output: 4.4),
    ]

    @Test(arguments: openAIModels)
    func openAIChatCallsAreCostedAtTheListPrice(_ price: ListPrice) {
        // 1000 prompt tokens of which 400 cached, 200 completion tokens of which 120 reasoning.
        let expected = (600 * price.input + 400 * price.cached + 200 * price.output) / 1e6
        let json = Self.chatCompletion(model: price.model, prompt: 1000, cached: 400, completion: 200, reasoning: 120)
        #expect(Self.close(Self.recordedCost(json), expected), "JSON")
        let stream = Self.chatStream(model: price.model, prompt: 1000, cached: 400, completion: 200, reasoning: 120)
        #expect(Self.close(Self.recordedCost(stream, stream: true), expected), "stream")
        let responses = Self.responseStream(model: price.model, input: 1000, cached: 400, output: 200, reasoning: 120)
        #expect(Self.close(Self.recordedCost(responses, stream: true), expected), "Responses API stream")
    }

    static let anthropicModels: [ListPrice] = [
        ListPrice(model: "claude-opus-4-7", input: 5, cached: 0.5, output: 25, write5m: 6.25, write1h: 10),
        ListPrice(model: "claude-opus-4-7-20260416", input: 5, cached: 0.5, output: 25, write5m: 6.25, write1h: 10),
        ListPrice(model: "claude-opus-4-6", input: 5, cached: 0.5, output: 25, write5m: 6.25, write1h: 10),
        ListPrice(model: "claude-opus-4-5-20251101", input: 5, cached: 0.5, output: 25, write5m: 6.25, write1h: 10),
        ListPrice(model: "claude-sonnet-4-6", input: 3, cached: 0.3, output: 15, write5m: 3.75, write1h: 6),
        ListPrice(model: "claude-sonnet-4-5-20250929", input: 3, cached: 0.3, output: 15, write5m: 3.75, write1h: 6),
        ListPrice(model: "claude-haiku-4-5-20251001", input: 1, cached: 0.1, output: 5, write5m: 1.25, write1h: 2),
        ListPrice(model: "claude-sonnet-5", input: 2, cached: 0.2, output: 10, write5m: 2.5, write1h: 4),
        ListPrice(model: "claude-sonnet-5-5", input: 2, cached: 0.1, output: 10, write5m: 2.5, write1h: 4),
        ListPrice(model: "claude-opus-5-5", input: 4, cached: 0.2, output: 20, write5m: 5, write1h: 8),
        ListPrice(model: "claude-haiku-5-5", input: 0.1, cached: 0.01, output: 0.5, write5m: 0.125, write1h: 0.2),
    ]

    @Test(arguments: anthropicModels)
    func anthropicMessagesAreCostedAtTheListPriceWithBothCacheWriteLifetimes(_ price: ListPrice) {
        // 800 uncached input, 6000 cache reads, 1000 5-minute writes, 500 1-hour writes, 240 output.
        let expected = (800 * price.input + 6000 * price.cached + 1000 * price.write5m + 500 * price.write1h + 240 * price.output) / 1e6
        let json = Self.anthropicMessage(model: price.model, input: 800, read: 6000, write5m: 1000, write1h: 500, output: 240)
        #expect(Self.close(Self.recordedCost(json, provider: "anthropic", format: .anthropic), expected), "JSON")
        let stream = Self.anthropicStream(model: price.model, input: 800, read: 6000, write5m: 1000, write1h: 500, output: 240)
        #expect(Self.close(Self.recordedCost(stream, stream: true, provider: "anthropic", format: .anthropic), expected), "stream")
    }

    // MARK: - Strict matching

    @Test(arguments: [
        "gpt-5.5-mini", "gpt-5.3", "gpt-5.7", "gpt-5.5-preview", "o5", "gpt-5.2-pro-mini", "gpt-4o-mini-2024",
        "gpt-5.5-2026-04-23-extra", "gpt-5.5x", "claude-opus-4", "claude-opus-4-1", "claude-opus-4-9", "claude-sonnet-4",
        "claude-sonnet-4-7", "claude-haiku-4", "claude-3-haiku-20240307", "my-private-finetune", "openai/", "anthropic.claude-nope-v1:0",
    ])
    func aSiblingOfAPricedModelIsUnpricedNotPricedAsTheSibling(_ model: String) {
        #expect(PricingTable.embedded.match(provider: "openai", model: model) == nil)
        let body = Self.chatCompletion(model: model, prompt: 1000, cached: 0, completion: 10)
        #expect(Self.recordedCost(body) == nil)
    }

    @Test(arguments: [
        ("gpt-5.5-2026-09-01", "gpt-5.5", PriceMatch.Kind.datedSnapshot),
        ("gpt-5.5-20260901", "gpt-5.5", .datedSnapshot),
        ("claude-opus-4-7-20261001", "claude-opus-4-7", .datedSnapshot),
        ("claude-opus-4-7@20260416", "claude-opus-4-7", .datedSnapshot),
        ("GPT-5.5", "gpt-5.5", .exact),
        ("gpt-5.4-mini-2026-03-17", "gpt-5.4-mini-2026-03-17", .exact),
        ("openai/gpt-5.5", "gpt-5.5", .providerQualified),
        ("anthropic/claude-opus-4-7", "claude-opus-4-7", .providerQualified),
        ("anthropic.claude-opus-4-7-20260416-v1:0", "claude-opus-4-7-20260416", .providerQualified),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929", .providerQualified),
        ("global.anthropic.claude-haiku-4-5-v1:0", "claude-haiku-4-5", .providerQualified),
        ("openai/gpt-5.5-2026-09-01", "gpt-5.5", .providerQualifiedDatedSnapshot),
    ] as [(String, String, PriceMatch.Kind)])
    func datedSnapshotsAndProviderQualifiedNamesFindTheirModel(_ model: String, _ entry: String, _ kind: PriceMatch.Kind) {
        let match = PricingTable.embedded.match(provider: "openai", model: model)
        #expect(match?.price.name == entry)
        #expect(match?.kind == kind)
    }

    @Test func aBedrockNameIsCostedAtTheAnthropicPrice() {
        // claude-sonnet-4-5: $3 in, $15 out. 1000 × 3 + 100 × 15 = 4,500 per million.
        let body = Self.anthropicMessage(model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", input: 1000, read: 0, write5m: 0, write1h: 0, output: 100)
        #expect(Self.close(Self.recordedCost(body, provider: "anthropic", format: .anthropic), 0.0045))
    }

    @Test func aHostsOwnEntryWinsForCallsThroughThatHost() {
        // Groq's own entry for openai/gpt-oss-120b is priced per Groq, not as an OpenAI model.
        let match = PricingTable.embedded.match(provider: "groq", model: "openai/gpt-oss-120b")
        #expect(match?.price.name == "groq/openai/gpt-oss-120b")
        #expect(PricingTable.embedded.match(provider: "together", model: "openai/gpt-oss-120b")?.price.litellmProvider == "together_ai")
    }

    // MARK: - The bill's rules

    @Test func exactlyAtTheThresholdIsStillTheStandardRate() {
        // "More than 272K": 272,000 input tokens × $5 + 100 × $30 = 1,363,000 per million.
        let body = Self.chatCompletion(model: "gpt-5.5", prompt: 272_000, cached: 0, completion: 100)
        #expect(Self.close(Self.recordedCost(body), 1.363))
    }

    @Test func cachedTokensCountTowardTheLongContextThresholdButOutputDoesNot() {
        // 280,000 input of which 200,000 cached crosses 272K: 80,000 × $10 + 200,000 × $1 + 500 × $45
        // = 800,000 + 200,000 + 22,500 = 1,022,500 per million.
        let crossed = Self.chatCompletion(model: "gpt-5.5", prompt: 280_000, cached: 200_000, completion: 500)
        #expect(Self.close(Self.recordedCost(crossed), 1.0225))
        // 270,000 input and 50,000 output (reasoning) stays below: 270,000 × 5 + 50,000 × 30 = 2,850,000.
        let below = Self.chatCompletion(model: "gpt-5.5", prompt: 270_000, cached: 0, completion: 50_000, reasoning: 49_000)
        #expect(Self.close(Self.recordedCost(below), 2.85))
    }

    @Test func anthropicLongContextCountsCacheReadsAndWritesTowardItsThreshold() {
        // claude-haiku-5-5 above 100K input tokens: $0.50 in, $0.05 read, $0.625 5m write, $1 1h write,
        // $2.50 out. 10,000 uncached + 80,000 read + 15,000 written = 105,000 > 100K:
        // 10,000 × 0.5 + 80,000 × 0.05 + 10,000 × 0.625 + 5,000 × 1 + 1000 × 2.5 = 5000 + 4000 + 6250 + 5000 + 2500 = 22,750.
        let body = Self.anthropicMessage(model: "claude-haiku-5-5", input: 10_000, read: 80_000, write5m: 10_000, write1h: 5_000, output: 1000)
        #expect(Self.close(Self.recordedCost(body, provider: "anthropic", format: .anthropic), 0.02275))
    }

    @Test func xAIBillsItsHigherTierFromTheThresholdOn() {
        // grok-4.3 through a provider named xai: $1.25 in / $2.50 out, from 200K input tokens on $2.50 / $5.
        // 200,000 × 2.5 + 1000 × 5 = 505,000 per million; 199,999 × 1.25 + 1000 × 2.5 = 252,498.75.
        let at = Self.chatCompletion(model: "grok-4.3", prompt: 200_000, cached: 0, completion: 1000)
        #expect(Self.close(Self.recordedCost(at, provider: "xai"), 0.505))
        let below = Self.chatCompletion(model: "grok-4.3", prompt: 199_999, cached: 0, completion: 1000)
        #expect(Self.close(Self.recordedCost(below, provider: "xai"), 0.25249875))
    }

    @Test func flexAndPriorityAnswersAreCostedAtTheirTiersRates() {
        // gpt-5.5 flex: $2.50 in, $0.25 cached, $15 out: 600 × 2.5 + 400 × 0.25 + 200 × 15 = 4,600.
        let flex = Self.chatCompletion(model: "gpt-5.5", prompt: 1000, cached: 400, completion: 200, tier: "flex")
        #expect(Self.close(Self.recordedCost(flex), 0.0046))
        // gpt-5.5 priority: $12.50 in, $1.25 cached, $75 out: 600 × 12.5 + 400 × 1.25 + 200 × 75 = 23,000.
        let priority = Self.response(model: "gpt-5.5", input: 1000, cached: 400, output: 200, reasoning: 0, tier: "priority")
        #expect(Self.close(Self.recordedCost(priority), 0.023))
        let stream = Self.chatStream(model: "gpt-5.5", prompt: 1000, cached: 400, completion: 200, tier: "priority")
        #expect(Self.close(Self.recordedCost(stream, stream: true), 0.023))
        // "default" is the standard price: 9,200.
        #expect(Self.close(Self.recordedCost(Self.chatCompletion(model: "gpt-5.5", prompt: 1000, cached: 400, completion: 200, tier: "default")), 0.0092))
    }

    @Test func aTierTheMapDoesNotPriceForAModelBillsAtStandardRates() {
        // gpt-4.1 has no flex price: 600 × 2 + 400 × 0.5 + 200 × 8 = 3,000.
        let body = Self.chatCompletion(model: "gpt-4.1", prompt: 1000, cached: 400, completion: 200, tier: "flex")
        #expect(Self.close(Self.recordedCost(body), 0.003))
    }

    @Test func flexAboveTheThresholdUsesTheFlexLongContextRate() {
        // gpt-5.5 flex above 272K: $5 in, $22.50 out. 300,000 × 5 + 1000 × 22.5 = 1,522,500.
        let body = Self.chatCompletion(model: "gpt-5.5", prompt: 300_000, cached: 0, completion: 1000, tier: "flex")
        #expect(Self.close(Self.recordedCost(body), 1.5225))
    }

    @Test func usOnlyInferenceAndFastModeCostTheirMultiples() {
        // claude-opus-4-7 at list price: 1000 × 5 + 200 × 25 = 10,000 per million; US-only inference is 1.1×.
        let us = Self.anthropicMessage(model: "claude-opus-4-7", input: 1000, read: 0, write5m: 0, write1h: 0, output: 200,
                                       extra: #","inference_geo":"us""#)
        #expect(Self.close(Self.recordedCost(us, provider: "anthropic", format: .anthropic), 0.011))
        let global = Self.anthropicMessage(model: "claude-opus-4-7", input: 1000, read: 0, write5m: 0, write1h: 0, output: 200,
                                           extra: #","inference_geo":"global""#)
        #expect(Self.close(Self.recordedCost(global, provider: "anthropic", format: .anthropic), 0.01))
        // claude-opus-5-5: 1000 × 4 + 200 × 20 = 8,000; fast mode is 2×, and 2 × 1.1 with US-only inference.
        let fast = Self.anthropicMessage(model: "claude-opus-5-5", input: 1000, read: 0, write5m: 0, write1h: 0, output: 200,
                                         extra: #","speed":"fast""#)
        #expect(Self.close(Self.recordedCost(fast, provider: "anthropic", format: .anthropic), 0.016))
        let both = Self.anthropicMessage(model: "claude-opus-5-5", input: 1000, read: 0, write5m: 0, write1h: 0, output: 200,
                                         extra: #","inference_geo":"us","speed":"fast""#)
        #expect(Self.close(Self.recordedCost(both, provider: "anthropic", format: .anthropic), 0.0176))
    }

    @Test func audioTokensAreCostedAtAudioRates() {
        // gpt-audio: text $2.50 in / $10 out, audio $32 in / $64 out. 800 prompt tokens of which 500 audio,
        // 300 completion of which 200 audio: 300 × 2.5 + 500 × 32 + 100 × 10 + 200 × 64
        // = 750 + 16,000 + 1000 + 12,800 = 30,550 per million.
        let body = Self.chatCompletion(model: "gpt-audio", prompt: 800, cached: 0, completion: 300, audioIn: 500, audioOut: 200)
        #expect(Self.close(Self.recordedCost(body), 0.03055))
    }

    @Test func openAICacheWritesAreCostedWhereTheModelPricesThem() {
        // gpt-5.6: $4 in, $0.40 cached, $5 30-minute write, $10 12-hour write, $20 out. 5000 prompt tokens:
        // 1000 cached, 1500 + 500 written, 2000 plain; 100 out:
        // 2000 × 4 + 1000 × 0.4 + 1500 × 5 + 500 × 10 + 100 × 20 = 8000 + 400 + 7500 + 5000 + 2000 = 22,900.
        let body = Self.chatCompletion(model: "gpt-5.6", prompt: 5000, cached: 1000, completion: 100, cacheWrite: (1500, 500))
        #expect(Self.close(Self.recordedCost(body), 0.0229))
        // gpt-5.5 prices no cache write: written tokens cost plain input. 5000 - 1000 cached = 4000 × 5 + 1000 × 0.5 + 100 × 30 = 23,500.
        let unpricedWrites = Self.chatCompletion(model: "gpt-5.5", prompt: 5000, cached: 1000, completion: 100, cacheWrite: (2000, 0))
        #expect(Self.close(Self.recordedCost(unpricedWrites), 0.0235))
    }

    @Test func embeddingsCostTheirInputOnly() {
        // text-embedding-3-small $0.02, -3-large $0.13 per million input tokens.
        #expect(Self.close(Self.recordedCost(Self.embedding(model: "text-embedding-3-small", tokens: 5000)), 0.0001))
        #expect(Self.close(Self.recordedCost(Self.embedding(model: "text-embedding-3-large", tokens: 5000)), 0.00065))
    }

    // MARK: - Overrides and newer maps

    @Test func overridesAddAModelAndCorrectOnePriceOfAnother() throws {
        var table = PricingTable.embedded
        table.apply([
            try PriceOverride(fields: ["model": "my-finetune", "input": "1", "output": "2"]),
            try PriceOverride(fields: ["model": "gpt-5.5", "input": "4"]),
            try PriceOverride(fields: ["model": "llama-3.3-70b-versatile", "provider": "groq", "input": "0.59", "output": "0.79"]),
        ])
        // 1000 × 1 + 100 × 2 = 1,200.
        #expect(Self.close(Self.recordedCost(Self.chatCompletion(model: "my-finetune", prompt: 1000, cached: 0, completion: 100), pricing: table), 0.0012))
        // gpt-5.5 input corrected to $4, the rest kept: 600 × 4 + 400 × 0.5 + 200 × 30 = 8,600.
        #expect(Self.close(Self.recordedCost(Self.chatCompletion(model: "gpt-5.5", prompt: 1000, cached: 400, completion: 200), pricing: table), 0.0086))
        let groq = Self.chatCompletion(model: "llama-3.3-70b-versatile", prompt: 1000, cached: 0, completion: 1000)
        #expect(Self.close(Self.recordedCost(groq, provider: "groq", pricing: table), 0.00138))
        #expect(Self.recordedCost(groq, provider: "together", pricing: table) == nil)
        #expect(table.match(provider: "openai", model: "gpt-5.5")?.price.origin.hasPrefix("pricing.overrides over embedded snapshot") == true)
    }

    @Test func badOverridesAreRejectedWithAReason() {
        #expect(throws: PricingTable.LoadError.self) { try PriceOverride(fields: ["input": "1"]) }
        #expect(throws: PricingTable.LoadError.self) { try PriceOverride(fields: ["model": "x", "input": "cheap"]) }
        #expect(throws: PricingTable.LoadError.self) { try PriceOverride(fields: ["model": "x", "inptu": "1"]) }
        #expect(throws: PricingTable.LoadError.self) { try PriceOverride(fields: ["model": "x"]) }
        #expect(throws: PricingTable.LoadError.self) { try PriceOverride(fields: ["model": "gpt-4o", "match": "prefix", "input": "1"]) }
    }

    @Test func aNewerCopyOfTheMapReplacesTheSnapshotsEntries() throws {
        var table = PricingTable.embedded
        let newer = try PricingTable(litellmJSON: """
            {"sample_spec": {"input_cost_per_token": 0}, \
             "gpt-5.5": {"input_cost_per_token": 4e-06, "output_cost_per_token": 2.4e-05, "litellm_provider": "openai", "mode": "chat"}, \
             "gpt-7": {"input_cost_per_token": "1e-05", "output_cost_per_token": 5e-05, "litellm_provider": "openai", "mode": "chat"}, \
             "dall-e-9": {"output_cost_per_image": 0.04, "litellm_provider": "openai", "mode": "image_generation"}}
            """, origin: "newer.json")
        table.merge(newer)
        // 1000 × 4 + 100 × 24 = 6,400 (no cache price in the newer entry: cached tokens cost input).
        #expect(Self.close(Self.recordedCost(Self.chatCompletion(model: "gpt-5.5", prompt: 1000, cached: 0, completion: 100), pricing: table), 0.0064))
        #expect(Self.close(Self.recordedCost(Self.chatCompletion(model: "gpt-7", prompt: 1000, cached: 0, completion: 100), pricing: table), 0.015))
        #expect(table.match(provider: "openai", model: "dall-e-9") == nil)
        #expect(table.match(provider: "openai", model: "claude-opus-4-7") != nil)
        #expect(throws: PricingTable.LoadError.self) { try PricingTable(litellmJSON: "[1, 2]", origin: "bad.json") }
    }

    @Test func theEarlierYAMLTableFormatReadsAsOverrides() throws {
        let rows = try PriceOverride.list(yaml: "models:\n  - model: my-model\n    input: 2.5\n    output: 10\n    cache_read: 1.25\n    source: https://example.com\n", source: "old.yaml")
        #expect(rows == [PriceOverride(model: "my-model", provider: nil, costs: ["input_cost_per_token": 2.5e-6, "output_cost_per_token": 1e-5, "cache_read_input_token_cost": 1.25e-6])])
    }

    // MARK: - What an operator is told

    @Test func thePricingReportNamesTheEntryHowItMatchedAndItsRates() throws {
        let report = try #require(PriceReport.json(model: "gpt-5.5-2026-09-01", provider: "openai", table: .embedded))
        #expect(report["entry"]?.stringValue == "gpt-5.5")
        #expect(report["match"]?.stringValue == "dated_snapshot")
        #expect(report["origin"]?.stringValue?.contains(PriceSnapshot.version) == true)
        #expect(report["usd_per_million_tokens"]?["input"]?.doubleValue == 5)
        #expect(report["usd_per_million_tokens"]?["cache_read"]?.doubleValue == 0.5)
        #expect(report["usd_per_million_tokens"]?["output"]?.doubleValue == 30)
        #expect(report["long_context"]?[0]?["above_input_tokens"]?.doubleValue == 272_000)
        #expect(report["long_context"]?[0]?["usd_per_million_tokens"]?["input"]?.doubleValue == 10)
        #expect(report["service_tiers"]?["priority"]?["output"]?.doubleValue == 75)
        #expect(PriceReport.json(model: "gpt-5.5-mini", provider: "openai", table: .embedded) == nil)
    }

    @Test func theSnapshotSaysWhereAndWhenItCameFrom() {
        #expect(!PriceSnapshot.version.isEmpty && PriceSnapshot.version != "unknown")
        #expect(PriceSnapshot.takenOn.count == 10)
        #expect(PricingTable.embedded.models.count > 300)
    }
}
