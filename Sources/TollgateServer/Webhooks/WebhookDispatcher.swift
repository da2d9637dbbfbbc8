import Foundation
import Logging
import ServiceLifecycle
import NIOConcurrencyHelpers
import TollgateCore

/// Sends deliveries: the ones the recorder just wrote straight from memory (``FreshDeliveries``),
/// and due ones (retries, re-sends, tests, another instance's leftovers) claimed from the store
/// with a lease longer than an attempt can take. Concurrency is bounded overall and per
/// destination; every attempt is logged (in batches, ``CompletionLog``) and retries scheduled.
/// After a crash, expired leases make every pending delivery due again: at-least-once, with the
/// same `webhook-id` on every attempt.
struct WebhookDispatcher: Service {
    struct Settings: Sendable {
        var maxConcurrency = 64
        var maxPerDestination = 8
        var timeout: Duration = .seconds(120)
        var disableAfter: Duration = .seconds(5 * 86_400)
        var leaseMargin: Duration = .seconds(60)
        var registryRefresh: Duration = .seconds(5)
        var idlePoll: Duration = .seconds(1)

        /// How long a claim (or a fresh delivery's lease) lasts: an attempt's timeout plus a margin.
        var lease: Duration { timeout + leaseMargin }
    }

    /// Deliveries being attempted, by id, with their destination host, and those sent whose
    /// outcome is still being logged.
    struct InFlight {
        var hosts: [UUID: String] = [:]
        var perHost: [String: Int] = [:]
        /// Sent, the outcome not yet in the store. While the store is down these wait without
        /// holding their destination's slot, so the fresh deliveries behind them still go out
        /// before their leases run short.
        var logging: Set<UUID> = []

        /// False when the destination is at its limit, or when the delivery is already being
        /// attempted or logged here (claimed again meanwhile: not sent twice).
        mutating func admit(_ id: UUID, host: String, limit: Int) -> Bool {
            guard hosts[id] == nil, !logging.contains(id), perHost[host, default: 0] < limit else { return false }
            hosts[id] = host
            perHost[host, default: 0] += 1
            return true
        }

        /// The attempt's request is over: its destination's slot frees while its outcome is logged.
        mutating func sent(_ id: UUID) {
            guard let host = hosts.removeValue(forKey: id) else { return }
            perHost[host, default: 1] -= 1
            if perHost[host] == 0 { perHost[host] = nil }
            logging.insert(id)
        }

        mutating func finish(_ id: UUID) {
            sent(id)
            logging.remove(id)
        }
    }

    let store: any WebhookStore & RecordStore
    let sender: WebhookSender
    let links: BodyLinks
    let policy: RetryPolicy
    let settings: Settings
    let wakeup: Wakeup
    let registry: WebhookRegistry
    let fresh: FreshDeliveries
    let completions: CompletionLog
    /// True while the recorder is behind (its queue more than half full): deliveries waiting in
    /// the store then wait a little longer, and the CPU they would take (reading records and
    /// bodies back) goes to recording, so overload costs delivery delay before it costs records.
    let recorderBehind: @Sendable () -> Bool
    let metrics: WebhookMetrics
    let logger: Logger

