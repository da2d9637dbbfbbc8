import Foundation
import HummingbirdCore
import NIOCore
import NIOHTTP1
import TollgateCore

/// One call from client to provider and back, on the client connection's event loop.
///
/// Phases, in order: read tags and auth (``GatewayHeaders``) and pick the upstream
/// (``RoutingTable``, and each `Helicone-Fallbacks` entry) at the head; collect the body
/// (bounded by `server.max_body_bytes`); if the call needs the store before it goes (a
/// client-chosen id, rate limits, the cache), ask it in one hop off the loop
/// (``CallAdmission``), which may answer it (409, 429, a cached answer); rewrite the request
/// (strip `Helicone-*` and hop-by-hop headers, inject `stream_options.include_usage`); take a
/// pooled connection and send; pass the answer's buffers to the client as they arrive while
/// noting the first byte and keeping the recorder's copy; hand the finished ``Exchange`` to the
/// ``RecordQueue``.
///
/// Until the answer's head is written to the client nothing is committed, so a call may still be
/// sent again: a reused connection the provider had closed is retried once on a new one, and an
/// answer that `Helicone-Retry-*` or `Helicone-Fallbacks` pass over (``AttemptPlan``) is read
/// for the record and the call sent again, to the same target after a wait or to the next entry.
final class ProxyCall: UpstreamCallDelegate {
    private enum Phase {
        case readingBody
        /// Answered by the gateway before the body ended; the rest of the body is dropped.
        case refused
        /// The store is being asked (``CallAdmission``).
        case admitting
        case waitingForConnection(LoopPool.Waiter?)
        case sent(UpstreamConnection)
        /// An answer the plan passes over: its body is read for the record, then `step` is taken.
        case passingOver(UpstreamConnection, AttemptPlan.Step)
        /// Waiting before a retry.
        case backingOff(Scheduled<Void>)
        /// The answer is complete and its end waits until it is in the cache.
        case keeping
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
    /// Where the call goes: the routed target, or one per `Helicone-Fallbacks` entry.
    private var targets: [UpstreamTarget] = []
    /// The entry of ``targets`` being tried.
    private var entry = 0
    private var retriesMade = 0
    /// The rate-limit policies that apply: the gateway key's and the call's own.
    private var policies: [RateLimitPolicy] = []
    /// `Helicone-RateLimit-*` (and `Helicone-Cache`) headers every answer of this call carries.
    private var controlHeaders: [(String, String)] = []
    private var cacheKey: String?
    private var body: ByteBuffer?
    private var exchange: Exchange?
    /// The client asked to close after this answer (HTTP/1.1 `Connection: close`).
    private var closeAfterAnswer = false
    /// The request's headers as forwarded (without `Host` and `Content-Length`), and its body as
    /// sent to the first target.
    private var forwardedHeaders = HTTPHeaders()
    private var requestBody: ByteBuffer?
    private var sendsBody = false
    /// The current attempt's request, kept to send again on a fresh connection.
    private var upstreamHead: HTTPRequestHead?
    private var upstreamBody: ByteBuffer?
    private var sentAt = ContinuousClock.now
    /// The current attempt was already sent again once on a fresh connection.
    private var reconnected = false
    /// The start of an answer being passed over, and its status.
    private var passedOver: (status: Int, body: [UInt8])?
    private var answerHeadSent = false
    private var capture: BodyCapture?
    private var filter: UsageChunkFilter?
    /// A cacheable JSON answer's body, held until it is in the cache (so the next identical call
    /// finds it); nil when not holding.
    private var held: ByteBuffer?
    /// The answer goes into the cache once complete.
    private var keepsAnswer = false
    private var keptHeaders: [(String, String)] = []
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
            policies = environment.rateLimits[key] ?? []
        } else {
            let message = tags.gatewayKey == nil ? "missing Helicone-Auth: Bearer <gateway key>" : "unknown gateway key in Helicone-Auth"
            refuse(.unauthorized, type: "unauthorized", message: message, id: id)
            return
        }
        if let policy = tags.controls.rateLimit { policies.append(policy) }
        let routed: UpstreamTarget
        switch environment.routing.resolve(path: uri.path, query: uri.query, targetURL: tags.targetURL) {
        case .success(let resolved): routed = resolved
        case .failure(let error):
            refuse(HTTPResponseStatus(statusCode: error.status), type: error.type, message: error.message, id: id)
            return
        }
        targets = [routed]
        if let fallbacks = tags.controls.fallbacks {
            // Every entry is checked before anything is sent.
            targets = []
            for (index, fallback) in fallbacks.enumerated() {
                switch environment.routing.fallback(fallback.targetURL, index: index, path: uri.path, query: uri.query, routed: routed) {
                case .success(let target): targets.append(target)
                case .failure(let error):
                    refuse(HTTPResponseStatus(statusCode: error.status), type: error.type, message: error.message, id: id)
                    return
                }
            }
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
            if prepare() {
                if tags.requestID != nil || !policies.isEmpty || tags.controls.cache != nil {
                    admit()
                } else {
                    sendAttempt()
                }
            }
        default:
            break
        }
    }

    /// Rewrites the request for the provider: the record's ``Exchange``, the forwarded headers and
    /// the body. False when the call was refused instead.
    private func prepare() -> Bool {
        let target = targets[0]
        let body = self.body ?? context.channel.allocator.buffer(capacity: 0)
        self.body = nil
        let requestBytes = Array(body.readableBytesView)
        var exchange = Exchange(
            id: id, project: project, receivedAt: receivedAt, method: head.method.rawValue,
            path: uri.path, target: target, tags: tags, requestBody: requestBytes
        )
        exchange.rateLimits = policies
        if tags.controls.retry != nil || tags.controls.fallbacks != nil { exchange.attempts = [] }
        var upstreamBody = body
        if target.format == .openai, let rewritten = StreamRequestRewriter.injectIncludeUsage(into: requestBytes) {
            upstreamBody = context.channel.allocator.buffer(bytes: rewritten)
            exchange.injectedUsage = true
        }
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 3)
        let connectionTokens = GatewayHeaders.connectionTokens(head.headers.first(name: "connection"))
        var headBytes = head.method.rawValue.utf8.count + 128
        for (name, value) in head.headers where GatewayHeaders.forwardsUpstream(name.lowercased(), connectionTokens: connectionTokens) {
            headers.add(name: name, value: value)
            headBytes += name.utf8.count + value.utf8.count + 4
        }
        // The largest head any entry gets: its path, host and own headers on top of the request's.
        var largest = 0
        for (index, target) in targets.enumerated() {
            var bytes = target.pathAndQuery.utf8.count + target.origin.host.utf8.count
            for (name, value) in tags.controls.fallbacks?[index].headers ?? [] { bytes += name.utf8.count + value.utf8.count + 4 }
            largest = max(largest, bytes)
        }
        guard headBytes + largest <= environment.maxHeadBytes else {
            // Refused before any upstream work: a head this large is more than providers accept.
            answerRefusal(
                .requestHeaderFieldsTooLarge, type: "headers_too_large",
                message: "the request line and headers to forward are \(headBytes + largest) bytes, over server.max_header_bytes (\(environment.maxHeadBytes))", id: id
            )
            return false
        }
        headers.add(name: "Accept-Encoding", value: "identity")
        self.exchange = exchange
        forwardedHeaders = headers
        sendsBody = upstreamBody.readableBytes > 0 || head.method == .POST || head.method == .PUT || head.method == .PATCH
        requestBody = upstreamBody
        return true
    }

    /// A call that needs the store before it goes: its id, rate limits and the cache, asked off
    /// the event loop in one hop; the call comes back to the loop with the verdict.
    private func admit() {
        // The user a per-user limit counts is the one the record shows: the header, else the
        // body's `user` (what the SDKs send), read only when such a limit applies.
        var user = tags.userID
        if user == nil, policies.contains(where: { $0.segment == .user }), let exchange {
            user = RequestFacts.inspect(exchange.requestBody).userID
        }
        var call = CallAdmission.Call(
            id: id, claimsID: tags.requestID != nil, project: project, policies: policies,
            user: user, properties: tags.properties
        )
        if let cache = tags.controls.cache, let exchange {
            let target = targets[0]
            let key = CacheKey.make(
                project: project, provider: target.provider, method: head.method.rawValue, path: target.pathAndQuery,
                body: exchange.requestBody, seed: cache.seed, ignoreKeys: cache.ignoreKeys
            )
            cacheKey = key
            call.cache = (key, cache.bucketMaxSize)
            // A hit this instance has lately seen is served here, on the event loop.
            if !call.claimsID, policies.isEmpty, let answer = environment.admission.front.hit(key: key, bucketMaxSize: cache.bucketMaxSize, now: Date()) {
                replay(answer)
                return
            }
        }
        phase = .admitting
        let admission = environment.admission
        let promise = context.eventLoop.makePromise(of: CallAdmission.Verdict.self)
        promise.completeWithTask { await admission.decide(call) }
        promise.futureResult.assumeIsolated().whenSuccess { verdict in
            guard case .admitting = self.phase else {
                // The client left meanwhile; a call that is not recorded frees the id it claimed
                // (not one that another call holds).
                switch verdict {
                case .idUsed, .idUnavailable: break
                case .limited, .hit, .forward: if call.claimsID { self.environment.requestIDs.release(call.id) }
                }
                return
            }
            self.admitted(verdict)
        }
    }

    private func admitted(_ verdict: CallAdmission.Verdict) {
        switch verdict {
        case .idUsed:
            answerRefusal(.conflict, type: "duplicate_request_id", message: "Helicone-Request-Id \(id.uuidString.lowercased()) was already used", id: id)
        case .idUnavailable:
            answerRefusal(
                .serviceUnavailable, type: "store_unavailable",
                message: "cannot check whether Helicone-Request-Id \(id.uuidString.lowercased()) was already used: the database is not answering; retry, or send the call without it", id: id
            )
        case .limited(let limit):
            controlHeaders = limit.headers
            rateLimited(limit)
        case .hit(let answer, let limit):
            controlHeaders = limit?.headers ?? []
            replay(answer)
        case .forward(let limit):
            controlHeaders = limit?.headers ?? []
            if cacheKey != nil { controlHeaders.append(("Helicone-Cache", "MISS")) }
            sendAttempt()
        }
    }

    /// Sends the call to the current entry of ``targets``, with that entry's own headers and body
    /// keys (`Helicone-Fallbacks`).
    private func sendAttempt() {
        let target = targets[entry]
        let fallback = tags.controls.fallbacks?[entry]
        var headers = forwardedHeaders
        let origin = target.origin
        headers.replaceOrAdd(name: "Host", value: origin.port == (origin.scheme == "https" ? 443 : 80) ? origin.host : "\(origin.host):\(origin.port)")
        for (name, value) in fallback?.headers ?? [] { headers.replaceOrAdd(name: name, value: value) }
        var body = requestBody
        if let overrides = fallback?.bodyKeyOverride, !overrides.isEmpty, let original = body {
            body = context.channel.allocator.buffer(bytes: FallbackTarget.merge(overrides, into: Array(original.readableBytesView)))
        }
        if sendsBody { headers.replaceOrAdd(name: "Content-Length", value: String(body?.readableBytes ?? 0)) }
        upstreamHead = HTTPRequestHead(version: .http1_1, method: head.method, uri: target.pathAndQuery, headers: headers)
        upstreamBody = sendsBody ? body : nil
        reconnected = false
        send(fresh: false)
    }

    private func send(fresh: Bool) {
        let target = targets[entry]
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

    /// Notes the attempt that just ended on the record, when the caller asked for retries or
    /// fallbacks.
    private func noteAttempt(status: Int?, error: String? = nil, response: [UInt8]? = nil) {
        guard exchange?.attempts != nil else { return }
        let target = targets[entry]
        let path = target.pathAndQuery.prefix { $0 != "?" }
        exchange!.attempts!.append(Attempt(
            url: target.origin.origin + path, status: status, durationMs: Self.milliseconds(since: sentAt),
            error: error, response: response.map(Attempt.responseStart)
        ))
    }

    /// Takes the plan's next step after an attempt the client will not see.
    private func take(_ step: AttemptPlan.Step) {
        switch step {
        case .answer:
            return
        case .retry(let milliseconds):
            retriesMade += 1
            let task = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(milliseconds))) { [self] in
                guard case .backingOff = phase else { return }
                sendAttempt()
            }
            phase = .backingOff(task)
        case .fallback(let next):
            entry = next
            retriesMade = 0
            sendAttempt()
        }
    }

    private func plan(status: Int?, retryAfter: String?) -> AttemptPlan.Step {
        guard exchange?.attempts != nil else { return .answer }
        return AttemptPlan.next(
            status: status, retryAfter: retryAfter, entry: entry, fallbacks: tags.controls.fallbacks, retry: tags.controls.retry,
            retriesMade: retriesMade, now: Date(), unit: Double.random(in: 0..<1)
        )
    }

    // MARK: Answer

    func upstreamHead(_ answer: HTTPResponseHead) {
        guard case .sent(let connection) = phase, var exchange else { return }
        let step = plan(status: Int(answer.status.code), retryAfter: answer.headers.first(name: "retry-after"))
        if step != .answer {
            passedOver = (Int(answer.status.code), [])
            phase = .passingOver(connection, step)
            return
        }
        var headers = HTTPHeaders()
        headers.reserveCapacity(answer.headers.count + 4 + controlHeaders.count)
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
        exchange.stream = contentType.lowercased().hasPrefix("text/event-stream")
        exchange.status = Int(answer.status.code)
        exchange.target = targets[entry]
        if cacheKey != nil, (200...299).contains(exchange.status), (tags.controls.cache?.maxAgeSeconds ?? 0) > 0 {
            keepsAnswer = true
            // Cookies belong to the client that was answered, not to every caller of the entry.
            keptHeaders = headers.filter { !$0.name.lowercased().hasPrefix("helicone-") && $0.name.lowercased() != "set-cookie" }.map { ($0.name, $0.value) }
            if !exchange.stream { held = context.channel.allocator.buffer(capacity: contentLength.flatMap(Int.init) ?? 1024) }
        }
        headers.add(name: "Helicone-Id", value: id.uuidString.lowercased())
        for (name, value) in controlHeaders { headers.add(name: name, value: value) }
        if tags.controls.fallbacks != nil {
            headers.add(name: "Helicone-Fallback-Index", value: String(entry))
            exchange.fallbackIndex = entry
        }
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
        if case .passingOver = phase, passedOver != nil {
            let room = Attempt.keptResponseBytes - passedOver!.body.count
            if room > 0 { passedOver!.body += buffer.readableBytesView.prefix(room) }
            return
        }
        guard case .sent(let connection) = phase else { return }
        if chunks == 0 { exchange?.timeToFirstByteMs = Self.milliseconds(since: started) }
        chunks += 1
        buffer.withUnsafeReadableBytes { capture?.append($0) }
        if held != nil {
            var buffer = buffer
            held!.writeBuffer(&buffer)
            if held!.readableBytes > environment.maxKeptResponseBytes {
                // Too large to cache: what was held goes out, and the rest as it comes.
                keepsAnswer = false
                context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(held!))), promise: nil)
                held = nil
            }
        } else if filter != nil {
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
        if case .passingOver(let connection, let step) = phase {
            pool.release(connection, origin: targets[entry].origin)
            noteAttempt(status: passedOver?.status, response: passedOver?.body)
            passedOver = nil
            take(step)
            return
        }
        guard case .sent(let connection) = phase, self.exchange != nil else { return }
        noteAttempt(status: self.exchange!.status)
        var exchange = self.exchange!
        exchange.upstreamLatencyMs = Self.milliseconds(since: sentAt)
        if var filter {
            let rest = filter.finish()
            if !rest.isEmpty { context.write(handler.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: rest)))), promise: nil) }
        }
        pool.release(connection, origin: targets[entry].origin)
        if let capture { exchange.setResponse(capture.finish()) }
        self.exchange = exchange
        if keepsAnswer, !exchange.responseTruncated, let key = cacheKey, let cache = tags.controls.cache {
            // The end waits (at most ``RequestIDRegistry/checkTimeout``) until the answer is in the cache, so an identical
            // call made once this one has its answer finds it.
            phase = .keeping
            let now = Date()
            let answer = CachedAnswer(
                key: key, project: project, createdAt: now, expiresAt: now.addingTimeInterval(Double(cache.maxAgeSeconds)),
                status: exchange.status, headers: keptHeaders, body: exchange.responseBody, stream: exchange.stream, requestID: id
            )
            let admission = environment.admission
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.completeWithTask { await admission.keep(answer, bucketMaxSize: cache.bucketMaxSize) }
            promise.futureResult.assumeIsolated().whenComplete { _ in
                guard case .keeping = self.phase else { return }
                self.endAnswer()
            }
            return
        }
        endAnswer()
    }

    /// Writes what is held and the answer's end, and hands the call to the recorder.
    private func endAnswer() {
        guard var exchange else { return }
        phase = .done
        handler.callEnded(self)
        if let held {
            context.write(handler.wrapOutboundOut(.body(.byteBuffer(held))), promise: nil)
            self.held = nil
        }
        writeEnd()
        exchange.latencyMs = Self.milliseconds(since: started)
        environment.finish(exchange)
    }

    func upstreamFailed(_ error: UpstreamError) {
        guard self.exchange != nil else { return }
        let target = targets[entry]
        switch phase {
        case .passingOver(_, let step):
            // The passed-over answer broke off: its start is all the record gets.
            noteAttempt(status: passedOver?.status, response: passedOver?.body)
            passedOver = nil
            take(step)
            return
        case .sent(let connection):
            let reusedConnection = connection.callsServed > 1 && !connection.answerStarted
            if !answerHeadSent, reusedConnection, !reconnected, Self.isClosedBeforeAnswer(error) {
                // The provider closed a pooled connection as the call went out: nothing reached the
                // client and the provider saw at most a cut request, so send it once more on a new one.
                reconnected = true
                send(fresh: true)
                return
            }
        case .waitingForConnection:
            break
        default:
            return
        }
        let failure = UpstreamFailure.classify(error, host: target.origin.origin, phase: answerHeadSent ? .duringAnswer(bytes: capture?.totalBytes ?? 0) : .beforeAnswer)
        if answerHeadSent {
            noteAttempt(status: self.exchange!.status, error: failure.failure.description)
        } else {
            noteAttempt(status: nil, error: failure.failure.description)
            let step = plan(status: nil, retryAfter: nil)
            if step != .answer {
                take(step)
                return
            }
        }
        var exchange = self.exchange!
        exchange.target = target
        phase = .done
        handler.callEnded(self)
        exchange.failure = failure.failure
        exchange.upstreamLatencyMs = Self.milliseconds(since: sentAt)
        if let capture { exchange.setResponse(capture.finish()) }
        exchange.latencyMs = Self.milliseconds(since: started)
        if answerHeadSent {
            // Cut the connection so the client sees an incomplete answer, not a clean end.
            context.close(promise: nil)
        } else {
            exchange.status = failure.status
            writeError(status: HTTPResponseStatus(statusCode: failure.status), type: failure.failure.kind.rawValue, message: failure.failure.detail, id: id, extra: controlHeaders)
        }
        environment.finish(exchange)
    }

    /// The client's connection closed: the call is recorded as cancelled and its upstream
    /// connection closed at once (a half-read answer cannot carry another call).
    func clientLeft() {
        let before: Phase = phase
        phase = .done
        let received = capture?.finish()
        // A client that read a stream's final event and hung up before the provider's own end (the
        // OpenAI SDKs stop at `data: [DONE]`) was answered whole.
        let answeredWhole = answerHeadSent && exchange?.stream == true && received.map { StreamEnd.isFinal($0.tail ?? $0.head) } == true
        switch before {
        case .readingBody, .refused, .done:
            return
        case .admitting:
            return  // the verdict's arrival frees the id
        case .waitingForConnection(let waiter):
            waiter?.cancel()
        case .sent(let connection):
            connection.abandon()
            noteAttempt(status: answerHeadSent ? exchange?.status : nil, error: answeredWhole ? nil : "client went away")
        case .passingOver(let connection, _):
            connection.abandon()
            noteAttempt(status: passedOver?.status, error: "client went away", response: passedOver?.body)
        case .backingOff(let task):
            task.cancel()
        case .keeping:
            break
        }
        guard var exchange else { return }
        let target = targets[entry]
        if !answerHeadSent {
            exchange.status = 499
            exchange.failure = Failure(.clientCancelled, "client went away before \(target.origin.origin) answered")
        } else if !answeredWhole {
            exchange.failure = Failure(.clientCancelled, "client went away after \(chunks) upstream chunks")
        }
        if case .sent = before { exchange.upstreamLatencyMs = Self.milliseconds(since: sentAt) }
        if let received, exchange.responseBytes == 0 { exchange.setResponse(received) }
        exchange.latencyMs = Self.milliseconds(since: started)
        environment.finish(exchange)
    }

    // MARK: The gateway's own answers

    /// A rate limit refused the call: 429 with the limit's headers and `Retry-After`. The call is
    /// not forwarded, and it is recorded, so that the operator sees what was stopped.
    private func rateLimited(_ limit: RateLimiter.Verdict) {
        guard var exchange else { return }
        let wait = limit.headers.first { $0.0 == "Retry-After" }?.1 ?? "?"
        let message = "rate limit \(limit.policy.header) reached (\(limit.policy.unit == .cents ? "cents" : "requests") per \(limit.policy.windowSeconds) s); retry after \(wait) s"
        answerRefusal(.tooManyRequests, type: "rate_limited", message: message, id: id, extra: limit.headers)
        exchange.status = 429
        exchange.failure = Failure(.rateLimited, message)
        exchange.latencyMs = Self.milliseconds(since: started)
        environment.finish(exchange)
    }

    /// Serves a cached answer as it was first sent: its status, headers and bytes (a stream's
    /// events with their framing), with this call's own `Helicone-*` headers. Nothing goes
    /// upstream; the call is recorded as a hit.
    private func replay(_ answer: CachedAnswer) {
        guard var exchange else { return }
        phase = .done
        handler.callEnded(self)
        exchange.cacheHit = true
        exchange.status = answer.status
        exchange.stream = answer.stream
        var body = answer.body
        if answer.stream, exchange.injectedUsage {
            // The kept bytes are the provider's, usage chunk included; this caller did not ask for it.
            var filter = UsageChunkFilter()
            body = filter.feed(body) + filter.finish()
        }
        var headers = HTTPHeaders(answer.headers)
        headers.add(name: "Helicone-Id", value: id.uuidString.lowercased())
        for (name, value) in controlHeaders { headers.add(name: name, value: value) }
        headers.add(name: "Helicone-Cache", value: "HIT")
        headers.add(name: "Helicone-Cache-Bucket-Idx", value: String(answer.bucketIndex))
        if !answer.stream { headers.add(name: "Content-Length", value: String(body.count)) }
        if closeAfterAnswer { headers.add(name: "Connection", value: "close") }
        context.write(handler.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers))), promise: nil)
        exchange.timeToFirstByteMs = Self.milliseconds(since: started)
        context.write(handler.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        writeEnd()
        exchange.setResponse(CapturedBody(head: answer.body))
        exchange.latencyMs = Self.milliseconds(since: started)
        environment.finish(exchange)
    }

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
    private func answerRefusal(_ status: HTTPResponseStatus, type: String, message: String, id: UUID?, extra: [(String, String)] = []) {
        phase = .done
        handler.callEnded(self)
        writeRefusal(status, type: type, message: message, id: id, extra: extra)
    }

    /// The gateway's own refusal, logged at notice with the route and reason only.
    private func writeRefusal(_ status: HTTPResponseStatus, type: String, message: String, id: UUID?, extra: [(String, String)] = []) {
        environment.logger.notice("refused call", metadata: [
            "helicone.id": "\(id?.uuidString.lowercased() ?? "")", "status": "\(status.code)", "type": "\(type)",
            "method": "\(head.method.rawValue)", "path": "\(uri.path)", "reason": "\(message)",
        ])
        writeError(status: status, type: type, message: message, id: id, extra: extra)
    }

    private func writeError(status: HTTPResponseStatus, type: String, message: String, id: UUID?, extra: [(String, String)] = []) {
        let body = GatewayError.body(type: type, message: message)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.count))
        if let id { headers.add(name: "Helicone-Id", value: id.uuidString.lowercased()) }
        for (name, value) in extra { headers.add(name: name, value: value) }
        if closeAfterAnswer { headers.add(name: "Connection", value: "close") }
        context.write(handler.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(handler.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        writeEnd()
    }

    /// The answer's end, and the connection's when the client asked to close after it.
    private func writeEnd() {
        guard closeAfterAnswer else {
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let context = self.context
        context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
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
