import Foundation
import Logging
import ServiceLifecycle
import TollgateCore

/// Drains the ``RecordQueue`` in batches: builds each record (usage, cost, reconstruction) and
/// writes the batch in one transaction. On graceful shutdown it finishes what was queued.
struct RecordWriter: Service {
    let queue: RecordQueue
    let store: any RecordStore
    let builder: RecordBuilder
    let metrics: GatewayMetrics
    let requestIDs: RequestIDRegistry
    let webhooks: WebhookRegistry
    /// Told after each batch that brought new deliveries, so they go out at once; the flag says
    /// whether some of them are only in the store (they did not fit in `fresh`).
    let onDeliveries: @Sendable (_ inStoreOnly: Bool) -> Void
    /// Where new deliveries go to be sent from memory, leased to this instance for `freshLease`.
    let fresh: FreshDeliveries?
    let freshLease: Duration
    /// Where bodies go when not in the database.
    let s3: S3BodyStore?
    /// Charges each call's cost to its cents rate limits (SPEC §7).
    let limiter: RateLimiter?
    /// Told each batch once it is stored, for the live view.
    let live: LiveFeed?
    let batchSize: Int
    let linger: Duration = .milliseconds(10)
    let logger: Logger

    init(
        queue: RecordQueue, store: any RecordStore, builder: RecordBuilder, metrics: GatewayMetrics, requestIDs: RequestIDRegistry,
        webhooks: WebhookRegistry, onDeliveries: @escaping @Sendable (_ inStoreOnly: Bool) -> Void, fresh: FreshDeliveries? = nil,
        freshLease: Duration = .seconds(180), s3: S3BodyStore? = nil, limiter: RateLimiter? = nil, live: LiveFeed? = nil, batchSize: Int, logger: Logger
    ) {
        self.s3 = s3
        self.limiter = limiter
        self.live = live
        self.fresh = fresh
        self.freshLease = freshLease
        self.queue = queue
        self.store = store
        self.builder = builder
        self.metrics = metrics
        self.requestIDs = requestIDs
        self.webhooks = webhooks
        self.onDeliveries = onDeliveries
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        // Closing the queue ends the loop once what it holds is written: on a graceful shutdown,
        // and on cancellation too (the service group cancels when another service fails, such as
        // a server that cannot bind its port), so the process can exit.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                // Batches a stopped gateway left pending are merged now (any age: a pending row
                // counts once, whoever merges it), and after that those a minute old, once a minute.
                await mergePendingAnalytics(writtenBefore: Date())
                var lastPendingCheck = ContinuousClock.now
                // Whether calls arrived while the last batch was written and the recorder paused:
                // it is busy, and a batch's analytics may wait for a later one's (at most a second,
                // SQLStore.insert(_:moreWaiting:)). Out of calls, what waits is merged at once.
                var busy = false
                while true {
                    let exchanges = await queue.nextBatch(max: batchSize)
                    if exchanges.isEmpty { break }
                    await write(exchanges, moreWaiting: busy || queue.depth > 0)
                    if ContinuousClock.now - lastPendingCheck > Self.pendingCheckInterval {
                        lastPendingCheck = .now
                        await mergePendingAnalytics(writtenBefore: Date().addingTimeInterval(-WebhookDispatcher.seconds(Self.pendingCheckInterval)))
                    }
                    // A short pause after a small batch lets the next one gather more calls: fewer,
                    // larger transactions under load, at most `linger` later on disk.
                    if exchanges.count < batchSize, !Task.isShuttingDownGracefully {
                        try? await Task.sleep(for: linger)
                    }
                    busy = queue.depth > 0
                    if !busy { await mergeAnalytics() }
                }
                await mergeAnalytics()
                logger.info("recorder drained")
            } onGracefulShutdown: {
                queue.close()
            }
        } onCancel: {
            queue.close()
        }
    }

    static let pendingCheckInterval = Duration.seconds(60)

    func mergeAnalytics() async {
        do {
            try await store.mergeAnalytics()
        } catch {
            logger.warning("could not merge analytics; they wait for the next batch: \(error)")
        }
    }

    func mergePendingAnalytics(writtenBefore cutoff: Date) async {
        do {
            let merged = try await store.mergePendingAnalytics(writtenBefore: cutoff)
            if merged > 0 { logger.info("merged the analytics of \(merged) batches a stopped gateway left pending") }
        } catch {
            logger.warning("could not merge pending analytics: \(error)")
        }
    }

    /// Puts each call's body document in S3, 16 at a time; a body that cannot be uploaded stays
    /// in the database (nothing is lost) and is counted.
    func upload(_ batch: inout [StoredExchange], to s3: S3BodyStore) async {
        let uploaded = await withTaskGroup(of: (Int, Bool).self) { group in
            var done: [Int: Bool] = [:]
            for (index, item) in batch.enumerated() {
                if index >= 16, let (finished, ok) = await group.next() { done[finished] = ok }
                let document = BodyDocument.json(item.bodies).serialized()
                let id = item.record.id
                group.addTask {
                    for attempt in 0..<3 {
                        if (try? await s3.put(document, for: id)) != nil { return (index, true) }
                        try? await Task.sleep(for: .milliseconds(100 << attempt))
                    }
                    return (index, false)
                }
            }
            for await (finished, ok) in group { done[finished] = ok }
            return done
        }
        for (index, ok) in uploaded {
            if ok {
                batch[index].bodiesInDatabase = false
            } else {
                metrics.bodyUploadFailed()
                logger.warning("body upload to S3 failed; kept in the database", metadata: ["helicone.id": "\(batch[index].record.id)"])
            }
        }
    }

    /// Leases to this instance the new deliveries that fit in `fresh` and returns them, to be
    /// handed over once the batch is written.
    func handOver(_ batch: inout [StoredExchange]) -> [FreshDeliveries.Item] {
        guard let fresh else { return [] }
        let now = Date()
        let leaseUntil = now.addingTimeInterval(WebhookDispatcher.seconds(freshLease))
        var items: [FreshDeliveries.Item] = []
        var bytes = 0
        for index in batch.indices where !batch[index].deliveries.isEmpty {
            let item = batch[index]
            let size = FreshDeliveries.size(of: item.bodies)
            guard fresh.hasRoom(count: items.count + item.deliveries.count, bytes: bytes + size * item.deliveries.count) else { break }
            for d in batch[index].deliveries.indices {
                batch[index].deliveries[d].leaseUntil = leaseUntil
                let delivery = Delivery(
                    id: item.deliveries[d].id, webhookID: item.deliveries[d].webhookID, requestID: item.record.id, status: .pending,
                    attempts: 0, nextAttemptAt: now, createdAt: now, lastError: nil, lastStatusCode: nil
                )
                items.append(.init(delivery: delivery, leaseUntil: leaseUntil, record: item.record, bodies: item.bodies,
                                   bodiesInDatabase: item.bodiesInDatabase, bytes: size))
                bytes += size
            }
        }
        return items
    }

    /// One line per call that failed or got a 4xx/5xx answer, so an operator sees it in the log:
    /// warning for 5xx and failures, notice for 4xx. Ids and routing only; never bodies or
    /// credentials.
    func logFailures(_ records: some Sequence<RequestRecord>) {
        for record in records where record.status >= 400 || record.error != nil {
            var metadata: Logger.Metadata = [
                "helicone.id": "\(record.id.uuidString.lowercased())", "status": "\(record.status)",
                "provider": "\(record.provider)", "path": "\(record.path)", "project": "\(record.project)",
            ]
            if let model = record.model { metadata["model"] = "\(model)" }
            if let error = record.error { metadata["error"] = "\(error)" }
            let serverSide = record.status >= 500 || record.error != nil
            logger.log(level: serverSide ? .warning : .notice, serverSide ? "call failed" : "provider refused call", metadata: metadata)
        }
    }

    func write(_ exchanges: [Exchange], moreWaiting: Bool = false) async {
        let built = exchanges.map { builder.build($0) }
        logFailures(built.lazy.map(\.record))
        var batch = built.map { StoredExchange(record: $0.record, bodies: $0.bodies, deliveries: webhooks.deliveries(for: $0.record)) }
        if let s3 {
            // S3 slower than the traffic must not cost records: with the queue half full, a
            // batch keeps its bodies in the database (served the same way) and is counted.
            if queue.depth * 2 < queue.capacity {
                await upload(&batch, to: s3)
            } else {
                metrics.bodyUploadsSkipped(batch.count)
            }
        }
        if let limiter { await charge(built.map(\.record), of: exchanges, to: limiter) }
        let handed = handOver(&batch)
        // Written or given up, the calls' client-chosen ids are free again: re-use of a recorded
        // id is then found in the store, and a dropped call's id may be used again.
        defer { requestIDs.release(exchanges.lazy.filter { $0.tags.requestID != nil }.map(\.id)) }
        guard await persist(batch, moreWaiting: moreWaiting) else { return }
        fresh?.add(handed)
        live?.publish(built.lazy.map(\.record))
        let total = batch.reduce(0) { $0 + $1.deliveries.count }
        if total > 0 { onDeliveries(total > handed.count) }
        metrics.recorded(built.map { ($0.record, $0.unpriced) })
        metrics.queueDepth(queue.depth)
    }

    /// Charges the calls that have cents rate limits their cost, before their records are written:
    /// once a call's record can be read, its cost counts against the limit. Under the same
    /// subjects as at admission (the record's user: the header's, else the body's).
    /// A store that does not answer within ``RequestIDRegistry/checkTimeout`` loses the charge, logged.
    func charge(_ records: [RequestRecord], of exchanges: [Exchange], to limiter: RateLimiter) async {
        for (record, exchange) in zip(records, exchanges) {
            guard let cost = record.costUSD, cost > 0, exchange.rateLimits.contains(where: { $0.unit == .cents }) else { continue }
            do {
                try await withStoreTimeout(RequestIDRegistry.checkTimeout) {
                    try await limiter.charge(
                        project: exchange.project, policies: exchange.rateLimits, user: record.userID,
                        properties: exchange.tags.properties, costUSD: cost, at: exchange.receivedAt
                    )
                }
            } catch {
                logger.warning("cost not charged to rate limits: \(error)", metadata: ["helicone.id": "\(record.id.uuidString.lowercased())"])
            }
        }
    }

    /// Writes a batch in one transaction. While the store cannot be reached it retries, with
    /// backoff up to 2 s, for as long as the queue has room for the calls still arriving, so an
    /// outage of tens of seconds loses nothing. It gives the batch up, counted in
    /// `tollgate_records_dropped_total{reason="store_error"}` and logged, when the queue is full,
    /// when the gateway is shutting down or the recorder cancelled, or after five refusals of the
    /// batch itself.
    func persist(_ batch: [StoredExchange], moreWaiting: Bool) async -> Bool {
        var outage = StoreOutage("record writes", logger: logger)
        var refusals = 0
        while true {
            do {
                try await store.insert(batch, moreWaiting: moreWaiting)
                outage.succeeded()
                return true
            } catch {
                let unavailable = error is StoreUnavailable
                if !unavailable { refusals += 1 }
                let reason: String? = if refusals >= 5 {
                    "refused \(refusals) times"
                } else if Task.isCancelled {
                    "the recorder was cancelled"
                } else if unavailable, Task.isShuttingDownGracefully {
                    "the gateway is shutting down"
                } else if queue.depth >= queue.capacity {
                    "the record queue is full"
                } else {
                    nil
                }
                if let reason {
                    logger.error("dropping \(batch.count) records: \(error); \(reason)")
                    metrics.recordsDropped(batch.count, reason: "store_error")
                    return false
                }
                outage.failed(error)
                await outage.pause()
            }
        }
    }
}
