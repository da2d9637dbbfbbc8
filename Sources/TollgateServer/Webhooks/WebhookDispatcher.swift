import Foundation
import Logging
import ServiceLifecycle
import NIOConcurrencyHelpers
import TollgateCore

/// Sends due deliveries: claims them from the store with a lease longer than an attempt can
/// take, sends them with bounded concurrency overall and per destination, logs every attempt
/// and schedules retries. After a crash, expired leases make every pending delivery due again:
/// at-least-once, with the same `webhook-id` on every attempt.
struct WebhookDispatcher: Service {
    struct Settings: Sendable {
        var maxConcurrency = 64
        var maxPerDestination = 8
        var timeout: Duration = .seconds(120)
        var disableAfter: Duration = .seconds(5 * 86_400)
        var leaseMargin: Duration = .seconds(60)
        var registryRefresh: Duration = .seconds(5)
        var idlePoll: Duration = .seconds(1)
    }

    let store: any WebhookStore & RecordStore
    let sender: WebhookSender
    let links: BodyLinks
    let policy: RetryPolicy
    let settings: Settings
    let wakeup: Wakeup
    let registry: WebhookRegistry
    let metrics: WebhookMetrics
    let logger: Logger

    func run() async throws {
        let stopping = NIOLockedValueBox(false)
        await withGracefulShutdownHandler {
            await loop(stopping: stopping)
        } onGracefulShutdown: {
            stopping.withLockedValue { $0 = true }
            wakeup.signal()
        }
        try? await sender.shutdown()
    }

    func loop(stopping: NIOLockedValueBox<Bool>) async {
        let inFlight = NIOLockedValueBox<[UUID: String]>([:])
        // A discarding group: finished attempts are released at once, not kept until awaited.
        await withDiscardingTaskGroup { group in
            var lastSummary = ContinuousClock.now - .seconds(10)
            var lastRefresh = ContinuousClock.now
            while !stopping.withLockedValue({ $0 }) {
                let free = settings.maxConcurrency - inFlight.withLockedValue { $0.count }
                if free > 0 {
                    let now = Date()
                    let lease = now.addingTimeInterval(Self.seconds(settings.timeout + settings.leaseMargin))
                    let claimed = (try? await store.claimDueDeliveries(now: now, leaseUntil: lease, limit: free)) ?? []
                    var deferred: [UUID] = []
                    for item in claimed {
                        guard let webhook = try? await store.webhook(id: item.delivery.webhookID) else {
                            deferred.append(item.delivery.id)
                            continue
                        }
                        let host = Origin(webhook.destination)?.host ?? webhook.destination
                        let admitted = inFlight.withLockedValue { running -> Bool in
                            guard running.values.filter({ $0 == host }).count < settings.maxPerDestination else { return false }
                            running[item.delivery.id] = host
                            return true
                        }
                        guard admitted else {
                            deferred.append(item.delivery.id)
                            continue
                        }
                        group.addTask {
                            await attempt(item.delivery, webhook: webhook)
                            _ = inFlight.withLockedValue { $0.removeValue(forKey: item.delivery.id) }
                            wakeup.signal()
                        }
                    }
                    try? await store.releaseLeases(deferred)
                    if claimed.count == free, deferred.isEmpty { continue }
                }
                if ContinuousClock.now - lastRefresh > settings.registryRefresh {
                    lastRefresh = ContinuousClock.now
                    try? await registry.refresh()
                }
                if ContinuousClock.now - lastSummary > .seconds(5) {
                    lastSummary = ContinuousClock.now
                    await publishSummary()
                }
                await wakeup.wait(timeout: min(await untilNextDue(), settings.registryRefresh))
            }
            group.cancelAll()
        }
        let unfinished = inFlight.withLockedValue { Array($0.keys) }
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

    /// One attempt at one delivery, logged with its outcome and the next step.
    func attempt(_ delivery: Delivery, webhook: Webhook) async {
        let number = delivery.attempts + 1
        let startedAt = Date()
        let sent: WebhookSender.Sent
        if !webhook.enabled {
            sent = .init(outcome: .refusedDestination, error: "webhook is disabled" + (webhook.disabledReason.map { ": \($0)" } ?? ""), durationMs: 0)
        } else if let body = await payload(for: delivery, webhook: webhook) {
            sent = await sender.send(destination: webhook.destination, body: body, messageID: delivery.messageID, keys: webhook.signingKeys(at: startedAt), now: startedAt)
        } else {
            sent = .init(outcome: .refusedDestination, error: "the request's record is gone (retention?)", durationMs: 0)
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
        do {
            try await store.complete(delivery, result: result)
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

    /// The body to send: the recorded call's payload, or a sample for a test delivery.
    func payload(for delivery: Delivery, webhook: Webhook) async -> [UInt8]? {
        guard let requestID = delivery.requestID else {
            return WebhookPayload.test(webhookID: webhook.id, includeData: webhook.includeData, requestResponseURL: nil)
        }
        guard let record = try? await store.record(id: requestID) else { return nil }
        let (bodies, link) = await links.bodiesAndLink(for: requestID)
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
