import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Each client connection: Hummingbird's HTTP/1.1 channel, with what a gateway facing the open
/// internet needs in front of it: a deadline for a request head once it has started
/// (``ConnectionDeadlines``), an idle keep-alive timeout, and HTTP/1.0 clients answered as
/// HTTP/1.0 (``HTTP10Responses``); and the router that serves calls to providers itself, on the
/// connection's event loop, and passes the management API's requests on to Hummingbird
/// (``ProxyHandler``). Pipelined requests are answered one at a time (NIO's
/// `HTTPServerPipelineHandler`), whichever side answers them.
struct GatewayChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let headerTimeout: TimeAmount
    let idleTimeout: TimeAmount
    let proxy: ProxyEnvironment

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let deadlines = ConnectionDeadlines(headerTimeout: headerTimeout, idleTimeout: idleTimeout)
            // Raw bytes first: it sees a head start before the parser has a whole one.
            try pipeline.addHandler(deadlines.bytesWatcher, position: .first)
            // Between NIO's HTTP/1 parts and Hummingbird's HTTP types, which drop the version.
            let codec = try pipeline.handler(type: HTTP1ToHTTPServerCodec.self)
            try pipeline.addHandler(HTTPServerPipelineHandler(), position: .before(codec))
            try pipeline.addHandler(HTTP10Responses(deadlines: deadlines), position: .before(codec))
            try pipeline.addHandler(ProxyHandler(environment: proxy), position: .before(codec))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}
