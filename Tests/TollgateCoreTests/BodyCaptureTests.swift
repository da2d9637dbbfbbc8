import Testing
import TollgateCore

@Suite struct BodyCaptureTests {
    private func capture(_ bytes: [UInt8], limit: Int, tail: Int, chunk: Int) -> CapturedBody {
        var capture = BodyCapture(limit: limit, tailSize: tail)
        var i = 0
        while i < bytes.count {
            capture.append(Array(bytes[i..<min(bytes.count, i + chunk)]))
            i += chunk
        }
        return capture.finish()
    }

    @Test("an answer up to the limit is kept whole, however it was chunked")
    func wholeUnderLimit() {
        let bytes = (0..<1000).map { UInt8($0 % 251) }
        for chunk in [1, 7, 999, 1000, 4096] {
            let kept = capture(bytes, limit: 1000, tail: 100, chunk: chunk)
            #expect(kept.head == bytes)
            #expect(kept.tail == nil)
            #expect(kept.totalBytes == 1000)
        }
    }

    @Test("a larger answer keeps exactly its start and its last bytes, and its full size, however it was chunked")
    func startAndEndOverLimit() {
        let bytes = (0..<50_000).map { UInt8(($0 * 7) % 253) }
        for chunk in [1, 3, 100, 999, 1001, 20_000, 50_000] {
            let kept = capture(bytes, limit: 1000, tail: 300, chunk: chunk)
            #expect(kept.head == Array(bytes.prefix(700)), "chunk \(chunk)")
            #expect(kept.tail == Array(bytes.suffix(300)), "chunk \(chunk)")
            #expect(kept.totalBytes == 50_000)
        }
        // One byte over the limit.
        let justOver = capture(Array(bytes.prefix(1001)), limit: 1000, tail: 300, chunk: 1001)
        #expect(justOver.head == Array(bytes.prefix(700)))
        #expect(justOver.tail == Array(bytes[701..<1001]))
    }
}

@Suite struct TruncatedUsageTests {
    /// Every fixture with usage, cut to its first and last bytes as the gateway keeps a large
    /// answer, gives the same model and tokens as the whole answer.
    @Test("the usage read from a cut answer's start and end equals the whole answer's", arguments: [
        ("openai-chat-stream-tools.sse", APIFormat.openai), ("openai-chat-stream-injected.sse", .openai),
        ("openai-completion-stream.sse", .openai), ("openai-responses-stream.sse", .openai),
        ("anthropic-stream-thinking-tools.sse", .anthropic), ("openai-responses.json", .openai),
    ])
    func cutAnswerUsage(fixture: String, format: APIFormat) throws {
        let bytes = try Fixture.bytes(fixture)
        let stream = fixture.hasSuffix(".sse")
        let whole = stream ? UsageExtractor.fromStream(bytes, format: format) : UsageExtractor.fromJSON(bytes, format: format)
        #expect(whole.usage != nil)
        var capture = BodyCapture(limit: 1000, tailSize: 450)
        capture.append(bytes)
        let kept = capture.finish()
        let tail = try #require(kept.tail, "\(fixture) is larger than the limit")
        let cut = UsageExtractor.fromTruncated(head: kept.head, tail: tail, stream: stream, format: format)
        #expect(cut.usage == whole.usage)
        #expect(cut.model == whole.model)
        #expect(cut.reconstructed == nil, "a part must not be passed off as the whole answer")
    }

    @Test("a cut Anthropic JSON message still reads its usage as Anthropic's (input excludes cache)")
    func anthropicJSONUsage() throws {
        let text = #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":""#
            + String(repeating: "z", count: 5000)
            + #""}],"stop_reason":"end_turn","usage":{"input_tokens":10,"cache_read_input_tokens":90,"cache_creation_input_tokens":0,"output_tokens":1200}}"#
        var capture = BodyCapture(limit: 2000, tailSize: 500)
        capture.append(Array(text.utf8))
        let kept = capture.finish()
        let cut = UsageExtractor.fromTruncated(head: kept.head, tail: try #require(kept.tail), stream: false, format: .anthropic)
        #expect(cut.model == "claude-sonnet-4-5-20250929")
        #expect(cut.usage == TokenUsage(inputTokens: 100, outputTokens: 1200, cacheReadTokens: 90))
    }

    @Test("a stream's first and last parts are cut at event boundaries, LF or CRLF")
    func wholeEvents() {
        let text = Array("data: a\n\ndata: b\r\n\r\ndata: c".utf8)
        #expect(String(decoding: SSEParser.wholeEvents(text, keep: .first), as: UTF8.self) == "data: a\n\ndata: b\r\n\r\n")
        #expect(String(decoding: SSEParser.wholeEvents(text, keep: .last), as: UTF8.self) == "data: b\r\n\r\ndata: c")
        #expect(SSEParser.wholeEvents(Array("data: no end".utf8), keep: .first).isEmpty)
    }
}
