import Foundation
import Logging
import TollgateCore

/// What a call must learn from the store before it is sent (SPEC §7), asked in one hop off the
/// event loop: whether its client-chosen id is free, whether its rate limits admit it, and
/// whether the cache holds its answer. A call that uses none of these never comes here.
///
/// The store is waited for at most ``RequestIDRegistry/checkTimeout`` per question. A store that
/// does not answer in time refuses an id check (503: the id cannot be promised), but lets the
/// call through its rate limits (a database blip must not stop all traffic; logged) and counts a
/// cache lookup as a miss.
struct CallAdmission: Sendable {
    let requestIDs: RequestIDRegistry
    let records: any RecordStore
    let controls: any ControlStore
    /// The answers lately seen, served without the store.
    let front: CacheFront
    let limiter: RateLimiter
    let logger: Logger

    init(requestIDs: RequestIDRegistry, records: any RecordStore, controls: any ControlStore, front: CacheFront, logger: Logger) {
        self.requestIDs = requestIDs
        self.records = records
        self.controls = controls
        self.front = front
        self.limiter = RateLimiter(store: controls)
        self.logger = logger
    }

    struct Call: Sendable {
        var id: UUID
        var claimsID: Bool
        var project: String
        var policies: [RateLimitPolicy]
        var user: String?
        var properties: [Property]
        /// The cache's key and how many answers it keeps, when the call asked for the cache.
        var cache: (key: String, bucketMaxSize: Int)?
    }

    enum Verdict: Sendable {
        case idUsed
        case idUnavailable
        case limited(RateLimiter.Verdict)
        /// Served from the cache: one of the kept answers, and the rate-limit headers.
        case hit(CachedAnswer, rateLimit: RateLimiter.Verdict?)
        case forward(rateLimit: RateLimiter.Verdict?)
    }

    func decide(_ call: Call, now: Date = Date()) async -> Verdict {
        if call.claimsID {
            switch await requestIDs.claim(call.id, unlessRecordedIn: records) {
            case .claimed: break
            case .used: return .idUsed
            case .unavailable: return .idUnavailable
            }
        }
        var rateLimit: RateLimiter.Verdict?
        if !call.policies.isEmpty {
            let limiter = self.limiter
            do {
                rateLimit = try await withStoreTimeout(RequestIDRegistry.checkTimeout) {
                    try await limiter.admit(project: call.project, policies: call.policies, user: call.user, properties: call.properties, now: now)
                }
            } catch {
                logger.warning("rate limits not checked, call let through: \(error)", metadata: ["helicone.id": "\(call.id.uuidString.lowercased())"])
            }
            if let rateLimit, !rateLimit.allowed { return .limited(rateLimit) }
        }
        if let cache = call.cache {
            if let answer = front.hit(key: cache.key, bucketMaxSize: cache.bucketMaxSize, now: now) {
                return .hit(answer, rateLimit: rateLimit)
            }
            let controls = self.controls
            let answers = try? await withStoreTimeout(RequestIDRegistry.checkTimeout) {
                try await controls.cachedAnswers(key: cache.key, now: now)
            }
            if let answers { front.remember(key: cache.key, answers: answers, now: now) }
            // A bucket of N serves only once it holds N answers; until then each call fills a slot.
            if let answers, answers.count >= cache.bucketMaxSize, let answer = answers.randomElement() {
                return .hit(answer, rateLimit: rateLimit)
            }
        }
        return .forward(rateLimit: rateLimit)
    }

    /// Keeps a call's answer, waiting at most ``RequestIDRegistry/checkTimeout``; a slower store
    /// finishes the write on its own.
    func keep(_ answer: CachedAnswer, bucketMaxSize: Int) async {
        let controls = self.controls
        do {
            if let slot = try await withStoreTimeout(RequestIDRegistry.checkTimeout, { try await controls.keep(answer, bucketMaxSize: bucketMaxSize) }) {
                var kept = answer
                kept.bucketIndex = slot
                front.kept(kept, now: Date())
            }
        } catch {
            logger.notice("answer not cached: \(error)", metadata: ["helicone.id": "\(answer.requestID.uuidString.lowercased())"])
        }
    }
}
