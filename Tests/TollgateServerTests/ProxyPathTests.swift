import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import Testing
import TollgateCore
#if canImport(Glibc)
import Glibc
#endif

@Suite("The proxy path: pooled upstream connections, back-pressure, cancelled calls, upstream TLS")
struct ProxyPathTests {
    /// Serves keep-alive HTTP/1.1 on `fd`: each request gets `answer` (a 200 with a JSON body)
    /// until the gateway closes the connection or `after` says to stop.
    static func serveKeepAlive(_ fd: Int32, answer: String = #"{"ok":true}"#, after: (Int) -> Bool = { _ in true }) {
        var served = 0
        while RawUpstream.readOneRequest(fd) {
            served += 1
            RawUpstream.write(fd, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \(answer.utf8.count)\r\n\r\n" + answer)
            if !after(served) { return }
        }
    }

    static func request(_ path: String = "/v1/chat/completions", body: String = #"{"model":"gpt-4o-mini"}"#, headers: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// Reads one whole answer with a `Content-Length` from `connection`.
    static func readAnswer(_ connection: RawConnection) -> String {
        var bytes: [UInt8] = []
        while case .data(let more) = connection.read(timeout: 10) {
            bytes += more
            let text = String(decoding: bytes, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n"),
               let length = text[..<end.lowerBound].lowercased().split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") })
                .flatMap({ Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }),
               text.utf8.distance(from: end.upperBound.samePosition(in: text.utf8)!, to: text.utf8.endIndex) >= length {
                return text
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("calls one after another on a client connection reuse one keep-alive connection to the provider")
    func poolReusesConnection() async throws {
        let upstream = try RawUpstream { fd in Self.serveKeepAlive(fd); close(fd) }
        defer { upstream.stop() }
        let gateway = try await TestGateway.start { config in
            config.routing.providers = [ProviderRoute(name: "openai", origin: Origin(upstream.baseURL)!, format: .openai)]
        }
        let answers = try await RawHTTP.onOwnThread {
            let connection = try RawConnection(port: gateway.server.port)
            return (0..<5).map { _ in
                connection.send(Self.request())
                return Self.readAnswer(connection)
            }
        }
        for answer in answers {
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            #expect(answer.hasSuffix(#"{"ok":true}"#))
        }
        #expect(upstream.connections == 1, "five calls opened \(upstream.connections) connections")
        try await gateway.stop()
    }

    @Test("a pooled connection the provider reset is not used again: the next call gets a new one and its answer")
    func resetConnectionNotReused() async throws {
        let reset = Gate()
        let upstream = try RawUpstream { fd in
            // The first connection answers one call and is then reset; later ones serve normally.
            Self.serveKeepAlive(fd) { _ in false }
            RawUpstream.reset(fd)
            reset.open()
        }
        defer { upstream.stop() }
        let gateway = try await TestGateway.start { config in
            config.routing.providers = [ProviderRoute(name: "openai", origin: Origin(upstream.baseURL)!, format: .openai)]
        }
        let first = try await RawHTTP.onOwnThread {
            let connection = try RawConnection(port: gateway.server.port)
            connection.send(Self.request())
            return (connection, Self.readAnswer(connection))
        }
        #expect(first.1.hasPrefix("HTTP/1.1 200"))
        try await withTimeout(.seconds(30)) { await reset.wait() }
        try await Task.sleep(for: .milliseconds(200))  // let the reset reach the gateway
        let second = try await RawHTTP.onOwnThread {
            first.0.send(Self.request())
            return Self.readAnswer(first.0)
        }
        #expect(second.hasPrefix("HTTP/1.1 200"), "got \(second)")
        #expect(second.hasSuffix(#"{"ok":true}"#))
        #expect(upstream.connections == 2)
        try await gateway.stop()
    }

    @Test("a pooled connection the provider drops as the next call goes out is retried once on a new one, unseen by the client")
    func droppedPooledConnectionRetried() async throws {
        let upstream = try RawUpstream { fd in
            // Answers one call, then reads the next one and hangs up without answering.
            Self.serveKeepAlive(fd) { _ in false }
            _ = RawUpstream.readOneRequest(fd)
            close(fd)
        }
        defer { upstream.stop() }
        let gateway = try await TestGateway.start { config in
            config.routing.providers = [ProviderRoute(name: "openai", origin: Origin(upstream.baseURL)!, format: .openai)]
        }
        let answers = try await RawHTTP.onOwnThread {
            let connection = try RawConnection(port: gateway.server.port)
            return (0..<2).map { _ in
                connection.send(Self.request())
                return Self.readAnswer(connection)
            }
        }
        #expect(answers[0].hasPrefix("HTTP/1.1 200"))
        #expect(answers[1].hasPrefix("HTTP/1.1 200"), "got \(answers[1])")
        try await gateway.stop()
    }

    @Test("a client that leaves before the provider's headers is recorded as cancelled, and the provider's connection is closed at once")
    func clientLeavesBeforeHeaders() async throws {
        let received = Gate()
        let upstreamClosed = Gate()
        let upstream = try RawUpstream { fd in
            RawUpstream.readRequest(fd)
            received.open()
            // Answer nothing; wait for the gateway to hang up.
            var byte: UInt8 = 0
            while recv(fd, &byte, 1, 0) > 0 {}
            upstreamClosed.open()
            close(fd)
        }
        defer { upstream.stop() }
        let gateway = try await TestGateway.start { config in
            config.routing.providers = [ProviderRoute(name: "openai", origin: Origin(upstream.baseURL)!, format: .openai)]
            config.upstream.stallTimeout = .seconds(120)
        }
        let id = UUID().uuidString.lowercased()
        let connection = try await RawHTTP.onOwnThread {
            let connection = try RawConnection(port: gateway.server.port)
            connection.send(Self.request(headers: "Helicone-Request-Id: \(id)\r\n"))
            return connection
        }
        // Bounded: a call refused before it is sent (a store check timing out under load) must
        // fail this test, not hang the suite.
        try await withTimeout(.seconds(30)) { await received.wait() }
        connection.hangUp()
        try await withTimeout(.seconds(10)) { await upstreamClosed.wait() }
        let record = try await gateway.record(id)
        let error = try #require(record["error"] as? String)
        #expect(error.hasPrefix("client_cancelled"), "recorded as \(error)")
        #expect(record["status"] as? Int == 499)
        try await gateway.stop()
    }

    @Test("a client that reads slowly holds back the provider: the gateway stops reading upstream instead of buffering the answer")
    func slowClientBackPressure() async throws {
        // More than the kernel's buffers between provider and client can hold (up to 32 MB for
        // the gateway's receiving socket on this machine, 4 MB sending, the client's set small).
        let total = 128 << 20
        // The provider writes with blocking sends on its socket, so what it has sent is exactly
        // what the gateway has taken in (no buffer in the provider's own memory).
        let written = Atomic<Int>(0)
        let upstream = try RawUpstream { fd in
            RawUpstream.readRequest(fd)
            RawUpstream.write(fd, "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: \(total)\r\n\r\n")
            let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
            while written.load(ordering: .relaxed) < total {
                let size = min(chunk.count, total - written.load(ordering: .relaxed))
                let n = chunk.withUnsafeBytes { send(fd, $0.baseAddress, size, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }
                written.add(n, ordering: .relaxed)
            }
            close(fd)
        }
        defer { upstream.stop() }
        let gateway = try await TestGateway.start { config in
            config.routing.providers = [ProviderRoute(name: "openai", origin: Origin(upstream.baseURL)!, format: .openai)]
        }
        let connection = try await RawHTTP.onOwnThread {
            let connection = try RawConnection(port: gateway.server.port, receiveBuffer: 64 << 10)
            connection.send(Self.request("/v1/files/content", headers: "Connection: close\r\n"))
            return connection
        }
        // The client reads nothing for a while; the provider can only fill the buffers between.
        try await Task.sleep(for: .seconds(2))
        let heldBack = written.load(ordering: .relaxed)
        #expect(heldBack < total / 2, "the provider wrote \(heldBack) of \(total) bytes to a client reading none")
        let received = try await RawHTTP.onOwnThread {
            var count = 0
            var start: [UInt8] = []
            while case .data(let more) = connection.read(timeout: 10) {
                count += more.count
                if start.count < 4096 { start += more.prefix(4096) }
            }
            let head = String(decoding: start, as: UTF8.self).range(of: "\r\n\r\n").map { String(decoding: start, as: UTF8.self)[..<$0.upperBound].utf8.count } ?? 0
            return count - head
        }
        #expect(received == total)
        try await gateway.stop()
    }

    @Test("a body over server.max_body_bytes gets 413 from its Content-Length, before it is read, and nothing reaches the provider")
    func bodyTooLargeRefusedAtHead() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let gateway = try await TestGateway.start(provider: provider) { $0.server.maxBodyBytes = 1024 }
        let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
        let answer = try await RawHTTP.exchange(port: gateway.server.port, request: Array((head + #"{"model":"#).utf8))
        #expect(answer.hasPrefix("HTTP/1.1 413"), "got \(answer)")
        #expect(answer.contains("body_too_large"))
        #expect(provider.requests.isEmpty)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("an https provider whose certificate is signed by upstream.ca_file is reached; without it the certificate is refused")
    func upstreamTLSWithConfiguredCA() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0, "openssl could not make a certificate")

        let provider = try await TLSProvider.start(certificate: directory + "/cert.pem", key: directory + "/key.pem", answer: #"{"id":"chatcmpl-tls"}"#)
        let trusted = try await TestGateway.start { config in
            config.routing.providers = [ProviderRoute(name: "openai", origin: Origin("https://localhost:\(provider.port)")!, format: .openai)]
            config.upstream.caFile = directory + "/cert.pem"
        }
        let reply = try await trusted.send(.POST, "/v1/chat/completions", body: #"{"model":"gpt-4o-mini"}"#)
        #expect(reply.status == 200)
        #expect(reply.text == #"{"id":"chatcmpl-tls"}"#)
        try await trusted.stop()

        let untrusted = try await TestGateway.start { config in
            config.routing.providers = [ProviderRoute(name: "openai", origin: Origin("https://localhost:\(provider.port)")!, format: .openai)]
        }
        let refused = try await untrusted.send(.POST, "/v1/chat/completions", body: #"{"model":"gpt-4o-mini"}"#)
        #expect(refused.status == 502)
        #expect((refused.json?["error"] as? [String: Any])?["type"] as? String == "upstream_unreachable")
        try await untrusted.stop()
        try await provider.channel.close()
    }
}

/// An https provider answering every request with one JSON body, on 127.0.0.1:0.
struct TLSProvider {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    final class Answer: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let body: String

        init(body: String) { self.body = body }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(body.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    static func start(certificate: String, key: String, answer: String) async throws -> TLSProvider {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        )
        let context = try NIOSSLContext(configuration: configuration)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Answer(body: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TLSProvider(channel: channel)
    }
}
