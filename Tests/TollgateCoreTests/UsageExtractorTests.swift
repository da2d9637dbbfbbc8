import Testing
import TollgateCore

private func extracting(
    _ fixture: String, _ format: APIFormat, with read: ([UInt8], APIFormat) -> ExtractedResponse
) throws -> ExtractedResponse {
    read(try Fixture.bytes(fixture), format)
}

@Suite struct UsageExtractorJSONTests {
    private func extract(_ fixture: String, _ format: APIFormat) throws -> ExtractedResponse {
        try extracting(fixture, format, with: UsageExtractor.fromJSON)
    }

    @Test func chatCompletionCachedTokensArePartOfInput() throws {
        let result = try extract("openai-chat.json", .openai)
        #expect(result.model == "gpt-4o-mini-2024-07-18")
        #expect(result.usage == TokenUsage(inputTokens: 1000, outputTokens: 200, cacheReadTokens: 400))
        #expect(result.usage?.uncachedInputTokens == 600)
        #expect(result.reconstructed?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hello world")
    }

    @Test func reasoningTokensAreCountedInsideOutput() throws {
        let usage = try extract("openai-chat-reasoning.json", .openai).usage
        #expect(usage == TokenUsage(inputTokens: 52, outputTokens: 1186, reasoningTokens: 1152))
        #expect(usage?.totalTokens == 1238)
    }

    @Test func legacyCompletionsAreRead() throws {
        let result = try extract("openai-completion.json", .openai)
        #expect(result.model == "gpt-3.5-turbo-instruct:20230824-v2")
        #expect(result.usage == TokenUsage(inputTokens: 5, outputTokens: 7))
    }

    @Test func embeddingsHaveInputOnly() throws {
        let result = try extract("openai-embeddings.json", .openai)
        #expect(result.model == "text-embedding-3-small")
        #expect(result.usage == TokenUsage(inputTokens: 8, outputTokens: 0))
    }

    @Test func responsesAPIUsageIsRead() throws {
        let result = try extract("openai-responses.json", .openai)
        #expect(result.model == "gpt-5-mini-2025-08-07")
        #expect(result.usage == TokenUsage(inputTokens: 2048, outputTokens: 300, cacheReadTokens: 1024, reasoningTokens: 256))
    }

    @Test func anthropicInputIncludesCacheReadsAndBothWriteLifetimes() throws {
        let result = try extract("anthropic-message.json", .anthropic)
        #expect(result.model == "claude-sonnet-4-5-20250929")
        #expect(result.usage == TokenUsage(inputTokens: 13012, outputTokens: 250, cacheReadTokens: 10000,
                                           cacheWrite5mTokens: 1000, cacheWrite1hTokens: 2000))
        #expect(result.usage?.uncachedInputTokens == 12)
        #expect(result.reconstructed?["content"]?[0]?["text"]?.stringValue == "Hello world")
    }

    @Test func anthropicFlatCacheWriteCountsAsFiveMinutes() throws {
        let usage = try extract("anthropic-message-flat-cache.json", .anthropic).usage
        #expect(usage == TokenUsage(inputTokens: 1972, outputTokens: 89, cacheWrite5mTokens: 1500))
    }

    @Test func theShapeDecidesEvenWhenTheConfiguredFormatIsWrong() throws {
        #expect(try extract("anthropic-message.json", .openai).usage?.inputTokens == 13012)
        #expect(try extract("openai-chat.json", .anthropic).usage?.inputTokens == 1000)
    }

    @Test func errorsAndGarbageGiveNoUsage() throws {
        let error = try extract("anthropic-error.json", .anthropic)
        #expect(error.usage == nil && error.model == nil)
        let garbage = UsageExtractor.fromJSON(Array("<html>502</html>".utf8), format: .openai)
        #expect(garbage.usage == nil && garbage.model == nil && garbage.reconstructed == nil)
    }
}

@Suite struct UsageExtractorStreamTests {
    private func extract(_ fixture: String, _ format: APIFormat) throws -> ExtractedResponse {
        try extracting(fixture, format, with: UsageExtractor.fromStream)
    }

    @Test func chatStreamIsRebuiltIntoACompletion() throws {
        let result = try extract("openai-chat-stream-injected.sse", .openai)
        #expect(result.model == "gpt-4o-mini-2024-07-18")
        #expect(result.usage == TokenUsage(inputTokens: 1000, outputTokens: 200, cacheReadTokens: 400))
        let completion = try #require(result.reconstructed)
        #expect(completion["object"]?.stringValue == "chat.completion")
        #expect(completion["id"]?.stringValue == "chatcmpl-CKzB7Yw3hQ9")
        #expect(completion["created"]?.intValue == 1764579600)
        #expect(completion["choices"]?[0]?["message"]?["content"]?.stringValue == "Hello world")
        #expect(completion["choices"]?[0]?["message"]?["role"]?.stringValue == "assistant")
        #expect(completion["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(completion["usage"]?["total_tokens"]?.intValue == 1200)
        #expect(result.streamError == nil)
    }

