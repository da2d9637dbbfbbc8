import Foundation
import HummingbirdCore
import NIOCore
import NIOHTTP1
import TollgateCore

/// One call from client to provider and back, on the client connection's event loop.
///
/// Phases, in order: read tags and auth (``GatewayHeaders``) and pick the upstream
/// (``RoutingTable``) at the head; collect the body (bounded by `server.max_body_bytes`); claim a
/// client-chosen id; rewrite the request (strip `Helicone-*` and hop-by-hop headers, inject
/// `stream_options.include_usage`); take a pooled connection and send; pass the answer's buffers
/// to the client as they arrive while noting the first byte and keeping the recorder's copy; hand
/// the finished ``Exchange`` to the ``RecordQueue``. Until the answer's head is written to the
/// client nothing is committed, so a call may still be sent again (a reused connection the
/// provider had closed is retried once on a new one) or answered by the gateway itself.
final class ProxyCall: UpstreamCallDelegate {
    private enum Phase {
        case readingBody
        /// Answered by the gateway before the body ended; the rest of the body is dropped.
        case refused
        case claiming
        case waitingForConnection(LoopPool.Waiter?)
        case sent(UpstreamConnection)
        case done
    }

    let environment: ProxyEnvironment
    let pool: LoopPool
    unowned let handler: ProxyHandler
    let context: ChannelHandlerContext
    let head: HTTPRequestHead
    let uri: URI
    let started = ContinuousClock.now
    let receivedAt = Date()

    private var phase = Phase.readingBody
    private var tags = GatewayTags()
    private var id = UUID()
    private var project = ""
    private var target: UpstreamTarget?
    private var body: ByteBuffer?
    private var exchange: Exchange?
    /// The client asked to close after this answer (HTTP/1.1 `Connection: close`).
    private var closeAfterAnswer = false
    private var upstreamHead: HTTPRequestHead?
    private var upstreamBody: ByteBuffer?
    private var sentAt = ContinuousClock.now
    private var attempts = 0
    private var answerHeadSent = false
    private var capture: BodyCapture?
    private var filter: UsageChunkFilter?
    private var chunks = 0

    init(environment: ProxyEnvironment, pool: LoopPool, handler: ProxyHandler, context: ChannelHandlerContext, head: HTTPRequestHead, uri: URI) {
        self.environment = environment
        self.pool = pool
        self.handler = handler
        self.context = context
        self.head = head
        self.uri = uri
    }

    // MARK: Request

    /// At the head: refuse what can be refused before reading the body.
    func begin() {
        let headers = head.headers
        if environment.adminKeys.isCarried(headers: headers.lazy.map { ($0.name, $0.value) }, target: head.uri) {
            refuse(
                .forbidden, type: "admin_key_refused",
                message: "this request carries a Tollgate admin key, and admin keys are never forwarded to a provider: call the provider with its own key (and Helicone-Auth: Bearer <gateway key>), and use the admin key only for Tollgate's API",
                id: nil
            )
            return
        }
        do {
            tags = try GatewayHeaders.parse(headers.lazy.map { (name: $0.name, value: $0.value) })
        } catch {
            refuse(.badRequest, type: "invalid_header", message: error.message, id: UUID.random())
            return
        }
        id = tags.requestID ?? UUID.random()
        if environment.gatewayKeys.isEmpty {
            project = "default"
        } else if let key = tags.gatewayKey, let found = environment.gatewayKeys[key] {
            project = found
        } else {
            let message = tags.gatewayKey == nil ? "missing Helicone-Auth: Bearer <gateway key>" : "unknown gateway key in Helicone-Auth"
            refuse(.unauthorized, type: "unauthorized", message: message, id: id)
            return
        }
        switch environment.routing.resolve(path: uri.path, query: uri.query, targetURL: tags.targetURL) {
        case .success(let resolved): target = resolved
        case .failure(let error):
            refuse(HTTPResponseStatus(statusCode: error.status), type: error.type, message: error.message, id: id)
            return
        }
        if let length = headers.first(name: "content-length").flatMap(Int.init), length > environment.maxBodyBytes {
            refuseTooLarge()
            return
        }
        closeAfterAnswer = !head.isKeepAlive
    }

