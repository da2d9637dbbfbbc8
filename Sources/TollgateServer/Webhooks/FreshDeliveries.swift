import Foundation
import Synchronization
import TollgateCore

/// Deliveries the recorder has just written, handed to the dispatcher in memory with the record
/// and bodies it already holds, so a first attempt needs no claim and no read.
///
/// The recorder writes each of these deliveries with a lease (``NewDelivery/leaseUntil``) in the
/// record's transaction, so the store stays the truth: if this process dies, the lease ends and
/// any instance claims the delivery as usual. Bounded by count and by body bytes; a call that
/// does not fit is written without a lease and takes the claim path.
final class FreshDeliveries: Sendable {
    /// A class, so the queue moves references rather than copying records and bodies.
    final class Item: Sendable {
        let delivery: Delivery
        let leaseUntil: Date
        let record: RequestRecord
        let bodies: StoredBodies
        let bodiesInDatabase: Bool
        let bytes: Int

        init(delivery: Delivery, leaseUntil: Date, record: RequestRecord, bodies: StoredBodies, bodiesInDatabase: Bool, bytes: Int) {
            self.delivery = delivery
            self.leaseUntil = leaseUntil
            self.record = record
            self.bodies = bodies
            self.bodiesInDatabase = bodiesInDatabase
            self.bytes = bytes
        }
    }

    struct State {
        var items: [Item] = []
        var bytes = 0
    }

    let maxCount: Int
    let maxBytes: Int
    let state = Mutex(State())

    init(maxCount: Int, maxBytes: Int) {
        self.maxCount = maxCount
        self.maxBytes = maxBytes
    }

    static func size(of bodies: StoredBodies) -> Int {
        (bodies.request?.count ?? 0) + (bodies.response?.count ?? 0) + (bodies.reconstructedResponse?.count ?? 0)
    }

    /// Whether `count` more deliveries carrying `bytes` of bodies in all fit now. Only the
    /// recorder adds, so room seen here is still there when it adds after its write.
    func hasRoom(count: Int, bytes: Int) -> Bool {
        state.withLock { $0.items.count + count <= maxCount && $0.bytes + bytes <= maxBytes }
    }

    func add(_ new: [Item]) {
        guard !new.isEmpty else { return }
        state.withLock { s in
            s.items.append(contentsOf: new)
            s.bytes += new.reduce(0) { $0 + $1.bytes }
        }
    }

    /// Removes and returns, oldest first, up to `limit` items that `admit` accepts (it is called
    /// in order and may count what it accepted). Items whose lease would end before `mustLastUntil`
    /// are dropped: the store gives them to whichever instance claims them after the lease.
    func take(limit: Int, mustLastUntil: Date, admit: (Item) -> Bool) -> [Item] {
        guard limit > 0 else { return [] }
        return state.withLock { s in
            guard !s.items.isEmpty else { return [] }
            var taken: [Item] = []
            var kept: [Item] = []
            kept.reserveCapacity(s.items.count)
            for item in s.items {
                if item.leaseUntil < mustLastUntil {
                    s.bytes -= item.bytes
                } else if taken.count < limit, admit(item) {
                    s.bytes -= item.bytes
                    taken.append(item)
                } else {
                    kept.append(item)
                }
            }
            s.items = kept
            return taken
        }
    }

    /// Empties the queue (shutdown); returns the delivery ids, whose leases the caller releases.
    func drain() -> [UUID] {
        state.withLock { s in
            let ids = s.items.map(\.delivery.id)
            s = State()
            return ids
        }
    }

    var count: Int { state.withLock { $0.items.count } }
}
