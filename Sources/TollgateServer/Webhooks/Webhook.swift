import Foundation
import TollgateCore

/// A webhook as stored: where deliveries go, which calls match, and how they are signed.
public struct Webhook: Sendable, Equatable {
    public var id: UUID
    public var project: String
    public var destination: String
    /// Percent of matching calls delivered, 0...100.
    public var sampleRate: Double
    public var includeData: Bool
    public var propertyFilters: [Property]
    /// The key users put in `WEBHOOK_SECRET`; signs `Helicone-Signature` and `webhook-signature`.
    public var hmacKey: String
    /// The key before the last rotation, still signing `webhook-signature` until `previousKeyExpiresAt`.
    public var previousKey: String?
    public var previousKeyExpiresAt: Date?
    public var enabled: Bool
    /// Why the gateway disabled it (410 from the receiver, or failing for too long); nil when a user did.
    public var disabledReason: String?
    /// Start of the current run of failed attempts; nil after a success.
    public var failingSince: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public var rule: WebhookRule {
        WebhookRule(id: id, project: project, sampleRate: sampleRate, propertyFilters: propertyFilters, enabled: enabled)
    }

    /// The keys that sign a delivery at `now`: the current one, then the previous during its grace period.
    public func signingKeys(at now: Date) -> [String] {
        if let previousKey, let until = previousKeyExpiresAt, now < until { return [hmacKey, previousKey] }
        return [hmacKey]
    }
}

/// The state of one delivery: a call (or a test) to send to one webhook.
public enum DeliveryStatus: String, Sendable {
    case pending
    case succeeded
    case failed
}

public struct Delivery: Sendable, Equatable {
    public var id: UUID
    public var webhookID: UUID
    /// The call it reports; nil for a test delivery.
    public var requestID: UUID?
    public var status: DeliveryStatus
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var createdAt: Date
    public var lastError: String?
    public var lastStatusCode: Int?

    /// `webhook-id`: the same on every attempt, so receivers can de-duplicate.
    public var messageID: String { "msg_" + id.uuidString.lowercased() }
}

/// One try at sending a delivery.
public struct DeliveryAttempt: Sendable, Equatable {
    public var deliveryID: UUID
    public var number: Int
    public var startedAt: Date
    public var durationMs: Double
    public var statusCode: Int?
    /// The start of the receiver's answer, at most 4 KB.
    public var responseHead: String?
    public var error: String?
}

/// What the dispatcher records after an attempt, in one transaction.
public struct AttemptResult: Sendable {
    var attempt: DeliveryAttempt
    var status: DeliveryStatus
    var nextAttemptAt: Date?
    /// Set on success (clears the webhook's failing run) or failure (starts it if none).
    var webhookSucceeded: Bool
    /// Non-nil when this attempt disables the webhook.
    var disableReason: String?
}

/// A due delivery claimed by this instance until `leaseUntil`.
public struct ClaimedDelivery: Sendable {
    var delivery: Delivery
    var leaseUntil: Date
}
