import Foundation
import Testing
import TollgateCore

@Suite struct WebhookPayloadTests {
    static let createdAt = Date(timeIntervalSince1970: 1_796_115_600.123)  // 2026-12-01T09:00:00.123Z

    static func record(userID: String? = "user-123", usage: TokenUsage? = TokenUsage(inputTokens: 10, outputTokens: 15, cacheReadTokens: 4, reasoningTokens: 2),
                       cost: Double? = 0.0015, model: String? = "gpt-4o-mini", ttft: Double? = 349.5) -> RequestRecord {
        RequestRecord(
            id: UUID(uuidString: "550E8400-E29B-41D4-A716-446655440000")!, project: "default", createdAt: createdAt,
            method: "POST", path: "/v1/chat/completions", provider: "openai", model: model, status: 200, stream: false,
            userID: userID, properties: [Property(name: "Environment", value: "production"), Property(name: "UserId", value: "user-123")],
            sessionID: nil, sessionPath: nil, sessionName: nil, usage: usage, costUSD: cost, latencyMs: 1199.6,
            timeToFirstTokenMs: ttft, requestBytes: 23, responseBytes: 14, error: nil
        )
    }

    static let requestBody = Array(#"{"model":"gpt-4o-mini"}"#.utf8)
    static let responseBody = Array(#"{"id":"chat-1"}"#.utf8)
    static let url = "https://gw.example.com/v1/bodies/550e8400-e29b-41d4-a716-446655440000?expires=1796117400&signature=ab12"

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func theEnhancedPayloadHasHeliconesFieldsInOrderThenOurs() {
        let body = WebhookPayload.build(record: Self.record(), requestBody: Self.requestBody, responseBody: Self.responseBody,
                                        includeData: true, requestResponseURL: Self.url)
        #expect(Self.text(body) == #"{"request_id":"550e8400-e29b-41d4-a716-446655440000","user_id":"user-123","#
            + #""request_body":"{\"model\":\"gpt-4o-mini\"}","response_body":"{\"id\":\"chat-1\"}","#
            + #""request_response_url":"https://gw.example.com/v1/bodies/550e8400-e29b-41d4-a716-446655440000?expires=1796117400&signature=ab12","#
            + #""model":"gpt-4o-mini","provider":"openai","#
            + #""metadata":{"cost":0.0015,"promptTokens":10,"completionTokens":15,"totalTokens":25,"latencyMs":1200,"#
            + #""cacheReadTokens":4,"cacheWriteTokens":0,"reasoningTokens":2,"timeToFirstTokenMs":350},"#
            + #""properties":{"Environment":"production","UserId":"user-123"},"status":200,"stream":false,"#
            + #""created_at":"2026-12-01T09:00:00.123Z"}"#)
    }

    @Test func withoutIncludeDataOnlyTheStandardFieldsAndExtrasAreSent() {
        let body = WebhookPayload.build(record: Self.record(), requestBody: Self.requestBody, responseBody: Self.responseBody,
                                        includeData: false, requestResponseURL: Self.url)
        #expect(Self.text(body) == #"{"request_id":"550e8400-e29b-41d4-a716-446655440000","user_id":"user-123","#
            + #""request_body":"{\"model\":\"gpt-4o-mini\"}","response_body":"{\"id\":\"chat-1\"}","#
            + #""properties":{"Environment":"production","UserId":"user-123"},"status":200,"stream":false,"#
            + #""created_at":"2026-12-01T09:00:00.123Z"}"#)
    }

    @Test func userIDIsLeftOutWhenTheRequestHadNone() {
        let body = WebhookPayload.build(record: Self.record(userID: nil), requestBody: [], responseBody: [], includeData: false, requestResponseURL: nil)
        #expect(Self.text(body).hasPrefix(#"{"request_id":"550e8400-e29b-41d4-a716-446655440000","request_body":"","response_body":"","#))
    }

    @Test func unknownUsageCostModelAndURLAreZeroOrNullNotMissing() {
        let body = WebhookPayload.build(record: Self.record(usage: nil, cost: nil, model: nil, ttft: nil), requestBody: nil, responseBody: nil,
                                        includeData: true, requestResponseURL: nil)
        #expect(Self.text(body).contains(#""request_body":"","response_body":"","request_response_url":null,"model":null,"provider":"openai","#
            + #""metadata":{"cost":null,"promptTokens":0,"completionTokens":0,"totalTokens":0,"latencyMs":1200,"#
            + #""cacheReadTokens":0,"cacheWriteTokens":0,"reasoningTokens":0,"timeToFirstTokenMs":null},"#))
    }

    @Test func cacheWritesOfBothLifetimesAreReportedTogether() {
        let usage = TokenUsage(inputTokens: 100, outputTokens: 5, cacheWrite5mTokens: 30, cacheWrite1hTokens: 12)
        let body = Self.text(WebhookPayload.build(record: Self.record(usage: usage), requestBody: [], responseBody: [], includeData: true, requestResponseURL: nil))
        #expect(body.contains(#""promptTokens":100,"completionTokens":5,"totalTokens":105,"#))
        #expect(body.contains(#""cacheReadTokens":0,"cacheWriteTokens":42,"reasoningTokens":0,"#))
    }

    @Test(arguments: [(1.5e-7, "1.5e-7"), (0.0015, "0.0015"), (25, "25"), (0.000025, "0.000025"), (1e-7, "1e-7"), (0.1 + 0.2, "0.30000000000000004")])
    func costIsWrittenAsJavaScriptWritesIt(cost: Double, expected: String) {
        let body = Self.text(WebhookPayload.build(record: Self.record(cost: cost), requestBody: [], responseBody: [], includeData: true, requestResponseURL: nil))
        #expect(body.contains(#""metadata":{"cost":\#(expected),"promptTokens""#))
    }

    @Test func createdAtIsUTCWithMilliseconds() {
        let record = { (t: Double) in
            var r = Self.record()
            r.createdAt = Date(timeIntervalSince1970: t)
            return Self.text(WebhookPayload.build(record: r, requestBody: [], responseBody: [], includeData: false, requestResponseURL: nil))
        }
        #expect(record(1_796_115_600).hasSuffix(#""created_at":"2026-12-01T09:00:00.000Z"}"#))
        #expect(record(0.5).hasSuffix(#""created_at":"1970-01-01T00:00:00.500Z"}"#))
    }

    @Test func aCreatedAtOfWholeMillisecondsIsNotPrintedOneMillisecondEarly() {
        #expect(WebhookPayload.timestamp(Date(timeIntervalSince1970: 1_796_115_600.123)) == "2026-12-01T09:00:00.123Z")
        // Never rounded up: a created_at given back as `since` must not be later than the call.
        #expect(WebhookPayload.timestamp(Date(timeIntervalSince1970: 1_796_115_600.9996)) == "2026-12-01T09:00:00.999Z")
    }

    @Test(.enabled(if: NodeRunner.isAvailable))
    func createdAtMatchesJavaScriptsToISOString() throws {
        let samples: [Int64] = [0, -1, 951_782_400_000, 4_107_542_399_999, -62_135_596_800_000, 1_796_115_600_123]
            + (0..<300).map { _ in Int64.random(in: -2_000_000_000_000...8_000_000_000_000) }
        let ours = samples.map { WebhookPayload.timestamp(Date(timeIntervalSince1970: Double($0) / 1000)) }.joined(separator: "\n")
        let script = "process.stdout.write(process.argv.slice(1).map(ms => new Date(Number(ms)).toISOString()).join('\\n'))"
        let theirs = try ScriptRunner.run(NodeRunner.executable!, ["-e", script] + samples.map(String.init))
        #expect(theirs.status == 0)
        #expect(ours == theirs.output)
    }

    static let trickyText = "naïve — 東京 😀👩‍💻 a/b \"quoted\" back\\slash\nline\r\ttab \u{0}\u{1}\u{1F}\u{7F} \u{2028}\u{2029} </script> \u{FEFF}"

    @Test func trickyCharactersInBodiesAreEscapedOnlyWhereJSONStringifyEscapes() {
        var record = Self.record(userID: "ユーザー/1")
        record.properties = [Property(name: "Note", value: "a\"b/c\u{2028}")]
        let body = Self.text(WebhookPayload.build(record: record, requestBody: Array(Self.trickyText.utf8), responseBody: Array("é".utf8), includeData: false, requestResponseURL: nil))
        #expect(body == #"{"request_id":"550e8400-e29b-41d4-a716-446655440000","user_id":"ユーザー/1","#
            + #""request_body":"naïve — 東京 😀👩‍💻 a/b \"quoted\" back\\slash\nline\r\ttab \u0000\u0001\u001f"# + "\u{7F} \u{2028}\u{2029} </script> \u{FEFF}\","
            + #""response_body":"é","properties":{"Note":"a\"b/c"# + "\u{2028}\"},"
            + #""status":200,"stream":false,"created_at":"2026-12-01T09:00:00.123Z"}"#)
    }

    @Test func invalidUTF8InABodyArrivesAsReplacementCharacters() {
        let body = Self.text(WebhookPayload.build(record: Self.record(), requestBody: [0x61, 0xFF, 0x62, 0xC3], responseBody: [], includeData: false, requestResponseURL: nil))
        #expect(body.contains(#""request_body":"a\#u{FFFD}b\#u{FFFD}","#))
    }

    @Test func bodiesOverTenKilobytesAreCutToExactly10240Bytes() {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 50_000)
        let body = WebhookPayload.build(record: Self.record(), requestBody: long, responseBody: long, includeData: false, requestResponseURL: nil)
        let x10240 = String(repeating: "x", count: 10_240)
        #expect(Self.text(body).contains(#""request_body":"\#(x10240)","response_body":"\#(x10240)","#))
    }

    @Test func aBodyOfExactlyTheLimitIsKeptWhole() {
        let exact = [UInt8](repeating: UInt8(ascii: "a"), count: 10_240)
        #expect(WebhookPayload.truncatedText(exact) == String(repeating: "a", count: 10_240))
        #expect(WebhookPayload.truncatedText(exact + [UInt8(ascii: "b")]) == String(repeating: "a", count: 10_240))
    }

    @Test(arguments: ["é", "€", "😀"])
    func aCharacterStraddlingTheLimitIsDroppedWhole(character: String) {
        let width = character.utf8.count
        // Every start offset from "ends exactly at the limit" to "starts on the last byte inside it".
        for start in (10_240 - width)...10_239 {
            let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: start) + Array(character.utf8) + Array("tail".utf8)
            let text = WebhookPayload.truncatedText(bytes)
            let fits = start + width <= 10_240
            let expected = String(repeating: "a", count: start) + (fits ? character : "")
            #expect(text == expected, "\(character) at \(start)")
            #expect(text.utf8.count <= 10_240)
        }
    }

