import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import Testing
import TollgateCore
#if canImport(Glibc)
import Glibc
#endif

/// Inputs and upstreams that once crashed, wedged or misrecorded the gateway.
@Suite("Hardening")
struct HardeningTests {
    @Test("a request whose forwarded head is over server.max_header_bytes gets 431 before any upstream work, and the gateway keeps serving")
    func oversizedHeadRefused() async throws {
        // An upstream that accepts and never reads: a 64 KiB head written to it once crashed the
        // process (a precondition in AsyncHTTPClient's write-timeout state machine).
        let silent = try RawUpstream { fd in Thread.sleep(forTimeInterval: 5); close(fd) }
        defer { silent.stop() }
        let healthy = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start { config in
            config.routing.providers = [
                ProviderRoute(name: "openai", origin: Origin(silent.baseURL)!, format: .openai),
                ProviderRoute(name: "healthy", origin: Origin(healthy.baseURL)!, format: .openai),
            ]
        }
        let big = String(repeating: "a", count: 65_450)
        let refused = try await gateway.send(.POST, "/openai/v1/chat/completions", body: #"{"model":"gpt-4o-mini"}"#, headers: [("X-Big", big)])
        #expect(refused.status == 431)
        let error = try #require(refused.json?["error"] as? [String: Any])
        #expect(error["type"] as? String == "headers_too_large")
        #expect((error["message"] as? String)?.contains("server.max_header_bytes (32768)") == true)
        #expect(silent.connections == 0, "the upstream must not be contacted")

        // Just under the limit still goes through, and so do other calls.
        let fits = try await gateway.send(.POST, "/healthy/v1/chat/completions", body: #"{"model":"gpt-4o-mini"}"#,
                                          headers: [("X-Big", String(repeating: "b", count: 30_000))])
        #expect(fits.status == 200)
        #expect(healthy.requests.first?.headers[.init("X-Big")!]?.count == 30_000)
        try await gateway.stop()
        try await healthy.stop()
    }

    @Test("an upstream that resets the connection mid-stream is recorded as a failed answer, not as unreachable")
    func upstreamResetMidStream() async throws {
        let upstream = try RawUpstream { fd in
            RawUpstream.readRequest(fd)
            RawUpstream.write(fd, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            let chunk = ProviderFixtures.chatChunk("Hel")
            RawUpstream.write(fd, String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n")
            Thread.sleep(forTimeInterval: 0.2)
            RawUpstream.reset(fd)
        }
        defer { upstream.stop() }
        let gateway = try await TestGateway.start { config in
            config.routing.providers = [ProviderRoute(name: "openai", origin: Origin(upstream.baseURL)!, format: .openai)]
        }
        let (id, stream) = try await gateway.streamUntilEnd(body: #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#)
        #expect(stream.status == 200)
        #expect(stream.received == ProviderFixtures.chatChunk("Hel"))
        #expect(stream.cutShort, "the client must see an incomplete response, not a clean end")
        let record = try await gateway.record(id)
        let error = try #require(record["error"] as? String)
        #expect(error.hasPrefix("upstream_failed: "), "recorded as \(error)")
        #expect(error.contains("after \(ProviderFixtures.chatChunk("Hel").utf8.count) bytes of the answer"))
        try await gateway.stop()
    }

    @Test("a 6 MB answer reaches the client whole while the record keeps its start and end, its tokens, and says it was cut")
    func largeAnswerKeptBounded() async throws {
        let filler = String(repeating: "x", count: 6 << 20)
        let answer = #"{"id":"chatcmpl-big","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":""#
            + filler + #""},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":1500000,"total_tokens":1500012}}"#
        let provider = try await FakeServer.start { _, _ in FakeServer.json(answer) }
        let gateway = try await TestGateway.start(provider: provider) { $0.bodies.maxKeptBytes = 1 << 20 }
        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: #"{"model":"gpt-4o-mini"}"#)
        #expect(reply.status == 200)
        #expect(reply.body.count == answer.utf8.count)
        #expect(reply.text == answer)
        let id = try #require(reply.headers.first(name: "helicone-id"))
        let record = try await gateway.record(id)
        #expect(record["response_truncated"] as? Bool == true)
        #expect(record["response_bytes"] as? Int == answer.utf8.count)
        #expect(record["model"] as? String == "gpt-4o-mini-2024-07-18")
        #expect(record["prompt_tokens"] as? Int == 12)
        #expect(record["completion_tokens"] as? Int == 1_500_000)

        // The stored body is the answer's first bytes, at most the configured size.
        let url = try #require(record["request_response_url"] as? String)
        let stored = try await TestGateway.client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        let document = try await stored.body.collect(upTo: 8 << 20)
        #expect(stored.status.code == 200)
        #expect(document.readableBytes < 1 << 20 + 4096)
        #expect(String(buffer: document).contains(#"chatcmpl-big"#))
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a large stream's record has the usage from its last event although only its start and end were kept")
    func largeStreamKeptBounded() async throws {
        var events = [ProviderFixtures.chatChunk("start")]
        let piece = String(repeating: "y", count: 8000)
        for _ in 0..<400 { events.append(ProviderFixtures.chatChunk(piece)) }
        events.append(#"data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":400000,"total_tokens":400007}}"# + "\n\n")
        events.append("data: [DONE]\n\n")
        let sent = events
        let provider = try await FakeServer.start { _, _ in FakeServer.sse(sent) }
        let gateway = try await TestGateway.start(provider: provider) { $0.bodies.maxKeptBytes = 512 << 10 }
        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#)
        #expect(reply.text == events.joined())
        let record = try await gateway.record(try #require(reply.headers.first(name: "helicone-id")))
        #expect(record["response_truncated"] as? Bool == true)
        #expect(record["prompt_tokens"] as? Int == 7)
        #expect(record["completion_tokens"] as? Int == 400_000)
        #expect(record["response_bytes"] as? Int == events.joined().utf8.count)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("with metrics.require_admin_key, /metrics answers 401 without the admin key and the counts with it")
    func metricsBehindAdminKey() async throws {
        let gateway = try await TestGateway.start { $0.metrics.requireAdminKey = true }
        let anonymous = try await gateway.send(.GET, "/metrics")
        #expect(anonymous.status == 401)
        #expect(!anonymous.text.contains("tollgate_"))
        let admitted = try await gateway.admin("/metrics")
        #expect(admitted.status == 200)
        #expect(admitted.text.contains("tollgate_record_queue_depth"))
        try await gateway.stop()

        let open = try await TestGateway.start()
        #expect(try await open.send(.GET, "/metrics").status == 200)
        try await open.stop()
    }

    @Test("the SQLite file holding bodies and webhook keys is readable by its owner only")
    func databaseFileIsPrivate() async throws {
        let gateway = try await TestGateway.start()
        guard gateway.config.storage.kind == .sqlite else { try await gateway.stop(); return }
        var info = stat()
        #expect(stat(gateway.storagePath + "/tollgate.sqlite", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        try await gateway.stop()
    }
}

@Suite("Client connections")
struct ClientConnectionTests {
    @Test("an HTTP/1.0 client gets an HTTP/1.0 answer, unchunked, and the connection closes when it is complete")
    func http10ClientAnswered() async throws {
        let events = [ProviderFixtures.chatChunk("Hel"), ProviderFixtures.chatChunk("lo"), "data: [DONE]\n\n"]
        let provider = try await FakeServer.start { _, _ in FakeServer.sse(events) }
        let gateway = try await TestGateway.start(provider: provider)
        let port = try #require(URLComponents(string: gateway.baseURL)?.port)
        let body = #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#
        let (text, closed) = try await RawHTTP.onOwnThread {
            let connection = try RawConnection(port: port)
            connection.send("POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            return connection.readUntilClosed(timeout: 20)
        }
        #expect(closed, "the server must close an HTTP/1.0 connection after the answer")
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts[0].lowercased()
        #expect(head.hasPrefix("http/1.0 200"))
        #expect(!head.contains("transfer-encoding"))
        #expect(head.contains("connection: close"))
        #expect(parts.dropFirst().joined(separator: "\r\n\r\n") == events.joined())
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a client that dribbles a request head is cut after server.header_timeout_seconds")
    func dribbledHeadCut() async throws {
        let gateway = try await TestGateway.start { $0.server.headerTimeout = .seconds(1) }
        let port = try #require(URLComponents(string: gateway.baseURL)?.port)
        let cut = try await RawHTTP.onOwnThread {
            let connection = try RawConnection(port: port)
            connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            // One header byte every 200 ms for up to 15 s: never a whole head.
            for _ in 0..<75 {
                if connection.read(timeout: 0.2) == .closed || !connection.send("X") { return true }
            }
            return false
        }
        #expect(cut, "a head that never completes must not hold the connection")
        try await gateway.stop()
    }

    @Test("a keep-alive connection with no request is closed after server.idle_timeout_seconds, and one in use is not")
    func idleConnectionClosed() async throws {
        let gateway = try await TestGateway.start { $0.server.idleTimeout = .seconds(1) }
        let port = try #require(URLComponents(string: gateway.baseURL)?.port)
        let (answered, closedAfter) = try await RawHTTP.onOwnThread {
            let connection = try RawConnection(port: port)
            var answered = 0
            // Three requests half a second apart: each gap is shorter than the idle timeout.
            for _ in 0..<3 {
                connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if case .data(let bytes) = connection.read(timeout: 5), bytes.starts(with: Array("HTTP/1.1 200".utf8)) { answered += 1 }
                Thread.sleep(forTimeInterval: 0.5)
            }
            return (answered, connection.readUntilClosed(timeout: 15).closed)
        }
        #expect(answered == 3)
        #expect(closedAfter, "an idle keep-alive connection must be closed by the server")
        try await gateway.stop()
    }
}
