import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import Hummingbird
import TollgateCore

@Suite("Bad input and failing upstreams")
struct FailureTests {
    @Test("a malformed JSON body is still forwarded byte for byte, and the provider's answer returned")
    func malformedBodyForwarded() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(#"{"error":{"message":"We could not parse the JSON body"}}"#, status: .badRequest) }
        let gateway = try await TestGateway.start(provider: provider)
        let body = #"{"model": "gpt-4o-mini", "stream": true, "messages": [ oops"#
        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: body)
        #expect(reply.status == 400)
        #expect(reply.text == #"{"error":{"message":"We could not parse the JSON body"}}"#)
        #expect(provider.requests.first.map { String(decoding: $0.body, as: UTF8.self) } == body)
        let record = try await gateway.record(try #require(reply.headers.first(name: "helicone-id")))
        #expect(record["status"] as? Int == 400)
        #expect(record["model"] is NSNull)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("an upstream that refuses the connection gives 502 and a record saying so")
    func upstreamRefused() async throws {
        let closed = try ClosedPort()
        let deadURL = closed.baseURL
        let gateway = try await TestGateway.start { config in
            config.routing.providers = config.routing.providers.map { var p = $0; p.origin = Origin(deadURL)!; return p }
        }
        let reply = try await gateway.send(.POST, "/openai/v1/chat/completions", body: #"{"model":"gpt-4o-mini"}"#)
        #expect(reply.status == 502)
        let error = try #require(reply.json?["error"] as? [String: Any])
        #expect(error["type"] as? String == "upstream_unreachable")
        let record = try await gateway.record(try #require(reply.headers.first(name: "helicone-id")))
        #expect(record["status"] as? Int == 502)
        #expect((record["error"] as? String)?.hasPrefix("upstream_unreachable") == true)
        #expect(record["model"] as? String == "gpt-4o-mini")
        try await gateway.stop()
        withExtendedLifetime(closed) {}
    }

    @Test("an upstream that stalls mid-stream is cut after the stall timeout and recorded as a timeout")
    func upstreamStallsMidStream() async throws {
        let hold = Gate()
        let provider = try await FakeServer.start { _, _ in
            FakeServer.sse([ProviderFixtures.chatChunk("Hel"), ProviderFixtures.chatChunk("lo")], hold: hold)
        }
        let gateway = try await TestGateway.start(provider: provider) { $0.upstream.stallTimeout = .milliseconds(1500) }  // long enough for the first chunk on a loaded machine
        let (id, stream) = try await gateway.streamUntilEnd(body: #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#)
        #expect(stream.status == 200)
        #expect(stream.received == ProviderFixtures.chatChunk("Hel"))
        #expect(stream.cutShort, "the client must see an incomplete response, not a clean end")
        let record = try await gateway.record(id)
        #expect((record["error"] as? String)?.hasPrefix("upstream_timeout") == true)
        #expect(record["stream"] as? Bool == true)
        hold.open()
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a client that disconnects mid-stream is recorded as cancelled and the upstream call is dropped")
    func clientDisconnects() async throws {
        let upstreamClosed = Gate()
        let provider = try await FakeServer.start { _, _ in
            Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init { writer in
                do {
                    for i in 0..<400 {
                        try await writer.write(ByteBuffer(string: ProviderFixtures.chatChunk("t\(i)")))
                        try await Task.sleep(for: .milliseconds(25))
                    }
                } catch {
                    upstreamClosed.open()
                    throw error
                }
                try await writer.finish(nil)
            })
        }
        let gateway = try await TestGateway.start(provider: provider)
        let id = UUID().uuidString.lowercased()
        let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nHelicone-Request-Id: \(id)\r\nContent-Type: application/json\r\nContent-Length: 59\r\n\r\n"
        let body = #"{"model":"gpt-4o-mini","stream":true,"stream_options":{}}  "#
        #expect(body.utf8.count == 59)
        let seen = try await RawHTTP.exchange(port: gateway.server.port, request: Array((head + body).utf8), closeWhenSeen: "t3")
        #expect(seen.hasPrefix("HTTP/1.1 200"))
        #expect(!seen.contains("t10"))
        let record = try await gateway.record(id)
        #expect((record["error"] as? String)?.hasPrefix("client_cancelled") == true)
        // The provider notices its client (the gateway) went away.
        try await withTimeout(.seconds(10)) { await upstreamClosed.wait() }
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a client that hangs up right after data: [DONE], before the provider ends its answer, was answered whole: no error on the record")
    func clientLeavesAfterDone() async throws {
        // Asked with "pause" in the body, the provider waits after its first event, so a client
        // that hangs up then leaves before the final one.
        let provider = try await FakeServer.start { _, body in
            let pause = String(decoding: body, as: UTF8.self).contains("pause")
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init { writer in
                for (index, event) in [ProviderFixtures.chatChunk("Hel"), ProviderFixtures.chatStopChunk(), ProviderFixtures.chatUsageChunk, ProviderFixtures.done].enumerated() {
                    if index == 1, pause { try await Task.sleep(for: .seconds(2)) }
                    try await writer.write(ByteBuffer(string: event))
                }
                // The provider's own end comes later than the last event, as over a real network.
                try await Task.sleep(for: .milliseconds(500))
                try await writer.finish(nil)
            })
        }
        let gateway = try await TestGateway.start(provider: provider)
        let id = UUID().uuidString.lowercased()
        let body = #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#
        let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nHelicone-Request-Id: \(id)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        let seen = try await RawHTTP.exchange(port: gateway.server.port, request: Array((head + body).utf8), closeWhenSeen: "data: [DONE]")
        #expect(seen.contains("data: [DONE]"))
        let record = try await gateway.record(id)
        #expect(record["error"] is NSNull)
        #expect(record["status"] as? Int == 200)
        #expect(record["total_tokens"] as? Int == 15)

        // Cut before the final event, the same hang-up is a cancellation.
        let cut = UUID().uuidString.lowercased()
        let pausing = #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"user":"pause"}"#
        let cutHead = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nHelicone-Request-Id: \(cut)\r\nContent-Type: application/json\r\nContent-Length: \(pausing.utf8.count)\r\n\r\n"
        _ = try await RawHTTP.exchange(port: gateway.server.port, request: Array((cutHead + pausing).utf8), closeWhenSeen: "Hel")
        #expect((try await gateway.record(cut)["error"] as? String)?.hasPrefix("client_cancelled") == true)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("an upstream that answers before reading a large body does not break the gateway")
    func upstreamAnswersBeforeReadingBody() async throws {
        let provider = try await FakeServer.start(readBody: false) { _, _ in
            FakeServer.json(#"{"error":{"message":"too large"}}"#, status: .contentTooLarge)
        }
        let gateway = try await TestGateway.start(provider: provider)
        let big = #"{"model":"gpt-4o-mini","input":""# + String(repeating: "a", count: 4 << 20) + #""}"#
        for _ in 0..<3 {
            let reply = try await gateway.send(.POST, "/v1/embeddings", body: big)
            #expect(reply.status == 413)
            #expect(reply.text == #"{"error":{"message":"too large"}}"#)
        }
        let after = try await gateway.send(.GET, "/healthz")
        #expect(after.status == 200)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("the body URL serves both bodies; a forged or expired one gets 403")
    func signedBodyURL() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider) { $0.bodies.urlTTL = .seconds(2) }
        let requestBody = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"héllo / \"quoted\""}]}"#
        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: requestBody)
        let record = try await gateway.record(try #require(reply.headers.first(name: "helicone-id")))
        let url = try #require(record["request_response_url"] as? String)
        #expect(url.hasPrefix(gateway.baseURL + "/v1/bodies/"))
        let path = String(url.dropFirst(gateway.baseURL.count))
        let fetched = try await gateway.send(.GET, path)
        #expect(fetched.status == 200)
        let json = try #require(fetched.json)
        let request = try #require(json["request"] as? [String: Any])
        #expect(((request["messages"] as? [[String: Any]])?.first?["content"] as? String) == "héllo / \"quoted\"")
        let response = try #require(json["response"] as? [String: Any])
        #expect((((response["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String) == "Hello there")

        var forged = path
        let last = forged.removeLast()
        forged.append(last == "0" ? "1" : "0")
        #expect(try await gateway.send(.GET, forged).status == 403)
        let otherExpiry = path.replacingOccurrences(of: "expires=", with: "expires=9")
        #expect(try await gateway.send(.GET, otherExpiry).status == 403)
        try await Task.sleep(for: .milliseconds(2100))
        #expect(try await gateway.send(.GET, path).status == 403)
        try await gateway.stop()
        try await provider.stop()
    }
}

func withTimeout(_ duration: Duration, _ body: @escaping @Sendable () async -> Void) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask { await body(); return true }
        group.addTask { try await Task.sleep(for: duration); return false }
        let finished = try await group.next() ?? false
        group.cancelAll()
        if !finished { throw TestFailure("timed out after \(duration)") }
    }
}
