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
    /// Told after each batch that brought new deliveries, so they go out at once.
    let onDeliveries: @Sendable () -> Void
    /// Where bodies go when not in the database.
    let s3: S3BodyStore?
    let batchSize: Int
    let linger: Duration = .milliseconds(10)
    let logger: Logger

    init(queue: RecordQueue, store: any RecordStore, builder: RecordBuilder, metrics: GatewayMetrics, requestIDs: RequestIDRegistry, webhooks: WebhookRegistry, onDeliveries: @escaping @Sendable () -> Void, s3: S3BodyStore? = nil, batchSize: Int, logger: Logger) {
        self.s3 = s3
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
        await withGracefulShutdownHandler {
            while true {
                let exchanges = await queue.nextBatch(max: batchSize)
                if exchanges.isEmpty { break }
                await write(exchanges)
                // A short pause after a small batch lets the next one gather more calls: fewer,
                // larger transactions under load, at most `linger` later on disk.
                if exchanges.count < batchSize, !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: linger)
                }
            }
            logger.info("recorder drained")
        } onGracefulShutdown: {
            queue.close()
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

    func write(_ exchanges: [Exchange]) async {
        let built = exchanges.map { builder.build($0) }
        var batch = built.map { StoredExchange(record: $0.record, bodies: $0.bodies, deliveries: webhooks.deliveries(for: $0.record)) }
        if let s3 { await upload(&batch, to: s3) }
        var attempt = 0
        while true {
            do {
                try await store.insert(batch)
                break
            } catch {
                attempt += 1
                guard attempt < 5 else {
                    logger.error("dropping \(batch.count) records after \(attempt) failed writes: \(error)")
                    metrics.recordsDropped(batch.count, reason: "store_error")
                    return
                }
                logger.warning("record write failed (attempt \(attempt)), retrying: \(error)")
                try? await Task.sleep(for: .milliseconds(100 << attempt))
            }
        }
        requestIDs.release(exchanges.lazy.filter { $0.tags.requestID != nil }.map(\.id))
        if batch.contains(where: { !$0.deliveries.isEmpty }) { onDeliveries() }
        for item in built {
            metrics.recorded(item.record, unpriced: item.unpriced)
        }
        metrics.queueDepth(queue.depth)
    }
}
