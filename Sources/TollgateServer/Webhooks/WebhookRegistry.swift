import Foundation
import Synchronization
import TollgateCore

/// The enabled webhooks' matching rules, held in memory so the recorder matches every call
/// without a query. The management API refreshes it after each change.
final class WebhookRegistry: Sendable {
    let rules = Mutex<[WebhookRule]>([])
    let store: any WebhookStore

    init(store: any WebhookStore) {
        self.store = store
    }

    /// Reloads the rules from the store.
    func refresh() async throws {
        let webhooks = try await store.webhooks(project: nil)
        let enabled = webhooks.filter(\.enabled).map(\.rule)
        rules.withLock { $0 = enabled }
    }

    /// One new delivery per webhook that matches the record and samples it.
    func deliveries(for record: RequestRecord) -> [NewDelivery] {
        let current = rules.withLock { $0 }
        guard !current.isEmpty else { return [] }
        return current.compactMap { rule in
            rule.matches(project: record.project, properties: record.properties) && rule.samples(requestID: record.id)
                ? NewDelivery(id: UUID.random(), webhookID: rule.id) : nil
        }
    }
}
