import Testing
import TollgateCore

@Suite struct StreamRequestRewriterTests {
    private func rewrite(_ body: String) -> String? {
        StreamRequestRewriter.injectIncludeUsage(into: Array(body.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func aStreamRequestGetsIncludeUsageAndKeepsEveryOtherByte() {
        let body = "{\n  \"model\": \"gpt-4o-mini\",\n  \"stream\": true,\n  \"messages\": [{\"role\": \"user\", \"content\": \"Hi 😀\"}]\n}"
        let rewritten = rewrite(body)
        #expect(rewritten == "{\"stream_options\":{\"include_usage\":true},\n  \"model\": \"gpt-4o-mini\",\n  \"stream\": true,\n  \"messages\": [{\"role\": \"user\", \"content\": \"Hi 😀\"}]\n}")
        #expect(throws: Never.self) { try JSONValue.parse(rewritten ?? "") }
    }

    @Test func legacyCompletionsStreamsGetIncludeUsageToo() {
        #expect(rewrite(#"{"prompt":"Say hi","stream":true}"#) == #"{"stream_options":{"include_usage":true},"prompt":"Say hi","stream":true}"#)
    }

    @Test func existingStreamOptionsGetIncludeUsageInside() {
        #expect(rewrite(#"{"messages":[],"stream":true,"stream_options":{"x":1}}"#) == #"{"messages":[],"stream":true,"stream_options":{"include_usage":true,"x":1}}"#)
        #expect(rewrite(#"{"messages":[],"stream":true,"stream_options":{ }}"#) == #"{"messages":[],"stream":true,"stream_options":{"include_usage":true }}"#)
        #expect(rewrite(#"{"messages":[],"stream":true,"stream_options":{"include_usage":false}}"#) == #"{"messages":[],"stream":true,"stream_options":{"include_usage":true}}"#)
        #expect(rewrite(#"{"messages":[],"stream":true,"stream_options":null}"#) == #"{"messages":[],"stream":true,"stream_options":{"include_usage":true}}"#)
    }

    @Test func requestsThatNeedNoChangeAreLeftAlone() {
        #expect(rewrite(#"{"model":"gpt-4o","messages":[]}"#) == nil)
        #expect(rewrite(#"{"stream":false}"#) == nil)
        #expect(rewrite(#"{"stream":"true"}"#) == nil)
        #expect(rewrite(#"{"messages":[],"stream":true,"stream_options":{"include_usage":true}}"#) == nil)
    }

    @Test func malformedBodiesAreForwardedUntouched() {
        #expect(rewrite(#"{"prompt":"x","stream":true,"#) == nil)
        #expect(rewrite(#"[{"stream":true}]"#) == nil)
        #expect(rewrite("") == nil)
        #expect(rewrite(#"{"messages":[],"stream":true} trailing"#) == nil)
    }
}

@Suite struct RequestFactsTests {
    @Test func modelStreamAndOpenAIUserAreRead() {
        let facts = RequestFacts.inspect(Array(#"{"model":"gpt-4o-mini","stream":true,"user":"u-42","metadata":{"user_id":"other"}}"#.utf8))
        #expect(facts == RequestFacts(model: "gpt-4o-mini", stream: true, userID: "u-42"))
    }

    @Test func anthropicMetadataUserIDIsTheUser() {
        let facts = RequestFacts.inspect(Array(#"{"model":"claude-sonnet-4-5","max_tokens":10,"metadata":{"user_id":"abc"}}"#.utf8))
        #expect(facts == RequestFacts(model: "claude-sonnet-4-5", stream: false, userID: "abc"))
    }

    @Test func invalidJSONGivesNoFacts() {
        #expect(RequestFacts.inspect(Array("not json".utf8)) == RequestFacts())
    }
}
