import Foundation
import Synchronization

/// Client-chosen ids (`Helicone-Request-Id`) of calls in flight or not yet written, so a second
/// use is refused with 409 before the first one reaches the store.
final class RequestIDRegistry: Sendable {
    let claimed = Mutex(Set<UUID>())

    /// True when the id was free and is now held.
    func claim(_ id: UUID) -> Bool {
        claimed.withLock { $0.insert(id).inserted }
    }

    func release(_ id: UUID) {
        _ = claimed.withLock { $0.remove(id) }
    }

    func release(_ ids: some Sequence<UUID>) {
        claimed.withLock { set in for id in ids { set.remove(id) } }
    }
}
