import Foundation
import Synchronization
import TollgateCore

/// The enabled webhooks, held in memory so the recorder matches every call and the dispatcher
/// signs every delivery without a query. The management API refreshes it after each change on
/// this instance; the dispatcher every `webhooks.registry_refresh_seconds` for changes made on
/// others.
final class WebhookRegistry: Sendable {
    struct Snapshot {
        var rules: [WebhookRule] = []
        var byID: [UUID: Webhook] = [:]
        /// Each webhook's destination host, for the per-destination limit.
        var hosts: [UUID: String] = [:]
    }

    let snapshot = Mutex(Snapshot())
    let store: any WebhookStore

    init(store: any WebhookStore) {
        self.store = store
    }

    /// Reloads the webhooks from the store.
    func refresh() async throws {
        let enabled = try await store.webhooks(project: nil).filter(\.enabled)
        let fresh = Snapshot(
            rules: enabled.map(\.rule), byID: Dictionary(enabled.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
            hosts: Dictionary(enabled.map { ($0.id, Self.host(of: $0)) }, uniquingKeysWith: { a, _ in a })
        )
        snapshot.withLock { $0 = fresh }
    }

    /// An enabled webhook and its destination host as of the last refresh; nil when it is
    /// disabled, deleted or new elsewhere.
    func enabledWebhook(id: UUID) -> (webhook: Webhook, host: String)? {
        snapshot.withLock { s in s.byID[id].map { ($0, s.hosts[id] ?? Self.host(of: $0)) } }
    }

    static func host(of webhook: Webhook) -> String {
        Origin(webhook.destination)?.host ?? webhook.destination
    }

    /// One new delivery per webhook that matches the record and samples it.
    func deliveries(for record: RequestRecord) -> [NewDelivery] {
        let current = snapshot.withLock { $0.rules }
        guard !current.isEmpty else { return [] }
        return current.compactMap { rule in
            rule.matches(project: record.project, properties: record.properties) && rule.samples(requestID: record.id)
                ? NewDelivery(id: UUID.random(), webhookID: rule.id) : nil
        }
    }
}
