import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import TollgateCore

/// The hot path: one call from client to provider and back.
///
/// Phases, in order: read tags and auth (``GatewayHeaders``), pick the upstream
/// (``RoutingTable``), rewrite the request (strip `Helicone-*` and hop-by-hop headers, inject
/// `stream_options.include_usage`), stream the response back while noting the first byte, and
/// hand the finished ``Exchange`` to the ``RecordQueue``. Parsing usage, pricing and storing
/// happen after the response, in the recorder.
struct ProxyResponder: Sendable {
    let routing: RoutingTable
    let gatewayKeys: [String: String]
    let client: HTTPClient
    let queue: RecordQueue
    let requestIDs: RequestIDRegistry
    let store: any RecordStore
    let metrics: GatewayMetrics
    let maxBodyBytes: Int
    /// Largest request head sent upstream (request line and headers); larger gets 431.
    let maxHeadBytes: Int
    /// Most of an answer kept for the recorder (``BodyCapture``).
    let maxKeptResponseBytes: Int
    let logger: Logger

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let receivedAt = Date()
        var request = request

        let tags: GatewayTags
        do {
            tags = try GatewayHeaders.parse(request.headers.lazy.map { ($0.name.rawName, $0.value) })
        } catch {
            return refuse(request, status: .badRequest, type: "invalid_header", message: error.message, id: UUID.random())
        }
        let id = tags.requestID ?? UUID.random()

        let project: String
        if gatewayKeys.isEmpty {
            project = "default"
        } else if let key = tags.gatewayKey, let found = gatewayKeys[key] {
            project = found
        } else {
            let message = tags.gatewayKey == nil ? "missing Helicone-Auth: Bearer <gateway key>" : "unknown gateway key in Helicone-Auth"
            return refuse(request, status: .unauthorized, type: "unauthorized", message: message, id: id)
        }

        let target: UpstreamTarget
        switch routing.resolve(path: request.uri.path, query: request.uri.query, targetURL: tags.targetURL) {
        case .success(let t): target = t
        case .failure(let error):
            return refuse(request, status: .init(code: error.status), type: error.type, message: error.message, id: id)
        }

