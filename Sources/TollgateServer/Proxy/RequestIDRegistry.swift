import Foundation
import Synchronization

/// Client-chosen ids (`Helicone-Request-Id`) of calls in flight or not yet written, so a second
/// use is refused with 409 before the first one reaches the store.
final class RequestIDRegistry: Sendable {
    /// What a new call learns of its client-chosen id.
    enum Claim: Equatable {
        /// Free, and now held by this call until its record is written or given up.
        case claimed
        /// Held by a call in flight or already recorded (409).
        case used
        /// The store could not say in time whether it was recorded; the id is not held (503).
        case unavailable
    }

    /// Longest the store's answer is awaited before a call goes on (or is refused): a call must
    /// not wait out a database outage (`storage.postgres.timeout_seconds`, 10 s), and a busy
    /// machine's slow answer is not an outage.
    static let checkTimeout: Duration = .seconds(3)

    let claimed = Mutex(Set<UUID>())

    /// True when the id was free and is now held.
    func claim(_ id: UUID) -> Bool {
        claimed.withLock { $0.insert(id).inserted }
    }

    /// Claims `id` unless a call holds it or `store` has its record, waiting for the store at
    /// most `timeout`. Only ``Claim/claimed`` leaves the id held.
    func claim(_ id: UUID, unlessRecordedIn store: any RecordStore, timeout: Duration = checkTimeout) async -> Claim {
        guard claim(id) else { return .used }
        let stored: Bool
        do {
            stored = try await withStoreTimeout(timeout) { try await store.contains(id: id) }
        } catch {
            release(id)
            return .unavailable
        }
        if stored { release(id) }
        return stored ? .used : .claimed
    }

    func release(_ id: UUID) {
        _ = claimed.withLock { $0.remove(id) }
    }

    func release(_ ids: some Sequence<UUID>) {
        claimed.withLock { set in for id in ids { set.remove(id) } }
    }

    func isClaimed(_ id: UUID) -> Bool {
        claimed.withLock { $0.contains(id) }
    }
}