    @Test func theLimitAppliesToTheRepairedText() {
        // Each invalid byte becomes U+FFFD, three bytes: 3,413 of them fill 10,239 bytes.
        let text = WebhookPayload.truncatedText([UInt8](repeating: 0xFF, count: 20_000))
        #expect(text.utf8.count == 10_239)
        #expect(text == String(repeating: "\u{FFFD}", count: 3_413))
    }

    @Test func aSmallLimitCutsAtTheLastWholeCharacter() {
        #expect(WebhookPayload.truncatedText(Array("ab😀c".utf8), limit: 5) == "ab")
        #expect(WebhookPayload.truncatedText(Array("ab😀c".utf8), limit: 6) == "ab😀")
        #expect(WebhookPayload.truncatedText(Array("😀".utf8), limit: 0) == "")
    }

    @Test func theTestDeliveryLooksLikeARealOne() {
        let webhookID = UUID(uuidString: "6F1C2B9E-0D4A-4C1B-9A7E-3B5D8C2F1A00")!
        let body = WebhookPayload.test(webhookID: webhookID, includeData: true, requestResponseURL: "https://gw.example.com/v1/bodies/x",
                                       requestID: UUID(uuidString: "550E8400-E29B-41D4-A716-446655440000")!, now: Self.createdAt)
        #expect(Self.text(body) == #"{"request_id":"550e8400-e29b-41d4-a716-446655440000","user_id":"user-123","#
            + #""request_body":"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Test delivery for webhook 6f1c2b9e-0d4a-4c1b-9a7e-3b5d8c2f1a00\"}]}","#
            + #""response_body":"{\"id\":\"chatcmpl-test\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Webhook received.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":15,\"total_tokens\":25}}","#
            + #""request_response_url":"https://gw.example.com/v1/bodies/x","model":"gpt-4o-mini","provider":"openai","#
            + #""metadata":{"cost":0.0015,"promptTokens":10,"completionTokens":15,"totalTokens":25,"latencyMs":1200,"#
            + #""cacheReadTokens":0,"cacheWriteTokens":0,"reasoningTokens":0,"timeToFirstTokenMs":null},"#
            + #""properties":{"Tollgate-Test":"true"},"status":200,"stream":false,"created_at":"2026-12-01T09:00:00.123Z"}"#)
        let plain = WebhookPayload.test(webhookID: webhookID, includeData: false, requestResponseURL: nil)
        #expect(!Self.text(plain).contains("metadata"))
    }

