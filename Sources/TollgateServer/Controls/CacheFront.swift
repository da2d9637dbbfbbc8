import Foundation
import Synchronization
import TollgateCore

/// The cached answers this instance has lately seen, in memory, so that a hit is served on the
/// event loop with no trip to the store (SPEC §7: a hit in well under a millisecond).
///
/// The store stays the truth: an entry here is what the store held (or what this instance put
/// there) at most `freshFor` ago, and a key the front does not hold, or holds fewer answers for
/// than its bucket needs, is asked of the store. Stored answers never change, so what the front
/// serves is an answer the store served too; what it can miss is a purge on another instance
/// (served here until `freshFor` passes) or an entry evicted from the store since. Bounded by
/// `maxBytes` of bodies; over it, entries go in the order they came.
final class CacheFront: Sendable {
    struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var bytes = 0
    }

    struct Entry {
        var answers: [CachedAnswer]
        var seenAt: Date
        var bytes: Int
    }

    let maxBytes: Int
    let freshFor: TimeInterval
    private let state = Mutex(State())

    init(maxBytes: Int, freshFor: TimeInterval = 30) {
        self.maxBytes = maxBytes
        self.freshFor = freshFor
    }

    /// A live answer for `key` when the front holds at least `bucketMaxSize` of them, seen within
    /// `freshFor`; nil sends the call to the store.
    func hit(key: String, bucketMaxSize: Int, now: Date) -> CachedAnswer? {
        guard maxBytes > 0 else { return nil }
        return state.withLock { s in
            guard let entry = s.entries[key], now.timeIntervalSince(entry.seenAt) < freshFor else { return nil }
            let live = entry.answers.filter { $0.expiresAt > now }
            guard live.count >= bucketMaxSize else { return nil }
            return live.randomElement()
        }
    }

    /// What the store answered for `key`.
    func remember(key: String, answers: [CachedAnswer], now: Date) {
        guard maxBytes > 0, !answers.isEmpty else { return }
        put(key, Entry(answers: answers, seenAt: now, bytes: answers.reduce(0) { $0 + $1.body.count }))
    }

    /// An answer this instance just kept in the store, in the slot the store gave it.
    func kept(_ answer: CachedAnswer, now: Date) {
        guard maxBytes > 0 else { return }
        let known = state.withLock { s in s.entries[answer.key].map { now.timeIntervalSince($0.seenAt) < freshFor ? $0.answers : [] } ?? [] }
        let answers = known.filter { $0.bucketIndex != answer.bucketIndex } + [answer]
        put(answer.key, Entry(answers: answers, seenAt: now, bytes: answers.reduce(0) { $0 + $1.body.count }))
    }

    func purge(project: String) {
        state.withLock { s in
            for (key, entry) in s.entries where entry.answers.first?.project == project {
                s.entries[key] = nil
                s.bytes -= entry.bytes
            }
            s.order.removeAll { s.entries[$0] == nil }
        }
    }

    var count: Int { state.withLock { $0.entries.count } }

    private func put(_ key: String, _ entry: Entry) {
        guard entry.bytes <= maxBytes else { return }
        state.withLock { s in
            if let old = s.entries.updateValue(entry, forKey: key) {
                s.bytes -= old.bytes
            } else {
                s.order.append(key)
            }
            s.bytes += entry.bytes
            var dropped = 0
            while s.bytes > maxBytes, dropped < s.order.count {
                let oldest = s.order[dropped]
                dropped += 1
                if oldest != key, let gone = s.entries.removeValue(forKey: oldest) { s.bytes -= gone.bytes }
            }
            if dropped > 0 {
                s.order.removeFirst(dropped)
                if s.entries[key] != nil, !s.order.contains(key) { s.order.append(key) }
            }
        }
    }
}
