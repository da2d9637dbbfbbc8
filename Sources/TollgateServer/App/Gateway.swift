import Crypto
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import TollgateCore

/// Builds the application that `tollgate serve` runs, so tests start exactly what users run.
public enum Gateway {
    /// What a started gateway tells its caller.
    public struct Setup: Sendable {
        public var adminKey: String
        /// Set when the admin key was generated on this start (print it once).
        public var generatedAdminKey: Bool
        public var metrics: GatewayMetrics
        /// Keys generated for webhooks declared without one: (destination, key), shown once.
        public var generatedWebhookKeys: [(String, String)]
    }

    public static func buildApplication(
        config: GatewayConfig, logger: Logger = Logger(label: "tollgate"),
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) async throws -> (some ApplicationProtocol, Setup) {
        if config.auth.gatewayKeys.isEmpty, !config.server.bindsLoopbackOnly {
            throw ConfigError("server.host is \(config.server.host) but auth.gateway_keys is empty: without gateway keys Tollgate only listens on loopback. Add auth.gateway_keys or set server.host to 127.0.0.1")
        }
        try FileManager.default.createDirectory(atPath: config.storage.path, withIntermediateDirectories: true)
        let (adminKey, generated) = try secret(config.admin.key, file: "admin.key", in: config.storage.path, prefix: "tg_admin_")
        let adminKeys = Set([adminKey] + config.admin.projectKeys.map(\.key))
        if let shared = config.auth.gatewayKeys.first(where: { adminKeys.contains($0.key) }) {
            throw ConfigError("auth.gateway_keys: the key for project \(shared.project) is also an admin key; admin keys are never forwarded, so give each its own")
        }
        let (signingKey, _) = try secret(config.bodies.signingKey, file: "signing.key", in: config.storage.path, prefix: "")

        let pricing = try loadPricing(config)
        let store = try openStore(config, logger: logger)
        do {
            try await store.migrate()
        } catch {
            await store.close()
            throw error
        }

        let destinations: DestinationPolicy
        do {
            destinations = try DestinationPolicy(allowedPrivateHosts: config.webhooks.allowedPrivateHosts)
        } catch {
            throw ConfigError("webhooks.allowed_private_hosts: \(error.message)")
        }
        let registry = WebhookRegistry(store: store)
        let declared: [(String, String)]
        do {
            declared = try await declareWebhooks(config.webhooks.endpoints, in: store, destinations: destinations)
        } catch {
            await store.close()
            throw error
        }
        try await registry.refresh()

        var s3: S3BodyStore?
        if case .s3(let bucket) = config.bodies.kind {
            let bodies = S3BodyStore(.init(
                endpoint: bucket.endpoint, bucket: bucket.bucket, region: bucket.region, credentials: bucket.credentials, pathStyle: bucket.pathStyle
            ))
            do {
                try await bodies.checkBucket()
            } catch {
                await bodies.shutdown()
                await store.close()
                throw error
            }
            s3 = bodies
        }

        let metrics = GatewayMetrics()
        let queue = RecordQueue(capacity: config.storage.queueCapacity)
        let requestIDs = RequestIDRegistry()
        let wakeup = Wakeup()
        let timeout = config.webhooks.timeout
        let dispatch = WebhookDispatcher.Settings(
            maxConcurrency: config.webhooks.maxConcurrency, maxPerDestination: config.webhooks.maxPerDestination,
            timeout: timeout, disableAfter: config.webhooks.disableAfter,
            leaseMargin: config.webhooks.leaseMargin, registryRefresh: config.webhooks.registryRefresh
        )
        let fresh = FreshDeliveries(maxCount: max(256, 4 * config.webhooks.maxConcurrency), maxBytes: 16 << 20)
        let live = LiveFeed(maxSubscribers: config.live.maxSubscribers, bufferSize: config.live.bufferEvents)
        let writer = RecordWriter(
            queue: queue, store: store, builder: RecordBuilder(pricing: pricing), metrics: metrics,
            requestIDs: requestIDs, webhooks: registry, onDeliveries: { wakeup.signal(storeChanged: $0) },
            fresh: fresh, freshLease: dispatch.lease, s3: s3, limiter: RateLimiter(store: store), live: live,
            batchSize: config.storage.batchSize, logger: logger
        )
        let retention = RetentionSweeper(
            store: store,
            settings: .init(
                recordsMaxAge: config.retention.recordsMaxAge?.timeInterval,
                deliveryLogsMaxAge: config.retention.deliveryLogsMaxAge?.timeInterval,
                interval: config.retention.interval
            ),
            logger: logger
        )
        let router = ManagementRouter()
        router.get("/healthz") { _, _ in Envelope.json(.object([("status", .string("ok"))])) }
        let auth = AdminAuth(globalKey: adminKey, projectKeys: Dictionary(config.admin.projectKeys.map { ($0.key, $0.project) }, uniquingKeysWith: { a, _ in a }))
        router.get("/metrics") { request, _ in
            // Counts by model, provider, status and webhook destination: with metrics.require_admin_key
            // only the global admin key reads them.
            if config.metrics.requireAdminKey, auth.scope(of: request) != .all {
                return Envelope.failure(.unauthorized, "metrics.require_admin_key is on: Authorization: Bearer <admin key> required")
            }
            metrics.queueDepth(queue.depth)
            metrics.liveSubscribers(live.subscribers)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
        let signer = BodyURLSigner(key: Array(signingKey.utf8))
        let links = BodyLinks(signer: signer, ttlSeconds: Int(config.bodies.urlTTL.components.seconds), publicURL: config.server.publicURL, store: store, s3: s3)
        ReadAPI(store: store, auth: auth, signer: signer, links: links).register(on: router)
        StatsAPI(store: store, auth: auth).register(on: router)
        let liveAPI = LiveAPI(feed: live, auth: auth, metrics: metrics)
        liveAPI.register(on: router)
        let cacheFront = CacheFront(maxBytes: config.cache.memoryBytes)
        CacheAPI(store: store, front: cacheFront, auth: auth).register(on: router)
        PricingAPI(pricing: pricing, store: store, auth: auth, defaultProvider: config.routing.defaultProvider).register(on: router)
        WebhookAPI(
            store: store, auth: auth, registry: registry, destinations: destinations, wakeup: wakeup,
            rotationGrace: config.webhooks.keyRotationGrace.timeInterval
        ).register(on: router)
        let dispatcher = WebhookDispatcher(
            store: store,
            sender: WebhookSender(policy: destinations, timeout: timeout, maxConnectionsPerHost: config.webhooks.maxPerDestination),
            links: links,
            policy: config.webhooks.retrySchedule.isEmpty ? RetryPolicy() : RetryPolicy(delays: config.webhooks.retrySchedule),
            settings: dispatch, wakeup: wakeup, registry: registry, fresh: fresh, completions: CompletionLog(store: store, logger: logger),
            recorderBehind: { queue.depth * 2 > queue.capacity }, metrics: WebhookMetrics(registry: metrics.registry), logger: logger
        )
        // The API alone, which the dashboard's pages call in-process; then the dashboard's own routes.
        let api = router.router.buildResponder()
        Dashboard(
            sessions: DashboardSessions(signingKey: signingKey, auth: auth, secure: config.server.publicURL?.lowercased().hasPrefix("https://") == true),
            links: links, live: liveAPI, api: { try await api.respond(to: $0, context: $1) }
        ).register(on: router)
        let pools = UpstreamPools(settings: try upstreamSettings(config))
        let proxyEnvironment = ProxyEnvironment(
            routing: RoutingTable(providers: config.routing.providers, defaultProvider: config.routing.defaultProvider, allowedTargetOrigins: config.routing.allowedTargetURLs),
            gatewayKeys: Dictionary(config.auth.gatewayKeys.map { ($0.key, $0.project) }, uniquingKeysWith: { a, _ in a }),
            rateLimits: config.auth.rateLimits, admission: CallAdmission(requestIDs: requestIDs, records: store, controls: store, front: cacheFront, logger: logger), queue: queue, requestIDs: requestIDs, store: store, metrics: metrics,
            maxBodyBytes: config.server.maxBodyBytes, maxHeadBytes: config.server.maxHeaderBytes, maxKeptResponseBytes: config.bodies.maxKeptBytes,
            management: router.paths, adminKeys: KeyScreen(keys: auth.keys), pools: pools, logger: logger
        )
        let responder = ManagementResponder(management: router.router.buildResponder(), paths: router.paths)

        let headerTimeout = TimeAmount(config.server.headerTimeout)
        let idleTimeout = TimeAmount(config.server.idleTimeout)
        let app = Application(
            responder: responder,
            server: HTTPServerBuilder { respond in
                GatewayChannel(http1: HTTP1Channel(responder: respond), headerTimeout: headerTimeout, idleTimeout: idleTimeout, proxy: proxyEnvironment)
            },
            configuration: .init(address: .hostname(config.server.host, port: config.server.port), serverName: nil),
            services: [
                store, S3Service(s3: s3), UpstreamPoolService(pools: pools), retention,
                ControlsSweeper(store: store, maxCacheBytes: config.cache.maxBytes, interval: config.cache.sweepInterval, logger: logger),
                dispatcher, writer, live,
            ],
            onServerRunning: { channel in
                links.serverBound(host: config.server.host, port: channel.localAddress?.port ?? config.server.port)
                await onServerRunning(channel)
            },
            logger: logger
        )
        return (app, Setup(adminKey: adminKey, generatedAdminKey: generated, metrics: metrics, generatedWebhookKeys: declared))
    }

    /// Creates or updates the webhooks declared in the config file; returns the keys it generated
    /// (destination and key), to print once.
    static func declareWebhooks(_ declared: [WebhooksConfig.DeclaredWebhook], in store: any WebhookStore, destinations: DestinationPolicy) async throws -> [(String, String)] {
        guard !declared.isEmpty else { return [] }
        var generated: [(String, String)] = []
        let existing = try await store.webhooks(project: nil)
        for entry in declared {
            if case .failure(let refusal) = destinations.checkURL(entry.destination) {
                throw ConfigError("webhooks.endpoints: \(refusal.message)")
            }
            let now = Date()
            if var webhook = existing.first(where: { $0.project == entry.project && $0.destination == entry.destination }) {
                webhook.sampleRate = entry.sampleRate
                webhook.includeData = entry.includeData
                webhook.propertyFilters = entry.propertyFilters
                if let key = entry.key { webhook.hmacKey = key }
                webhook.updatedAt = now
                try await store.updateWebhook(webhook)
            } else {
                let key = entry.key ?? WebhookSignature.generateKey()
                if entry.key == nil { generated.append((entry.destination, key)) }
                try await store.createWebhook(Webhook(
                    id: UUID(), project: entry.project, destination: entry.destination, sampleRate: entry.sampleRate,
                    includeData: entry.includeData, propertyFilters: entry.propertyFilters, hmacKey: key, previousKey: nil,
                    previousKeyExpiresAt: nil, enabled: true, disabledReason: nil, failingSince: nil, createdAt: now, updatedAt: now
                ))
            }
        }
        return generated
    }

    static func openStore(_ config: GatewayConfig, logger: Logger) throws -> SQLStore {
        switch config.storage.kind {
        case .postgres(let postgres):
            return try SQLStore.postgres(url: postgres.url, schema: postgres.schema, timeout: postgres.timeout, logger: logger)
        case .sqlite:
            return try SQLStore.sqlite(path: config.storage.path + "/tollgate.sqlite")
        }
    }

    static func upstreamSettings(_ config: GatewayConfig) throws -> UpstreamSettings {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.applicationProtocols = ["http/1.1"]
        if let caFile = config.upstream.caFile {
            tls.trustRoots = .file(caFile)
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw ConfigError("upstream.ca_file: cannot load \(config.upstream.caFile ?? "the system's trust roots"): \(error)")
        }
        let loops = max(1, System.coreCount)
        return UpstreamSettings(
            connectTimeout: TimeAmount(config.upstream.connectTimeout),
            stallTimeout: TimeAmount(config.upstream.stallTimeout),
            maxConnectionsPerOrigin: max(1, (config.upstream.maxConnectionsPerHost + loops - 1) / loops),
            maxWaiting: max(64, config.upstream.maxConnectionsPerHost * 8),
            idleTimeout: TimeAmount(config.upstream.idleTimeout),
            tls: context
        )
    }

    /// A configured secret, or the one stored under `storage.path`, or a new one written there.
    static func secret(_ configured: String?, file: String, in directory: String, prefix: String) throws -> (String, generated: Bool) {
        if let configured { return (configured, false) }
        let path = directory + "/" + file
        if let existing = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty {
            return (existing, false)
        }
        let key = prefix + Hex.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
        guard FileManager.default.createFile(atPath: path, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigError("cannot write \(path); check storage.path")
        }
        return (key, true)
    }
}

/// The management API's side of the port: ``ProxyHandler`` passes Hummingbird only the requests
/// ``ManagementPaths`` claims (decided on the normalised path), and this sends each to its route
/// by that normalised path. Calls to providers never reach it.
struct ManagementResponder<Management: HTTPResponder>: HTTPResponder where Management.Context == BasicRequestContext {
    let management: Management
    let paths: ManagementPaths

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let path = request.uri.path
        guard let routed = paths.route(path) else {
            return GatewayError.response(status: .notFound, type: "not_found", message: "no route for \(path)", id: nil)
        }
        guard routed != path else { return try await management.respond(to: request, context: context) }
        var head = request.head
        head.path = routed + (request.uri.query.map { "?" + $0 } ?? "")
        return try await management.respond(to: Request(head: head, body: request.body), context: context)
    }
}

/// Closes the S3 client after the recorder and the body links have stopped.
struct S3Service: Service {
    let s3: S3BodyStore?

    func run() async throws {
        try? await gracefulShutdown()
        await s3?.shutdown()
    }
}

/// Closes the pooled upstream connections once the server has stopped.
struct UpstreamPoolService: Service {
    let pools: UpstreamPools

    func run() async throws {
        try? await gracefulShutdown()
        await pools.shutdown()
    }
}