    @Test func toolCallFragmentsAreMergedByIndex() throws {
        let result = try extract("openai-chat-stream-tools.sse", .openai)
        #expect(result.usage == TokenUsage(inputTokens: 2000, outputTokens: 500, cacheReadTokens: 1536, reasoningTokens: 448))
        let message = try #require(result.reconstructed?["choices"]?[0]?["message"])
        #expect(message["content"] == .null)
        #expect(message["tool_calls"]?.serializedString() == #"[{"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris, France\"}"}},{"id":"call_ABC123second","type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"Europe/Paris\"}"}}]"#)
        #expect(result.reconstructed?["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
    }

    @Test func completionsStreamTextIsJoinedPerChoice() throws {
        let result = try extract("openai-completion-stream.sse", .openai)
        #expect(result.usage == TokenUsage(inputTokens: 5, outputTokens: 9))
        let completion = try #require(result.reconstructed)
        #expect(completion["object"]?.stringValue == "text_completion")
        #expect(completion["choices"]?[0]?["text"]?.stringValue == "Hello world")
        #expect(completion["choices"]?[1]?["text"]?.stringValue == "Bonjour le monde")
        #expect(completion["choices"]?[1]?["finish_reason"]?.stringValue == "length")
    }

    @Test func responsesStreamYieldsTheCompletedResponse() throws {
        let result = try extract("openai-responses-stream.sse", .openai)
        #expect(result.model == "gpt-5-2025-08-07")
        #expect(result.usage == TokenUsage(inputTokens: 1200, outputTokens: 90, cacheReadTokens: 1024, reasoningTokens: 64))
        let response = try #require(result.reconstructed)
        #expect(response["status"]?.stringValue == "completed")
        #expect(response["output"]?[0]?["content"]?[0]?["text"]?.stringValue == "Hello world")
    }

    @Test func aResponsesStreamCutShortKeepsTheFinishedOutput() throws {
        let result = try extract("openai-responses-stream-cut.sse", .openai)
        #expect(result.usage == nil)
        #expect(result.reconstructed?["output"]?[0]?["content"]?[0]?["text"]?.stringValue == "Hello world")
    }

    @Test func anthropicStreamUsesTheCacheBreakdownAndFinalOutputCount() throws {
        let result = try extract("anthropic-stream.sse", .anthropic)
        #expect(result.model == "claude-sonnet-4-5-20250929")
        #expect(result.usage == TokenUsage(inputTokens: 13012, outputTokens: 250, cacheReadTokens: 10000,
                                           cacheWrite5mTokens: 1000, cacheWrite1hTokens: 2000))
        let message = try #require(result.reconstructed)
        #expect(message.serializedString() == #"{"id":"msg_01VbR3kB7xF5","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello world"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":3000,"cache_read_input_tokens":10000,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"output_tokens":250,"service_tier":"standard"}}"#)
    }

    @Test func anthropicThinkingTextAndToolUseBlocksAreRebuilt() throws {
        let result = try extract("anthropic-stream-thinking-tools.sse", .anthropic)
        #expect(result.usage == TokenUsage(inputTokens: 2688, outputTokens: 189, cacheWrite5mTokens: 2048))
        let content = try #require(result.reconstructed?["content"])
        #expect(content[0] == ["type": "thinking", "thinking": "Let me check the weather.",
                               "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"])
        #expect(content[1]?["text"]?.stringValue == "I'll look that up — one moment. 🌤")
        #expect(content[2]?["input"] == ["location": "San Francisco, CA", "unit": "fahrenheit"])
        #expect(content[2]?["name"]?.stringValue == "get_weather")
        #expect(result.reconstructed?["stop_reason"]?.stringValue == "tool_use")
    }

    @Test func anErrorEventMidStreamIsReportedWithWhatCameBefore() throws {
        let result = try extract("anthropic-stream-error.sse", .anthropic)
        #expect(result.streamError == "Overloaded")
        #expect(result.usage == TokenUsage(inputTokens: 25, outputTokens: 1))
        #expect(result.reconstructed?["content"]?[0]?["text"]?.stringValue == "Partial")
    }

    @Test func anOpenAIErrorChunkIsReported() throws {
        let result = try extract("openai-stream-error.sse", .openai)
        #expect(result.streamError == "The server had an error while processing your request. Sorry about that!")
        #expect(result.usage == nil)
    }

    @Test func aStreamWithoutUsageStillRebuildsContent() throws {
        let filtered = try extract("openai-chat-stream-injected.expected.sse", .openai)
        #expect(filtered.usage == nil)
        #expect(filtered.reconstructed?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hello world")
    }

    @Test func groqStreamsReportUsageUnderXGroq() {
        let stream = """
        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}

        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"id":"req_1","usage":{"prompt_tokens":40,"completion_tokens":2,"total_tokens":42}}}

        data: [DONE]


        """
        let result = UsageExtractor.fromStream(Array(stream.utf8), format: .openai)
        #expect(result.usage == TokenUsage(inputTokens: 40, outputTokens: 2))
        #expect(result.reconstructed?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hi")
    }

    @Test func garbageStreamsGiveNothing() {
        let result = UsageExtractor.fromStream(Array("hello\n\ndata: {oops\n\n".utf8), format: .openai)
        #expect(result.usage == nil && result.model == nil && result.reconstructed == nil && result.streamError == nil)
    }
}