        if tags.requestID != nil {
            switch await requestIDs.claim(id, unlessRecordedIn: store) {
            case .claimed:
                break
            case .used:
                return refuse(request, status: .conflict, type: "duplicate_request_id", message: "Helicone-Request-Id \(id.uuidString.lowercased()) was already used", id: id)
            case .unavailable:
                return refuse(
                    request, status: .serviceUnavailable, type: "store_unavailable",
                    message: "cannot check whether Helicone-Request-Id \(id.uuidString.lowercased()) was already used: the database is not answering; retry, or send the call without it", id: id
                )
            }
        }

        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            if tags.requestID != nil { requestIDs.release(id) }
            return refuse(request, status: .contentTooLarge, type: "body_too_large", message: "request body is larger than server.max_body_bytes (\(maxBodyBytes))", id: id)
        }
        let requestBytes = Array(body.readableBytesView)

        var exchange = Exchange(
            id: id, project: project, receivedAt: receivedAt, method: request.method.rawValue,
            path: request.uri.path, target: target, tags: tags, requestBody: requestBytes
        )

        var upstreamBody = body
        if target.format == .openai, let rewritten = StreamRequestRewriter.injectIncludeUsage(into: requestBytes) {
            upstreamBody = ByteBuffer(bytes: rewritten)
            exchange.injectedUsage = true
        }

        var upstream = HTTPClientRequest(url: target.url)
        upstream.method = HTTPMethod(rawValue: request.method.rawValue)
        let connectionTokens = GatewayHeaders.connectionTokens(request.headers[.connection])
        // The request line and Host, Accept-Encoding and Content-Length that the client adds.
        var headBytes = request.method.rawValue.utf8.count + target.url.utf8.count + 128
        for field in request.headers where GatewayHeaders.forwardsUpstream(field.name.canonicalName, connectionTokens: connectionTokens) {
            upstream.headers.add(name: field.name.rawName, value: field.value)
            headBytes += field.name.rawName.utf8.count + field.value.utf8.count + 4
        }
        guard headBytes <= maxHeadBytes else {
            // Refused before any upstream work: a head this large is more than providers accept,
            // and more than the upstream connection's write buffer holds in one piece.
            if tags.requestID != nil { requestIDs.release(id) }
            return refuse(
                request, status: .requestHeaderFieldsTooLarge, type: "headers_too_large",
                message: "the request line and headers to forward are \(headBytes) bytes, over server.max_header_bytes (\(maxHeadBytes))", id: id
            )
        }
        upstream.headers.add(name: "accept-encoding", value: "identity")
        if upstreamBody.readableBytes > 0 || request.method == .post || request.method == .put || request.method == .patch {
            upstream.body = .bytes(upstreamBody)
        }

        let response: HTTPClientResponse
        let sent = ContinuousClock.now
        do {
            response = try await client.execute(upstream, deadline: .distantFuture, logger: logger)
        } catch {
            let failure = UpstreamFailure.classify(error, host: target.origin.origin, phase: .beforeAnswer)
            exchange.status = failure.status
            exchange.failure = failure.failure
            exchange.upstreamLatencyMs = Self.milliseconds(since: sent)
            exchange.latencyMs = Self.milliseconds(since: started)
            finish(exchange)
            return GatewayError.response(status: .init(code: failure.status), type: failure.failure.kind.rawValue, message: failure.failure.detail, id: id)
        }

        var headers = HTTPFields()
        let responseConnectionTokens = GatewayHeaders.connectionTokens(response.headers.first(name: "connection"))
        for (name, value) in response.headers where GatewayHeaders.forwardsDownstream(name.lowercased(), connectionTokens: responseConnectionTokens) {
            if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
        }
        headers[.heliconeID] = id.uuidString.lowercased()
        let contentType = response.headers.first(name: "content-type") ?? ""
        exchange.stream = contentType.lowercased().hasPrefix("text/event-stream")
        exchange.status = Int(response.status.code)
        let filtersUsage = exchange.injectedUsage && exchange.stream
        let contentLength = filtersUsage ? nil : response.headers.first(name: "content-length").flatMap(Int.init)

        let pending = exchange
        let responseBody = ResponseBody(contentLength: contentLength) { writer in
            var exchange = pending
            var captured = BodyCapture(limit: maxKeptResponseBytes)
            var chunks = 0
            var filter = UsageChunkFilter()
            var iterator = response.body.makeAsyncIterator()
            while true {
                let next: ByteBuffer?
                do {
                    next = try await iterator.next()
                } catch {
                    exchange.failure = UpstreamFailure.classify(error, host: target.origin.origin, phase: .duringAnswer(bytes: captured.totalBytes)).failure
                    break
                }
                guard let buffer = next else {
                    exchange.upstreamLatencyMs = Self.milliseconds(since: sent)
                    break
                }
                if chunks == 0 { exchange.timeToFirstByteMs = Self.milliseconds(since: started) }
                chunks += 1
                buffer.withUnsafeReadableBytes { captured.append($0) }
                do {
                    if filtersUsage {
                        let out = buffer.withUnsafeReadableBytes { filter.feed($0) }
                        if !out.isEmpty { try await writer.write(ByteBuffer(bytes: out)) }
                    } else {
                        try await writer.write(buffer)
                    }
                } catch {
                    exchange.failure = Failure(.clientCancelled, "client went away after \(chunks) upstream chunks")
                    break
                }
            }
            if filtersUsage, exchange.failure == nil {
                let rest = filter.finish()
                if !rest.isEmpty { try? await writer.write(ByteBuffer(bytes: rest)) }
            }
            exchange.setResponse(captured.finish())
            exchange.latencyMs = Self.milliseconds(since: started)
            if exchange.upstreamLatencyMs == nil { exchange.upstreamLatencyMs = exchange.latencyMs - Self.milliseconds(from: started, to: sent) }
            finish(exchange)
            if let failure = exchange.failure, failure.kind != .clientCancelled {
                // Cut the connection so the client sees an incomplete response, not a clean end.
                throw failure
            }
            try await writer.finish(nil)
        }
        return Response(status: .init(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase), headers: headers, body: responseBody)
    }

    /// The gateway's own refusal (nothing forwarded, nothing recorded), logged at notice with
    /// the route and reason only.
    func refuse(_ request: Request, status: HTTPResponse.Status, type: String, message: String, id: UUID) -> Response {
        logger.notice("refused call", metadata: [
            "helicone.id": "\(id.uuidString.lowercased())", "status": "\(status.code)", "type": "\(type)",
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "reason": "\(message)",
        ])
        return GatewayError.response(status: status, type: type, message: message, id: id)
    }

    /// Hands the finished call to the recorder; never waits.
    func finish(_ exchange: Exchange) {
        if !queue.offer(exchange) {
            metrics.recordsDropped(1, reason: "queue_full")
            logger.warning("record queue full, call not recorded", metadata: ["helicone.id": "\(exchange.id)"])
            if exchange.tags.requestID != nil { requestIDs.release(exchange.id) }
        }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        milliseconds(from: start, to: .now)
    }

    static func milliseconds(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Double {
        let d = end - start
        return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}

extension Failure: Error {}

extension HTTPField.Name {
    static let heliconeID = Self("Helicone-Id")!
}
