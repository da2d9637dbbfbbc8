import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import TollgateCore

/// Everything a call on the NIO proxy path needs, built once in `Gateway`.
struct ProxyEnvironment: Sendable {
    let routing: RoutingTable
    let gatewayKeys: [String: String]
    /// The rate limits the operator set per gateway key, which callers cannot lift.
    let rateLimits: [String: [RateLimitPolicy]]
    /// Asks the store what a call needs before it goes: its id, rate limits, the cache.
    let admission: CallAdmission
    let queue: RecordQueue
    let requestIDs: RequestIDRegistry
    let store: any RecordStore
    let metrics: GatewayMetrics
    let maxBodyBytes: Int
    /// Largest request head sent upstream (request line and headers); larger gets 431.
    let maxHeadBytes: Int
    /// Most of an answer kept for the recorder (``BodyCapture``).
    let maxKeptResponseBytes: Int
    /// What the management API claims; every other request is a call to a provider.
    let management: ManagementPaths
    let adminKeys: KeyScreen
    let pools: UpstreamPools
    let logger: Logger

    /// Hands the finished call to the recorder; never waits.
    func finish(_ exchange: Exchange) {
        if !queue.offer(exchange) {
            metrics.recordsDropped(1, reason: "queue_full")
            logger.warning("record queue full, call not recorded", metadata: ["helicone.id": "\(exchange.id)"])
            if exchange.tags.requestID != nil { requestIDs.release(exchange.id) }
        }
    }
}

/// Each client connection's router, at its first request line: a request the management API
/// claims (``ManagementPaths``, on the normalised path) goes on to Hummingbird; every other one
/// is a call to a provider and is served here, on the connection's event loop, by a ``ProxyCall``.
///
/// Requests reach it one at a time (NIO's `HTTPServerPipelineHandler` sits before it), so a
/// pipelined request waits for the answer before it.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Inbound {
        case between
        case management
        case proxy(ProxyCall)
    }

    let environment: ProxyEnvironment
    private var inbound = Inbound.between
    /// The call being answered, from its head until its answer ends.
    var current: ProxyCall?
    private var pool: LoopPool?

    init(environment: ProxyEnvironment) {
        self.environment = environment
    }

    func handlerAdded(context: ChannelHandlerContext) {
        pool = environment.pools.pool(on: context.eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (inbound, part) {
        case (.between, .head(let head)):
            let uri = URI(head.uri)
            if environment.management.route(uri.path) != nil {
                inbound = .management
                context.fireChannelRead(data)
                return
            }
            let call = ProxyCall(environment: environment, pool: pool!, handler: self, context: context, head: head, uri: uri)
            inbound = .proxy(call)
            current = call
            call.begin()
        case (.management, .end):
            inbound = .between
            context.fireChannelRead(data)
        case (.management, _), (.between, _):
            context.fireChannelRead(data)
        case (.proxy(let call), .body(let buffer)):
            call.bodyPart(buffer)
        case (.proxy(let call), .end):
            inbound = .between
            call.requestEnded()
        case (.proxy, .head):
            // Cannot happen: a head only follows an end.
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { current?.clientWritable() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        current?.clientLeft()
        current = nil
        context.fireChannelInactive()
    }

    func callEnded(_ call: ProxyCall) {
        if current === call { current = nil }
    }
}
