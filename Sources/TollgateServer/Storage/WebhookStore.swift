import Foundation
import TollgateCore

/// Webhooks, their deliveries and the attempt log, in the same database as the records so that
/// a call's record and its pending deliveries are written in one transaction.
public protocol WebhookStore: Sendable {
    func createWebhook(_ webhook: Webhook) async throws
    func updateWebhook(_ webhook: Webhook) async throws
    /// Deletes the webhook with its deliveries and attempts; false when there was none.
    func deleteWebhook(id: UUID) async throws -> Bool
    func webhook(id: UUID) async throws -> Webhook?
    /// Every webhook, or one project's.
    func webhooks(project: String?) async throws -> [Webhook]

    /// Adds deliveries that are not tied to a recorded call (tests).
    func enqueue(_ deliveries: [Delivery]) async throws
    /// Claims up to `limit` due pending deliveries whose lease is free or expired, leasing them until `leaseUntil`.
    func claimDueDeliveries(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedDelivery]
    /// Logs attempts and moves each delivery (and its webhook's failing state) on, releasing the
    /// leases, in one transaction.
    func complete(_ outcomes: [(Delivery, AttemptResult)]) async throws
    /// Gives claimed deliveries back without an attempt (shutdown).
    func releaseLeases(_ ids: [UUID]) async throws
    func delivery(id: UUID) async throws -> Delivery?
    /// A webhook's deliveries, newest first.
    func deliveries(webhookID: UUID, limit: Int, before: Date?) async throws -> [Delivery]
    func attempts(deliveryID: UUID) async throws -> [DeliveryAttempt]
    /// Makes deliveries due now again (re-send); returns how many.
    func resend(deliveryIDs: [UUID]) async throws -> Int
    /// Makes every delivery of the webhook created at or after `since` due now again; returns how many.
    func resend(webhookID: UUID, since: Date) async throws -> Int
    /// Pending deliveries and the creation time of the oldest, for metrics.
    func pendingSummary() async throws -> (count: Int, oldest: Date?)
    /// When the next pending delivery becomes claimable (retry time, or lease end if later), so the
    /// dispatcher knows when to wake.
    func nextDueTime() async throws -> Date?
}

/// A delivery created with a recorded call.
public struct NewDelivery: Sendable {
    public var id: UUID
    public var webhookID: UUID
    /// Set when this instance keeps the delivery in memory to send it at once (``FreshDeliveries``):
    /// written as its lease, so no other instance claims it meanwhile.
    public var leaseUntil: Date?

    public init(id: UUID, webhookID: UUID, leaseUntil: Date? = nil) {
        self.id = id
        self.webhookID = webhookID
        self.leaseUntil = leaseUntil
    }
}
