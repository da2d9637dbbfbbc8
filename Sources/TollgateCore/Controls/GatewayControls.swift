import Foundation

/// What a caller asked of the gateway beyond forwarding (SPEC §7): cache, retries, a rate limit,
/// fallbacks. Each is nil unless its header was sent; a malformed value is refused with a
/// message that names the header and the form it takes, never replaced by a default.
public struct GatewayControls: Sendable, Equatable {
    public var cache: CacheControl?
    public var retry: RetryControl?
    public var rateLimit: RateLimitPolicy?
    public var fallbacks: [FallbackTarget]?

    public init(cache: CacheControl? = nil, retry: RetryControl? = nil, rateLimit: RateLimitPolicy? = nil, fallbacks: [FallbackTarget]? = nil) {
        self.cache = cache
        self.retry = retry
        self.rateLimit = rateLimit
        self.fallbacks = fallbacks
    }

    /// Whether the call needs more than the plain path.
    public var isEmpty: Bool { cache == nil && retry == nil && rateLimit == nil && fallbacks == nil }

    /// The control headers of one request as sent (lowercased names), read in the same pass as
    /// the tags; ``GatewayControls/init(_:)`` checks them once all are known.
    public struct Values: Sendable, Equatable {
        var fields: [String: String] = [:]
        /// `Cache-Control`, read only when the cache is asked for.
        var cacheControl: String?

        public init() {}

        subscript(_ name: String) -> String? { fields[name] }

        public var isEmpty: Bool { fields.isEmpty }

        mutating func set(_ name: String, _ value: String) { fields[name] = value }
    }

    static let names: Set<String> = [
        "helicone-cache-enabled", "helicone-cache-bucket-max-size", "helicone-cache-seed", "helicone-cache-ignore-keys",
        "helicone-retry-enabled", "helicone-retry-num", "helicone-retry-factor", "helicone-retry-min-timeout",
        "helicone-retry-max-timeout", "helicone-ratelimit-policy", "helicone-fallbacks",
    ]

    public init(_ values: Values) throws(GatewayHeaderError) {
        self.init()
        guard !values.isEmpty else { return }
        // Every value sent is checked, switched on or not: a typo is an error, never a silent default.
        let cacheEnabled = try Self.flag(values, "helicone-cache-enabled", "Helicone-Cache-Enabled")
        if cacheEnabled || values.fields.keys.contains(where: { $0.hasPrefix("helicone-cache-") }) {
            let control = try CacheControl(values)
            if cacheEnabled { cache = control }
        }
        let retryEnabled = try Self.flag(values, "helicone-retry-enabled", "Helicone-Retry-Enabled")
        if retryEnabled || values.fields.keys.contains(where: { $0.hasPrefix("helicone-retry-") }) {
            let control = try RetryControl(values)
            if retryEnabled { retry = control }
        }
        if let policy = values["helicone-ratelimit-policy"] {
            rateLimit = try RateLimitPolicy(header: policy)
        }
        if let list = values["helicone-fallbacks"] {
            fallbacks = try FallbackTarget.list(header: list)
        }
    }

    /// `true` or `false`; absent is false.
    static func flag(_ values: Values, _ name: String, _ display: String) throws(GatewayHeaderError) -> Bool {
        guard let raw = values[name] else { return false }
        switch raw.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true": return true
        case "false": return false
        default: throw GatewayHeaderError(message: "\(display) must be true or false, got '\(raw.prefix(64))'")
        }
    }

    /// A whole number within `range`, or the default when the header is absent.
    static func integer(_ values: Values, _ name: String, _ display: String, in range: ClosedRange<Int>, default value: Int) throws(GatewayHeaderError) -> Int {
        guard let raw = values[name] else { return value }
        guard let n = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(n) else {
            throw GatewayHeaderError(message: "\(display) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(raw.prefix(64))'")
        }
        return n
    }
}

/// `Helicone-Cache-*` and `Cache-Control: max-age`.
public struct CacheControl: Sendable, Equatable {
    /// How long a stored answer may be served, in seconds (default 7 days, at most 365).
    public var maxAgeSeconds: Int
    /// Different answers kept per key, 1–20; a hit serves one of them.
    public var bucketMaxSize: Int
    /// Separates caches: calls with different seeds never share answers.
    public var seed: String?
    /// Top-level JSON body keys left out of the key.
    public var ignoreKeys: [String]

    public static let defaultMaxAge = 7 * 86_400
    public static let maxMaxAge = 365 * 86_400

    public init(maxAgeSeconds: Int = defaultMaxAge, bucketMaxSize: Int = 1, seed: String? = nil, ignoreKeys: [String] = []) {
        self.maxAgeSeconds = maxAgeSeconds
        self.bucketMaxSize = bucketMaxSize
        self.seed = seed
        self.ignoreKeys = ignoreKeys
    }