    func bodyPart(_ buffer: ByteBuffer) {
        guard case .readingBody = phase else { return }
        var buffer = buffer
        guard (body?.readableBytes ?? 0) + buffer.readableBytes <= environment.maxBodyBytes else {
            refuseTooLarge()
            return
        }
        if body == nil {
            body = buffer  // most bodies arrive in one piece: no copy
        } else {
            body!.writeBuffer(&buffer)
        }
    }

    func requestEnded() {
        switch phase {
        case .refused:
            phase = .done
            handler.callEnded(self)
        case .readingBody:
            if tags.requestID != nil {
                claimID()
            } else {
                prepare()
            }
        default:
            break
        }
    }

    /// A client-chosen id must be free: held by no call in flight and not in the store. The store
    /// is asked off the event loop; the call comes back to it after.
    private func claimID() {
        phase = .claiming
        let (registry, store, id) = (environment.requestIDs, environment.store, id)
        let promise = context.eventLoop.makePromise(of: RequestIDRegistry.Claim.self)
        promise.completeWithTask { await registry.claim(id, unlessRecordedIn: store) }
        promise.futureResult.assumeIsolated().whenSuccess { claim in
            guard case .claiming = self.phase else {
                // The client left meanwhile.
                if claim == .claimed { registry.release(id) }
                return
            }
            switch claim {
            case .claimed: self.prepare()
            case .used: self.duplicateID()
            case .unavailable:
                self.answerRefusal(
                    .serviceUnavailable, type: "store_unavailable",
                    message: "cannot check whether Helicone-Request-Id \(id.uuidString.lowercased()) was already used: the database is not answering; retry, or send the call without it", id: id
                )
            }
        }
    }

    private func duplicateID() {
        answerRefusal(.conflict, type: "duplicate_request_id", message: "Helicone-Request-Id \(id.uuidString.lowercased()) was already used", id: id)
    }

