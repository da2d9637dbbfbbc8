import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import TollgateCore

/// How upstream connections are opened and kept, built from the config in `Gateway`.
struct UpstreamSettings: Sendable {
    var connectTimeout: TimeAmount
    var stallTimeout: TimeAmount
    /// Most connections to one origin from one event loop (in use, idle or being opened).
    var maxConnectionsPerOrigin: Int
    /// Most calls that wait for a connection to one origin on one event loop; more get 503.
    var maxWaiting: Int
    /// An unused pooled connection is closed after this long.
    var idleTimeout: TimeAmount
    /// Verifies the provider's certificate (system roots, or `upstream.ca_file`).
    var tls: NIOSSLContext
}

/// The upstream connection pools, one per event loop, so that a call and its upstream connection
/// always share the client connection's loop.
final class UpstreamPools: Sendable {
    let settings: UpstreamSettings
    private let pools = Mutex<[ObjectIdentifier: NIOLoopBound<LoopPool>]>([:])

    init(settings: UpstreamSettings) {
        self.settings = settings
    }

    /// The pool of `eventLoop`; call it on that loop.
    func pool(on eventLoop: any EventLoop) -> LoopPool {
        let key = ObjectIdentifier(eventLoop)
        let bound: NIOLoopBound<LoopPool> = pools.withLock { pools in
            if let found = pools[key] { return found }
            let made = NIOLoopBound(LoopPool(eventLoop: eventLoop, settings: settings), eventLoop: eventLoop)
            pools[key] = made
            return made
        }
        return bound.value
    }

    /// Closes every idle connection and stops pooling; calls in flight finish on their own.
    func shutdown() async {
        let all = pools.withLock { Array($0.values) }
        for bound in all {
            try? await bound.eventLoop.submit { bound.value.closeAll() }.get()
        }
    }
}

/// The connections of one event loop, per origin. Used on that loop only.
final class LoopPool {
    /// A call waiting for a connection; cancelled when its client leaves.
    final class Waiter {
        fileprivate var callback: ((Result<UpstreamConnection, UpstreamError>) -> Void)?

        fileprivate init(_ callback: @escaping (Result<UpstreamConnection, UpstreamError>) -> Void) {
            self.callback = callback
        }

        func cancel() { callback = nil }
    }

    final class OriginConnections {
        var idle: [UpstreamConnection] = []
        /// Connections open or being opened, idle or not.
        var open = 0
        var waiters = CircularBuffer<Waiter>()
    }

    let eventLoop: any EventLoop
    let settings: UpstreamSettings
    private var origins: [String: OriginConnections] = [:]
    private var closed = false

    init(eventLoop: any EventLoop, settings: UpstreamSettings) {
        self.eventLoop = eventLoop
        self.settings = settings
    }

    /// Hands `callback` a connection to `origin`: an idle one (unless `fresh`), a new one while
    /// under the limit, or the next one freed. Returns a waiter when the call has to wait.
    @discardableResult
    func acquire(_ origin: Origin, fresh: Bool = false, _ callback: @escaping (Result<UpstreamConnection, UpstreamError>) -> Void) -> Waiter? {
        let key = origin.origin
        let connections = origins[key] ?? {
            let made = OriginConnections()
            origins[key] = made
            return made
        }()
        if !fresh {
            while let connection = connections.idle.popLast() {
                if connection.isReusable {
                    callback(.success(connection))
                    return nil
                }
                connection.close()
            }
        }
        if connections.open < settings.maxConnectionsPerOrigin, !closed {
            connect(origin, into: connections, callback)
            return nil
        }
        guard connections.waiters.count < settings.maxWaiting else {
            callback(.failure(.busy))
            return nil
        }
        let waiter = Waiter(callback)
        connections.waiters.append(waiter)
        return waiter
    }

    /// Takes a connection back after a call: kept for the next call if it can carry one, closed otherwise.
    func release(_ connection: UpstreamConnection, origin: Origin) {
        guard let connections = origins[origin.origin] else {
            connection.close()
            return
        }
        guard connection.isReusable, !closed else {
            connection.close()
            return
        }
        while let waiter = connections.waiters.popFirst() {
            if let callback = waiter.callback {
                waiter.callback = nil
                callback(.success(connection))
                return
            }
        }
        connections.idle.append(connection)
        connection.idle(for: settings.idleTimeout)
    }

    func closeAll() {
        closed = true
        for connections in origins.values {
            for connection in connections.idle { connection.close() }
            connections.idle.removeAll()
        }
    }

    private func connect(_ origin: Origin, into connections: OriginConnections, _ callback: @escaping (Result<UpstreamConnection, UpstreamError>) -> Void) {
        connections.open += 1
        let secure = origin.scheme == "https"
        let stallTimeout = settings.stallTimeout
        let tls = settings.tls
        let host = origin.host.hasPrefix("[") ? String(origin.host.dropFirst().dropLast()) : origin.host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if secure {
                        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : host))
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(UpstreamConnection(stallTimeout: stallTimeout, eventLoop: channel.eventLoop, waitsForHandshake: secure))
                }
            }
        let deadline = NIODeadline.now() + settings.connectTimeout
        bootstrap.connect(host: host, port: origin.port).assumeIsolated().whenComplete { result in
            switch result {
            case .failure(let error):
                self.closedOne(origin)
                if case ChannelError.connectTimeout = error {
                    callback(.failure(.connectTimeout))
                } else {
                    callback(.failure(.connect(error)))
                }
            case .success(let channel):
                guard let connection = try? channel.pipeline.syncOperations.handler(type: UpstreamConnection.self) else {
                    channel.close(promise: nil)
                    self.closedOne(origin)
                    callback(.failure(.closed))
                    return
                }
                if connection.isClosed {
                    self.closedOne(origin)
                } else {
                    connection.onClose = { [weak self, unowned connection] in self?.closedOne(origin, connection) }
                }
                // TLS: the handshake counts toward the connect timeout.
                let timer = channel.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
                    connection.close()
                }
                connection.ready.futureResult.assumeIsolated().whenComplete { ready in
                    timer.cancel()
                    switch ready {
                    case .success: callback(.success(connection))
                    case .failure(let error):
                        connection.close()
                        if NIODeadline.now() >= deadline {
                            callback(.failure(.connectTimeout))
                        } else {
                            callback(.failure(.connect(error)))
                        }
                    }
                }
            }
        }
    }

    /// A connection closed (or never opened): it leaves the pool and frees its place for a waiter.
    private func closedOne(_ origin: Origin, _ connection: UpstreamConnection? = nil) {
        guard let connections = origins[origin.origin] else { return }
        connections.open -= 1
        if let connection, let index = connections.idle.firstIndex(where: { $0 === connection }) {
            connections.idle.remove(at: index)
        }
        guard !closed else { return }
        while let waiter = connections.waiters.popFirst() {
            if let callback = waiter.callback {
                waiter.callback = nil
                connect(origin, into: connections, callback)
                return
            }
        }
    }
}