    init(_ values: GatewayControls.Values) throws(GatewayHeaderError) {
        self.init()
        bucketMaxSize = try GatewayControls.integer(values, "helicone-cache-bucket-max-size", "Helicone-Cache-Bucket-Max-Size", in: 1...20, default: 1)
        seed = values["helicone-cache-seed"]
        if let keys = values["helicone-cache-ignore-keys"] {
            ignoreKeys = keys.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let header = values.cacheControl, let maxAge = try Self.maxAge(header) {
            maxAgeSeconds = maxAge
        }
    }

    /// The `max-age` directive of a `Cache-Control` value, if it has one.
    static func maxAge(_ header: String) throws(GatewayHeaderError) -> Int? {
        for directive in header.split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.first?.lowercased() == "max-age" else { continue }
            guard parts.count == 2, let seconds = Int(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))), seconds >= 0, seconds <= maxMaxAge else {
                throw GatewayHeaderError(message: "Cache-Control max-age must be a whole number of seconds from 0 to \(maxMaxAge) (365 days), got '\(directive.prefix(64))'")
            }
            return seconds
        }
        return nil
    }
}

/// `Helicone-Retry-*`: how a call that got 429, 5xx or no connection is tried again.
public struct RetryControl: Sendable, Equatable {
    /// Retries after the first attempt (default 5).
    public var retries: Int
    public var factor: Double
    public var minTimeoutMs: Int
    public var maxTimeoutMs: Int

    public init(retries: Int = 5, factor: Double = 2, minTimeoutMs: Int = 1000, maxTimeoutMs: Int = 10_000) {
        self.retries = retries
        self.factor = factor
        self.minTimeoutMs = minTimeoutMs
        self.maxTimeoutMs = maxTimeoutMs
    }

    init(_ values: GatewayControls.Values) throws(GatewayHeaderError) {
        self.init()
        retries = try GatewayControls.integer(values, "helicone-retry-num", "Helicone-Retry-Num", in: 0...20, default: 5)
        if let raw = values["helicone-retry-factor"] {
            guard let f = Double(raw.trimmingCharacters(in: .whitespaces)), f.isFinite, f >= 1, f <= 10 else {
                throw GatewayHeaderError(message: "Helicone-Retry-Factor must be a number from 1 to 10, got '\(raw.prefix(64))'")
            }
            factor = f
        }
        minTimeoutMs = try GatewayControls.integer(values, "helicone-retry-min-timeout", "Helicone-Retry-Min-Timeout", in: 0...600_000, default: 1000)
        maxTimeoutMs = try GatewayControls.integer(values, "helicone-retry-max-timeout", "Helicone-Retry-Max-Timeout", in: 0...600_000, default: 10_000)
        guard minTimeoutMs <= maxTimeoutMs else {
            throw GatewayHeaderError(message: "Helicone-Retry-Min-Timeout (\(minTimeoutMs) ms) must not be more than Helicone-Retry-Max-Timeout (\(maxTimeoutMs) ms)")
        }
    }

    /// The wait before retry number `retry` (1 for the first), in milliseconds: `min-timeout ×
    /// factor^(retry-1)` capped at max-timeout, then jittered down by up to half (never below
    /// min-timeout) so that callers failing together do not retry together. `unit` is a random
    /// number in 0..<1.
    public func delayMs(retry: Int, unit: Double) -> Int {
        let exponential = Double(minTimeoutMs) * pow(factor, Double(max(0, retry - 1)))
        let capped = min(Double(maxTimeoutMs), exponential)
        let jittered = capped * (1 - 0.5 * min(max(unit, 0), 1))
        return Int(max(Double(minTimeoutMs), jittered).rounded())
    }

    /// What to do after an attempt that answered `status` (nil: no connection) with the given
    /// `Retry-After` value, when `retry` retries have been made: wait this many milliseconds and
    /// try again, or nil to give the answer to the caller. A `Retry-After` longer than
    /// max-timeout ends the retries: the caller said how long it is willing to wait.
    public func next(status: Int?, retryAfter: String?, retriesMade: Int, now: Date, unit: Double) -> Int? {
        guard retriesMade < retries else { return nil }
        if let status, status != 429, !(500...599).contains(status) { return nil }
        let backoff = delayMs(retry: retriesMade + 1, unit: unit)
        guard let retryAfter, let asked = Self.retryAfterMs(retryAfter, now: now) else { return backoff }
        guard asked <= maxTimeoutMs else { return nil }
        return max(backoff, asked)
    }

    /// `Retry-After` as seconds or an HTTP date, in milliseconds from `now`.
    static func retryAfterMs(_ value: String, now: Date) -> Int? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds >= 0, seconds.isFinite { return Int((seconds * 1000).rounded()) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(0, Int((date.timeIntervalSince(now) * 1000).rounded()))
    }
}