    /// Rewrites the request for the provider and sends it.
    private func prepare() {
        guard let target else { return }
        let body = self.body ?? context.channel.allocator.buffer(capacity: 0)
        let requestBytes = Array(body.readableBytesView)
        var exchange = Exchange(
            id: id, project: project, receivedAt: receivedAt, method: head.method.rawValue,
            path: uri.path, target: target, tags: tags, requestBody: requestBytes
        )
        var upstreamBody = body
        if target.format == .openai, let rewritten = StreamRequestRewriter.injectIncludeUsage(into: requestBytes) {
            upstreamBody = context.channel.allocator.buffer(bytes: rewritten)
            exchange.injectedUsage = true
        }

        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 3)
        let origin = target.origin
        headers.add(name: "Host", value: origin.port == (origin.scheme == "https" ? 443 : 80) ? origin.host : "\(origin.host):\(origin.port)")
        let connectionTokens = GatewayHeaders.connectionTokens(head.headers.first(name: "connection"))
        var headBytes = head.method.rawValue.utf8.count + target.pathAndQuery.utf8.count + origin.host.utf8.count + 128
        for (name, value) in head.headers where GatewayHeaders.forwardsUpstream(name.lowercased(), connectionTokens: connectionTokens) {
            headers.add(name: name, value: value)
            headBytes += name.utf8.count + value.utf8.count + 4
        }
        guard headBytes <= environment.maxHeadBytes else {
            // Refused before any upstream work: a head this large is more than providers accept.
            if tags.requestID != nil { environment.requestIDs.release(id) }
            answerRefusal(
                .requestHeaderFieldsTooLarge, type: "headers_too_large",
                message: "the request line and headers to forward are \(headBytes) bytes, over server.max_header_bytes (\(environment.maxHeadBytes))", id: id
            )
            return
        }
        headers.add(name: "Accept-Encoding", value: "identity")
        let sendsBody = upstreamBody.readableBytes > 0 || head.method == .POST || head.method == .PUT || head.method == .PATCH
        if sendsBody { headers.add(name: "Content-Length", value: String(upstreamBody.readableBytes)) }
        self.exchange = exchange
        self.upstreamHead = HTTPRequestHead(version: .http1_1, method: head.method, uri: target.pathAndQuery, headers: headers)
        self.upstreamBody = sendsBody ? upstreamBody : nil
        self.body = nil
        send(fresh: false)
    }

    private func send(fresh: Bool) {
        guard let target else { return }
        attempts += 1
        phase = .waitingForConnection(nil)
        sentAt = .now
        let waiter = pool.acquire(target.origin, fresh: fresh) { [self] result in
            guard case .waitingForConnection = phase else {
                // The client left while the connection was being opened: keep it for the next call.
                if case .success(let connection) = result { pool.release(connection, origin: target.origin) }
                return
            }
            switch result {
            case .success(let connection):
                phase = .sent(connection)
                connection.send(upstreamHead!, body: upstreamBody, to: self)
            case .failure(let error):
                upstreamFailed(error)
            }
        }
        if let waiter, case .waitingForConnection = phase { phase = .waitingForConnection(waiter) }
    }

    // MARK: Answer

    func upstreamHead(_ answer: HTTPResponseHead) {
        guard var exchange else { return }
        var headers = HTTPHeaders()
        headers.reserveCapacity(answer.headers.count + 2)
        let connectionTokens = GatewayHeaders.connectionTokens(answer.headers.first(name: "connection"))
        var contentType = ""
        var contentLength: String?
        for (name, value) in answer.headers {
            let lowercased = name.lowercased()
            if lowercased == "content-type" { contentType = value }
            if lowercased == "content-length" { contentLength = value }
            if GatewayHeaders.forwardsDownstream(lowercased, connectionTokens: connectionTokens) {
                headers.add(name: name, value: value)
            }
        }
        headers.add(name: "Helicone-Id", value: id.uuidString.lowercased())
        exchange.stream = contentType.lowercased().hasPrefix("text/event-stream")
        exchange.status = Int(answer.status.code)
        let filtersUsage = exchange.injectedUsage && exchange.stream
        if !filtersUsage, let contentLength { headers.add(name: "Content-Length", value: contentLength) }
        if closeAfterAnswer { headers.add(name: "Connection", value: "close") }
        if filtersUsage { filter = UsageChunkFilter() }
        capture = BodyCapture(limit: environment.maxKeptResponseBytes)
        self.exchange = exchange
        answerHeadSent = true
        let part = HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))
        if exchange.stream {
            context.writeAndFlush(handler.wrapOutboundOut(part), promise: nil)
        } else {
            context.write(handler.wrapOutboundOut(part), promise: nil)
        }
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        guard case .sent(let connection) = phase else { return }
        if chunks == 0 { exchange?.timeToFirstByteMs = Self.milliseconds(since: started) }
        chunks += 1
        buffer.withUnsafeReadableBytes { capture?.append($0) }
        if filter != nil {
            let out = buffer.withUnsafeReadableBytes { filter!.feed($0) }
            if !out.isEmpty {
                context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: out)))), promise: nil)
            }
        } else {
            context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if !context.channel.isWritable { connection.pause() }
    }

    func clientWritable() {
        if case .sent(let connection) = phase { connection.resume() }
    }

    func upstreamEnd() {
        guard case .sent(let connection) = phase, var exchange, let target else { return }
        exchange.upstreamLatencyMs = Self.milliseconds(since: sentAt)
        if var filter {
            let rest = filter.finish()
            if !rest.isEmpty { context.write(handler.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: rest)))), promise: nil) }
        }
        phase = .done
        handler.callEnded(self)
        if closeAfterAnswer {
            let context = self.context
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
        }
        pool.release(connection, origin: target.origin)
        if let capture { exchange.setResponse(capture.finish()) }
        exchange.latencyMs = Self.milliseconds(since: started)
        environment.finish(exchange)
    }

    func upstreamFailed(_ error: UpstreamError) {
        guard var exchange, let target else { return }
        var reusedConnection = false
        if case .sent(let connection) = phase { reusedConnection = connection.callsServed > 1 && !connection.answerStarted }
        switch phase {
        case .sent, .waitingForConnection: break
        default: return
        }
        if !answerHeadSent, reusedConnection, attempts == 1, Self.isClosedBeforeAnswer(error) {
            // The provider closed a pooled connection as the call went out: nothing reached the
            // client and the provider saw at most a cut request, so send it once more on a new one.
            send(fresh: true)
            return
        }
        phase = .done
        handler.callEnded(self)
        let failure = UpstreamFailure.classify(error, host: target.origin.origin, phase: answerHeadSent ? .duringAnswer(bytes: capture?.totalBytes ?? 0) : .beforeAnswer)
        exchange.failure = failure.failure
        exchange.upstreamLatencyMs = Self.milliseconds(since: sentAt)
        if let capture { exchange.setResponse(capture.finish()) }
        exchange.latencyMs = Self.milliseconds(since: started)
        if answerHeadSent {
            // Cut the connection so the client sees an incomplete answer, not a clean end.
            context.close(promise: nil)
        } else {
            exchange.status = failure.status
            writeError(status: HTTPResponseStatus(statusCode: failure.status), type: failure.failure.kind.rawValue, message: failure.failure.detail, id: id)
        }
        environment.finish(exchange)
    }

    /// The client's connection closed: the call is recorded as cancelled and its upstream
    /// connection closed at once (a half-read answer cannot carry another call).
    func clientLeft() {
        let before: Phase = phase
        phase = .done
        switch before {
        case .readingBody, .refused, .done:
            return
        case .claiming:
            return  // the claim's answer releases the id
        case .waitingForConnection(let waiter):
            waiter?.cancel()
        case .sent(let connection):
            connection.abandon()
        }
        guard var exchange, let target else { return }
        if answerHeadSent {
            exchange.failure = Failure(.clientCancelled, "client went away after \(chunks) upstream chunks")
        } else {
            exchange.status = 499
            exchange.failure = Failure(.clientCancelled, "client went away before \(target.origin.origin) answered")
        }
        if case .sent = before { exchange.upstreamLatencyMs = Self.milliseconds(since: sentAt) }
        if let capture { exchange.setResponse(capture.finish()) }
        exchange.latencyMs = Self.milliseconds(since: started)
        environment.finish(exchange)
    }

    // MARK: The gateway's own answers

    private func refuse(_ status: HTTPResponseStatus, type: String, message: String, id: UUID?) {
        phase = .refused
        writeRefusal(status, type: type, message: message, id: id)
    }

    /// 413 as soon as the body is known to be too large; the rest is not read (the connection closes).
    private func refuseTooLarge() {
        phase = .refused
        closeAfterAnswer = true
        writeRefusal(.payloadTooLarge, type: "body_too_large", message: "request body is larger than server.max_body_bytes (\(environment.maxBodyBytes))", id: id)
    }

    /// A refusal after the whole request was read.
    private func answerRefusal(_ status: HTTPResponseStatus, type: String, message: String, id: UUID?) {
        phase = .done
        handler.callEnded(self)
        writeRefusal(status, type: type, message: message, id: id)
    }

    /// The gateway's own refusal (nothing forwarded, nothing recorded), logged at notice with the
    /// route and reason only.
    private func writeRefusal(_ status: HTTPResponseStatus, type: String, message: String, id: UUID?) {
        environment.logger.notice("refused call", metadata: [
            "helicone.id": "\(id?.uuidString.lowercased() ?? "")", "status": "\(status.code)", "type": "\(type)",
            "method": "\(head.method.rawValue)", "path": "\(uri.path)", "reason": "\(message)",
        ])
        writeError(status: status, type: type, message: message, id: id)
    }

    private func writeError(status: HTTPResponseStatus, type: String, message: String, id: UUID?) {
        let body = GatewayError.body(type: type, message: message)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.count))
        if let id { headers.add(name: "Helicone-Id", value: id.uuidString.lowercased()) }
        if closeAfterAnswer { headers.add(name: "Connection", value: "close") }
        context.write(handler.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(handler.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        if closeAfterAnswer {
            let context = self.context
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    private static func isClosedBeforeAnswer(_ error: UpstreamError) -> Bool {
        switch error {
        case .closed, .io: true
        default: false
        }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}