    @Test(.enabled(if: NodeRunner.isAvailable))
    func nodeReSerializesEveryPayloadToTheSameBytes() throws {
        var tricky = Self.record(userID: Self.trickyText)
        tricky.properties = [Property(name: "Note\u{2028}/", value: Self.trickyText), Property(name: "Empty", value: "")]
        let straddling = [UInt8](repeating: UInt8(ascii: "\""), count: 10_237) + Array("😀€é".utf8)
        let payloads: [[UInt8]] = [
            WebhookPayload.build(record: Self.record(), requestBody: Self.requestBody, responseBody: Self.responseBody, includeData: true, requestResponseURL: Self.url),
            WebhookPayload.build(record: Self.record(userID: nil), requestBody: nil, responseBody: nil, includeData: false, requestResponseURL: nil),
            WebhookPayload.build(record: Self.record(usage: nil, cost: nil, model: nil, ttft: nil), requestBody: nil, responseBody: nil, includeData: true, requestResponseURL: nil),
            WebhookPayload.build(record: tricky, requestBody: Array(Self.trickyText.utf8), responseBody: [0xFF, 0xC3, 0x28, 0xE2, 0x82], includeData: true, requestResponseURL: Self.url),
            WebhookPayload.build(record: Self.record(), requestBody: straddling, responseBody: Array(repeating: Array("😀\n".utf8), count: 3_000).flatMap { $0 }, includeData: true, requestResponseURL: nil),
            WebhookPayload.test(webhookID: UUID(), includeData: true, requestResponseURL: Self.url),
        ] + [1.5e-7, 0.0015, 25, 1e21, 123.456e-12].map {
            WebhookPayload.build(record: Self.record(cost: $0), requestBody: [], responseBody: [], includeData: true, requestResponseURL: nil)
        }
        for (index, payload) in payloads.enumerated() {
            let theirs = try NodeRunner.stringifyParsed(payload)
            #expect(theirs == payload, "payload \(index): first difference at byte \(zip(payload, theirs).prefix { $0 == $1 }.count)")
        }
    }
}
