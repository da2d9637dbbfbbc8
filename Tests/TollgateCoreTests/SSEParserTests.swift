import Testing
import TollgateCore

@Suite struct SSEParserTests {
    private func parse(_ chunks: [[UInt8]]) -> [SSEEvent] {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for chunk in chunks { events += parser.feed(chunk) }
        return events + parser.finish()
    }

    private func parse(_ text: String) -> [SSEEvent] { parse([Array(text.utf8)]) }

    private let sample = "event: greeting\nid: 7\ndata: héllo 😀\ndata:second line\n\n: ping comment\n\ndata: {\"a\":1}\r\n\r\nevent: end\rdata: x\r\r"

    private var sampleEvents: [SSEEvent] {
        [
            SSEEvent(event: "greeting", data: "héllo 😀\nsecond line", id: "7"),
            SSEEvent(data: "{\"a\":1}"),
            SSEEvent(event: "end", data: "x"),
        ]
    }

    @Test func eventsWithTypeIDAndMultiLineDataAreParsed() {
        #expect(parse(sample) == sampleEvents)
    }

    @Test func splittingTheStreamAtAnyByteGivesTheSameEvents() {
        let bytes = Array(sample.utf8)
        for split in 0...bytes.count {
            #expect(parse([Array(bytes[..<split]), Array(bytes[split...])]) == sampleEvents, "split at \(split)")
        }
    }

    @Test func feedingOneByteAtATimeGivesTheSameEvents() {
        #expect(parse(sample.utf8.map { [$0] }) == sampleEvents)
    }

    @Test func aCRLFSplitBetweenFeedsIsOneLineEnd() {
        #expect(parse([Array("data: a\r".utf8), Array("\ndata: b\r\n\r".utf8), Array("\n".utf8)]) == [SSEEvent(data: "a\nb")])
    }

    @Test func eventsAreYieldedAsSoonAsTheirBlankLineArrives() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: one\n".utf8)).isEmpty)
        #expect(parser.feed(Array("\ndata: tw".utf8)) == [SSEEvent(data: "one")])
        #expect(parser.feed(Array("o\n\n".utf8)) == [SSEEvent(data: "two")])
    }

    @Test func onlyOneSpaceAfterTheColonIsDropped() {
        #expect(parse("data:  two spaces\n\ndata:none\n\n") == [SSEEvent(data: " two spaces"), SSEEvent(data: "none")])
    }

    @Test func eventsWithoutDataAreNotDispatched() {
        #expect(parse("event: lonely\nid: 3\n\n: comment only\n\nretry: 100\n\n").isEmpty)
    }

    @Test func anEmptyDataLineDispatchesAnEmptyEvent() {
        #expect(parse("data\n\ndata:\n\n") == [SSEEvent(data: ""), SSEEvent(data: "")])
    }

    @Test func aStreamCutShortStillYieldsItsLastEvent() {
        #expect(parse("data: first\n\ndata: last") == [SSEEvent(data: "first"), SSEEvent(data: "last")])
        #expect(parse("event: e\ndata: last\n") == [SSEEvent(event: "e", data: "last")])
    }

    @Test func unknownFieldsAndALeadingBOMAreIgnored() {
        #expect(parse("\u{FEFF}data: a\nfoo: bar\n\n") == [SSEEvent(data: "a")])
    }

    @Test func fieldsDoNotLeakIntoTheNextEvent() {
        #expect(parse("event: a\nid: 1\ndata: x\n\ndata: y\n\n") == [SSEEvent(event: "a", data: "x", id: "1"), SSEEvent(data: "y")])
    }

    @Test func multiByteCharactersSplitAcrossFeedsSurvive() {
        let bytes = Array("data: 日本😀\n\n".utf8)
        for split in 6..<(bytes.count - 2) {
            #expect(parse([Array(bytes[..<split]), Array(bytes[split...])]) == [SSEEvent(data: "日本😀")])
        }
    }

    @Test func rawBufferFeedMatchesCollectionFeed() {
        var parser = SSEParser()
        let events = Array(sample.utf8).withUnsafeBytes { parser.feed($0) } + parser.finish()
        #expect(events == sampleEvents)
    }

    @Test func realProviderStreamsParse() throws {
        let events = SSEParser.parseAll(try Fixture.bytes("anthropic-stream.sse"))
        #expect(events.map(\.event) == [
            "message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
            "content_block_stop", "message_delta", "message_stop",
        ])
        #expect(SSEParser.parseAll(try Fixture.bytes("openai-chat-stream-injected.sse")).last?.data == "[DONE]")
    }
}

@Suite("Whether a stream's last bytes are its final event")
struct StreamEndTests {
    @Test("OpenAI's [DONE], Anthropic's message_stop and the Responses API's final events end a stream; anything else does not")
    func finalEvents() {
        func final(_ text: String) -> Bool { StreamEnd.isFinal(Array(text.utf8)) }
        #expect(final("data: {\"choices\":[]}\n\ndata: [DONE]\n\n"))
        #expect(final("data: [DONE]"))
        #expect(final("event: content_block_stop\ndata: {}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
        #expect(final("event: response.completed\ndata: {\"type\":\"response.completed\"}\r\n\r\n"))
        #expect(!final("data: {\"choices\":[{\"delta\":{\"content\":\"[DONE]\"}}]}\n\n"))
        #expect(!final("event: message_delta\ndata: {\"type\":\"message_delta\"}\n\n"))
        #expect(!final("data: {\"choices\":[]}\n\nda"))
        #expect(!final(""))
    }
}
