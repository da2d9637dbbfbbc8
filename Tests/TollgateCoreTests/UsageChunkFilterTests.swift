import Testing
import TollgateCore

@Suite struct UsageChunkFilterTests {
    private func filter(_ chunks: [[UInt8]]) -> [UInt8] {
        var filter = UsageChunkFilter()
        var out: [UInt8] = []
        for chunk in chunks { out += filter.feed(chunk) }
        return out + filter.finish()
    }

    private func filter(_ text: String) -> String {
        String(decoding: filter([Array(text.utf8)]), as: UTF8.self)
    }

    @Test func theClientSeesExactlyTheStreamItWouldHaveGotWithoutInjectedUsage() throws {
        let input = try Fixture.bytes("openai-chat-stream-injected.sse")
        let expected = try Fixture.bytes("openai-chat-stream-injected.expected.sse")
        #expect(filter([input]) == expected)
    }

    @Test func anySplitPointGivesTheSameOutput() throws {
        let input = try Fixture.bytes("openai-chat-stream-injected.sse")
        let expected = try Fixture.bytes("openai-chat-stream-injected.expected.sse")
        for split in stride(from: 0, through: input.count, by: 1) {
            #expect(filter([Array(input[..<split]), Array(input[split...])]) == expected, "split at \(split)")
        }
        #expect(filter(input.map { [$0] }) == expected)
    }

    @Test func crlfStreamsAreFilteredAtAnySplitAndKeepTheirLineEnds() throws {
        let input = Array(try Fixture.string("openai-chat-stream-injected.sse").replacingOccurrences(of: "\n", with: "\r\n").utf8)
        let expected = Array(try Fixture.string("openai-chat-stream-injected.expected.sse").replacingOccurrences(of: "\n", with: "\r\n").utf8)
        for split in 0...input.count {
            #expect(filter([Array(input[..<split]), Array(input[split...])]) == expected, "split at \(split)")
        }
        #expect(filter(input.map { [$0] }) == expected)
    }

    @Test func crOnlyStreamsAreFilteredToo() throws {
        let input = Array(try Fixture.string("openai-chat-stream-injected.sse").replacingOccurrences(of: "\n", with: "\r").utf8)
        let expected = Array(try Fixture.string("openai-chat-stream-injected.expected.sse").replacingOccurrences(of: "\n", with: "\r").utf8)
        #expect(filter(input.map { [$0] }) == expected)
    }

    @Test func completeEventsAreForwardedWithoutWaitingForMore() {
        var filter = UsageChunkFilter()
        #expect(filter.feed(Array("data: {\"a\":1,\"usage\":null}\n".utf8)).isEmpty)
        #expect(String(decoding: filter.feed(Array("\ndata: {\"b\"".utf8)), as: UTF8.self) == "data: {\"a\":1}\n\n")
        #expect(String(decoding: filter.feed(Array(":2}\n\n".utf8)), as: UTF8.self) == "data: {\"b\":2}\n\n")
    }

    @Test func usageNullIsRemovedWhereverItSits() {
        #expect(filter("data: {\"usage\":null,\"a\":1}\n\n") == "data: {\"a\":1}\n\n")
        #expect(filter("data: {\"a\":1,\"usage\":null}\n\n") == "data: {\"a\":1}\n\n")
        #expect(filter("data: {\"a\":1,\"usage\":null,\"b\":2}\n\n") == "data: {\"a\":1,\"b\":2}\n\n")
        #expect(filter("data: {\"usage\":null}\n\n") == "data: {}\n\n")
    }

    @Test func usageTextInsideContentIsNotTouched() {
        let event = #"data: {"choices":[{"delta":{"content":"{\"usage\":null,\"x\":1}","usage":null}}],"a":1}"# + "\n\n"
        #expect(filter(event) == event)
    }

    @Test func onlyTheUsageOnlyChunkIsDropped() {
        let keep = "data: {\"choices\":[{\"index\":0}],\"usage\":{\"prompt_tokens\":1}}\n\n"
        #expect(filter(keep) == keep)
        #expect(filter("data: {\"choices\":[ ],\"usage\":{\"prompt_tokens\":1}}\n\ndata: [DONE]\n\n") == "data: [DONE]\n\n")
    }

    @Test func commentsDoneAndNonJSONEventsPassUnchanged() {
        let text = ": keep-alive\n\nevent: x\ndata: not json, \"usage\":null\n\ndata: [DONE]\n\n"
        #expect(filter(text) == text)
    }

    @Test func anUnterminatedLastEventIsFilteredAtFinish() {
        #expect(filter("data: {\"a\":1,\"usage\":null}") == "data: {\"a\":1}")
        #expect(filter("data: {\"choices\":[],\"usage\":{\"total_tokens\":3}}\n").isEmpty)
    }
}