    func run() async throws {
        let stopping = NIOLockedValueBox(false)
        let stop: @Sendable () -> Void = {
            stopping.withLockedValue { $0 = true }
            wakeup.signal(storeChanged: false)
        }
        // Stops on a graceful shutdown and on cancellation (another service failed).
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler(operation: { await loop(stopping: stopping) }, onGracefulShutdown: stop)
        } onCancel: {
            stop()
        }
        try? await sender.shutdown()
    }

    func loop(stopping: NIOLockedValueBox<Bool>) async {
        let inFlight = NIOLockedValueBox(InFlight())
        // A discarding group: finished attempts are released at once, not kept until awaited.
        await withDiscardingTaskGroup { group in
            var lastSummary = ContinuousClock.now - .seconds(10)
            var lastRefresh = ContinuousClock.now
            var checkStore = true
            var nextStoreCheck = ContinuousClock.now
            var outage = StoreOutage("webhook delivery claims", logger: logger)

            func start(_ delivery: Delivery, webhook: Webhook, fresh item: FreshDeliveries.Item?) {
                group.addTask {
                    await attempt(delivery, webhook: webhook, fresh: item) {
                        inFlight.withLockedValue { $0.sent(delivery.id) }
                        wakeup.signal(storeChanged: false)
                    }
                    inFlight.withLockedValue { $0.finish(delivery.id) }
                    wakeup.signal(storeChanged: false)
                }
            }
            // Attempts sending, within max_concurrency; and those waiting to be logged, within
            // four times that, so that an outage of the store bounds what waits in memory.
            func free() -> Int {
                inFlight.withLockedValue { f in
                    min(settings.maxConcurrency - f.hosts.count, 4 * settings.maxConcurrency - f.hosts.count - f.logging.count)
                }
            }

            while !stopping.withLockedValue({ $0 }) {
                // Fresh deliveries first: record and bodies in memory, lease already held.
                let mustLast = Date().addingTimeInterval(Self.seconds(settings.timeout))
                var known: [UUID: (webhook: Webhook, host: String)] = [:]
                var full: Set<UUID> = []  // webhooks whose destination is at its limit in this pass
                let taken = fresh.take(limit: free(), mustLastUntil: mustLast) { item in
                    let id = item.delivery.webhookID
                    if full.contains(id) { return false }
                    guard let entry = known[id] ?? registry.enabledWebhook(id: id) else { return true }  // disabled or deleted since
                    known[id] = entry
                    let admitted = inFlight.withLockedValue { $0.admit(item.delivery.id, host: entry.host, limit: settings.maxPerDestination) }
                    if !admitted { full.insert(id) }
                    return admitted
                }
                for item in taken {
                    if let entry = known[item.delivery.webhookID] {
                        start(item.delivery, webhook: entry.webhook, fresh: item)
                    } else if let webhook = try? await store.webhook(id: item.delivery.webhookID) {
                        // Disabled since the call: the attempt logs the refusal. Deleted: its
                        // deliveries went with it.
                        _ = inFlight.withLockedValue { $0.admit(item.delivery.id, host: WebhookRegistry.host(of: webhook), limit: .max) }
                        start(item.delivery, webhook: webhook, fresh: item)
                    }
                }

                // Then the store, when something there can be due.
                let slots = free()
                if slots > 0, checkStore || ContinuousClock.now >= nextStoreCheck, !recorderBehind() {
                    checkStore = false
                    let now = Date()
                    let lease = now.addingTimeInterval(Self.seconds(settings.lease))
                    var claimed: [ClaimedDelivery] = []
                    do {
                        claimed = try await store.claimDueDeliveries(now: now, leaseUntil: lease, limit: slots)
                        outage.succeeded()
                    } catch {
                        outage.failed(error)
                    }
                    var deferred: [UUID] = []
                    for item in claimed {
                        var entry = registry.enabledWebhook(id: item.delivery.webhookID)
                        if entry == nil, let stored = try? await store.webhook(id: item.delivery.webhookID) {
                            entry = (stored, WebhookRegistry.host(of: stored))
                        }
                        guard let (webhook, host) = entry,
                              inFlight.withLockedValue({ $0.admit(item.delivery.id, host: host, limit: settings.maxPerDestination) }) else {
                            deferred.append(item.delivery.id)
                            continue
                        }
                        start(item.delivery, webhook: webhook, fresh: nil)
                    }
                    try? await store.releaseLeases(deferred)
                    if !deferred.isEmpty {
                        nextStoreCheck = ContinuousClock.now + .milliseconds(20)
                    } else if claimed.count == slots {
                        nextStoreCheck = ContinuousClock.now  // more may be due: claim again when a slot frees
                    } else {
                        nextStoreCheck = ContinuousClock.now + (await untilNextDue())
                    }
                }

                if ContinuousClock.now - lastRefresh > settings.registryRefresh {
                    lastRefresh = ContinuousClock.now
                    try? await registry.refresh()
                }
                if ContinuousClock.now - lastSummary > .seconds(5) {
                    lastSummary = ContinuousClock.now
                    await publishSummary()
                }
                // With no free slot nothing can start before one frees, which signals.
                let timeout = free() > 0 ? max(.milliseconds(1), nextStoreCheck - ContinuousClock.now) : settings.registryRefresh
                if await wakeup.wait(timeout: min(timeout, settings.registryRefresh)) { checkStore = true }
            }
            group.cancelAll()
        }
        let unfinished = inFlight.withLockedValue { Array($0.hosts.keys) } + fresh.drain()
        try? await store.releaseLeases(unfinished)
        logger.info("webhook dispatcher stopped", metadata: ["released": "\(unfinished.count)"])
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// How long to sleep: until the earliest scheduled retry, at most `idlePoll`.
    func untilNextDue() async -> Duration {
        guard let due = try? await store.nextDueTime() else { return settings.idlePoll }
        let seconds = due.timeIntervalSinceNow
        if seconds <= 0.02 { return .milliseconds(20) }
        return min(settings.idlePoll, .milliseconds(Int64(seconds * 1000)))
    }

    /// One attempt at one delivery, logged with its outcome and the next step. `sent` is called
    /// once the destination is done with (before the outcome is logged).
    func attempt(_ delivery: Delivery, webhook: Webhook, fresh: FreshDeliveries.Item?, sent onSent: () -> Void = {}) async {
        let number = delivery.attempts + 1
        let startedAt = Date()
        let sent: WebhookSender.Sent
        if !webhook.enabled {
            sent = .init(outcome: .refusedDestination, error: "webhook is disabled" + (webhook.disabledReason.map { ": \($0)" } ?? ""), durationMs: 0)
        } else {
            let body: [UInt8]?
            do {
                body = try await payload(for: delivery, webhook: webhook, fresh: fresh)
            } catch {
                // Not an attempt: the delivery is sent once the store can be read again. Giving
                // its lease back needs the store too, so it waits for the store here, while its
                // lease still covers an attempt; after that the lease is given back or runs out.
                logger.warning("cannot read a delivery's record, trying again: \(error)", metadata: ["delivery": "\(delivery.id)"])
                guard let read = await payloadOnceReadable(delivery, webhook: webhook, until: .now + settings.leaseMargin) else {
                    try? await store.releaseLeases([delivery.id])
                    return
                }
                body = read
            }
            if let body {
                sent = await sender.send(destination: webhook.destination, body: body, messageID: delivery.messageID, keys: webhook.signingKeys(at: startedAt), now: startedAt)
            } else {
                sent = .init(outcome: .refusedDestination, error: "the request's record is gone (retention?)", durationMs: 0)
            }
        }
        if Task.isCancelled {
            try? await store.releaseLeases([delivery.id])
            return
        }
        var generator = SystemRandomNumberGenerator()
        var decision = policy.decide(attempt: number, outcome: sent.outcome, random: &generator)
        if !webhook.enabled { decision = .failed(reason: sent.error ?? "webhook is disabled") }
        var result = AttemptResult(
            attempt: DeliveryAttempt(deliveryID: delivery.id, number: number, startedAt: startedAt, durationMs: sent.durationMs,
                                     statusCode: sent.statusCode, responseHead: sent.responseHead, error: sent.error),
            status: .pending, nextAttemptAt: nil, webhookSucceeded: false, disableReason: nil
        )
        switch decision {
        case .succeeded:
            result.status = .succeeded
            result.webhookSucceeded = true
        case .retry(let after):
            result.nextAttemptAt = startedAt.addingTimeInterval(Self.seconds(after))
        case .failed:
            result.status = .failed
        case .disableWebhook(let reason):
            result.status = .failed
            result.disableReason = reason
        }
        if !result.webhookSucceeded, result.disableReason == nil, webhook.enabled,
           let since = webhook.failingSince, RetryPolicy.shouldDisable(failingSince: since, now: startedAt, after: settings.disableAfter) {
            result.disableReason = "failing continuously since \(ISO8601.format(since))"
        }
        onSent()
        do {
            try await completions.complete(delivery, result: result)
        } catch {
            logger.error("cannot log webhook attempt: \(error)", metadata: ["delivery": "\(delivery.id)"])
            return
        }
        metrics.attempted(outcome: sent.outcome, durationMs: sent.durationMs, final: result.status)
        if result.disableReason != nil {
            logger.warning("webhook disabled", metadata: ["webhook": "\(webhook.id)", "reason": "\(result.disableReason ?? "")"])
            try? await registry.refresh()
        }
    }

    /// The body to send: the recorded call's payload, or a sample for a test delivery; nil when
    /// the record is gone, an error when the store cannot say.
    /// The delivery's payload, read again every 0.25 s to 4 s until the store answers or
    /// `deadline`; nil (outer) if it did not answer in time or the dispatcher stopped.
    func payloadOnceReadable(_ delivery: Delivery, webhook: Webhook, until deadline: ContinuousClock.Instant) async -> [UInt8]?? {
        var pause = Duration.milliseconds(250)
        while ContinuousClock.now + pause < deadline {
            guard (try? await Task.sleep(for: pause)) != nil else { return nil }
            if let body = try? await payload(for: delivery, webhook: webhook, fresh: nil) { return .some(body) }
            pause = min(pause * 2, .seconds(4))
        }
        return nil
    }

    func payload(for delivery: Delivery, webhook: Webhook, fresh: FreshDeliveries.Item?) async throws -> [UInt8]? {
        guard let requestID = delivery.requestID else {
            return WebhookPayload.test(webhookID: webhook.id, includeData: webhook.includeData, requestResponseURL: nil)
        }
        let record: RequestRecord
        let bodies: StoredBodies?
        let link: String
        if let fresh {
            (record, bodies) = (fresh.record, fresh.bodies)
            link = links.link(for: requestID, bodiesInDatabase: fresh.bodiesInDatabase)
        } else {
            guard let stored = try await store.record(id: requestID) else { return nil }
            record = stored
            (bodies, link) = try await links.bodiesAndLink(for: requestID)
        }
        return WebhookPayload.build(
            record: record, requestBody: bodies?.request, responseBody: bodies?.reconstructedResponse ?? bodies?.response,
            includeData: webhook.includeData, requestResponseURL: webhook.includeData ? link : nil
        )
    }

    func publishSummary() async {
        if let summary = try? await store.pendingSummary() {
            metrics.pending(count: summary.count, oldest: summary.oldest)
        }
        if let all = try? await store.webhooks(project: nil) {
            metrics.disabled(all.filter { !$0.enabled }.count)
        }
    }
}
