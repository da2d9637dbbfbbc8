import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOHTTP1
import NIOConcurrencyHelpers
import TollgateCore

/// Sends one signed delivery and reports what happened. Redirects are not followed, and the
/// address actually connected to is checked against ``DestinationPolicy`` on every new
/// connection, so a name that resolves to a private address is refused at connect time.
final class WebhookSender: Sendable {
    let client: HTTPClient
    let policy: DestinationPolicy
    let timeout: Duration
    /// Addresses that allow-listed host names resolved to: connections to them are allowed.
    let approvedAddresses: NIOLockedValueBox<Set<String>>
    /// Recent name resolutions, so a busy destination is not resolved on every attempt. The
    /// check on each new connection still sees the address actually connected to.
    let resolved = NIOLockedValueBox<[String: (addresses: [String], at: ContinuousClock.Instant)]>([:])
    static let resolutionTTL: Duration = .seconds(30)

    struct Sent: Sendable {
        var outcome: AttemptOutcome
        var statusCode: Int?
        var responseHead: String?
        var error: String?
        var durationMs: Double
    }

    init(policy: DestinationPolicy, timeout: Duration, maxConnectionsPerHost: Int) {
        self.policy = policy
        self.timeout = timeout
        let approved = NIOLockedValueBox(Set<String>())
        self.approvedAddresses = approved
        let check: @Sendable (any Channel) -> EventLoopFuture<Void> = { channel in
            guard let ip = channel.remoteAddress?.ipAddress else { return channel.eventLoop.makeSucceededVoidFuture() }
            if approved.withLockedValue({ $0.contains(ip) }) { return channel.eventLoop.makeSucceededVoidFuture() }
            if let refusal = policy.checkAddress(ip, host: "") {
                return channel.eventLoop.makeFailedFuture(refusal)
            }
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(Int64(timeout.components.seconds) + 1)),
            decompression: .disabled
        )
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = maxConnectionsPerHost
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.tracing.tracer = nil
        configuration.http1_1ConnectionDebugInitializer = check
        configuration.http2ConnectionDebugInitializer = check
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async throws {
        try await client.shutdown()
    }

    /// POSTs `body` to `destination` with the Helicone and Standard Webhooks signatures.
    func send(destination: String, body: [UInt8], messageID: String, keys: [String], now: Date = Date()) async -> Sent {
        let started = ContinuousClock.now
        func elapsed() -> Double {
            let d = ContinuousClock.now - started
            return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        }
        let origin: Origin
        switch policy.checkURL(destination) {
        case .success(let o): origin = o
        case .failure(let refusal):
            return Sent(outcome: .refusedDestination, error: refusal.message, durationMs: elapsed())
        }
        let addresses = await addresses(of: origin.host)
        guard !addresses.isEmpty else {
            // Never leave the name to the HTTP client: what it resolved would go unchecked until connect time.
            return Sent(outcome: .connectionFailed, error: "cannot deliver to \(origin.origin): \(origin.host) does not resolve", durationMs: elapsed())
        }
        if policy.allowedHostNames.contains(origin.host.lowercased()) {
            approvedAddresses.withLockedValue { $0.formUnion(addresses) }
        } else if let refusal = addresses.lazy.compactMap({ self.policy.checkAddress($0, host: origin.host) }).first {
            return Sent(outcome: .refusedDestination, error: refusal.message, durationMs: elapsed())
        }
        let timestamp = Int64(now.timeIntervalSince1970)
        var request = HTTPClientRequest(url: destination)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "Tollgate-Webhooks/1")
        for (name, value) in WebhookSignature.headers(body: body, keys: keys, messageID: messageID, timestamp: timestamp) {
            request.headers.add(name: name, value: value)
        }
        if keys.count > 1 {
            request.headers.add(name: "helicone-signature-previous", value: WebhookSignature.helicone(body: body, key: keys[1]))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .init(timeout))
            var head = ByteBuffer()
            for try await chunk in response.body {
                var chunk = chunk
                let room = 4096 - head.readableBytes
                if room > 0 { head.writeBuffer(&chunk) }
                if head.readableBytes >= 4096 { break }
            }
            let text = String(decoding: head.readableBytesView.prefix(4096), as: UTF8.self)
            let status = Int(response.status.code)
            let outcome: AttemptOutcome = (200..<300).contains(status)
                ? .delivered(status: status)
                : .rejected(status: status, retryAfterSeconds: response.headers.first(name: "retry-after").flatMap { RetryPolicy.retryAfterSeconds($0, now: Date()) })
            return Sent(outcome: outcome, statusCode: status, responseHead: text, durationMs: elapsed())
        } catch let refusal as DestinationRefusal {
            return Sent(outcome: .refusedDestination, error: refusal.message, durationMs: elapsed())
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return Sent(outcome: .timedOut, error: "no answer within \(timeout.components.seconds) s (webhooks.timeout_seconds)", durationMs: elapsed())
        } catch {
            return Sent(outcome: .connectionFailed, error: "cannot deliver to \(origin.origin): \(error)", durationMs: elapsed())
        }
    }

    /// The host's addresses: the literal itself for an IP, else a resolution at most
    /// ``resolutionTTL`` old.
    func addresses(of host: String) async -> [String] {
        let literal = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if IPAddress(literal) != nil { return [literal] }
        let now = ContinuousClock.now
        if let cached = resolved.withLockedValue({ $0[host] }), now - cached.at < Self.resolutionTTL { return cached.addresses }
        let addresses = await Self.resolve(host)
        resolved.withLockedValue { cache in
            if cache.count > 1024 { cache.removeAll() }
            if !addresses.isEmpty { cache[host] = (addresses, now) }
        }
        return addresses
    }

    /// The host's addresses (the literal itself for an IP), resolved on NIO's blocking-I/O pool.
    static func resolve(_ host: String) async -> [String] {
        let name = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        return (try? await NIOThreadPool.singleton.runIfActive { Self.resolveBlocking(name) }) ?? []
    }

    static func resolveBlocking(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [String] = []
        var cursor = result
        while let info = cursor {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}
