import Foundation

/// `Helicone-RateLimit-Policy: Q;w=W[;u=request|cents][;s=user|<property>]`: at most Q requests
/// (or Q cents of cost) per W seconds, for the project, or for each user or each value of a
/// property. Operators set the same policies in config per gateway key.
public struct RateLimitPolicy: Sendable, Equatable {
    public enum Unit: String, Sendable {
        case request
        case cents
    }

    public enum Segment: Sendable, Equatable {
        case project
        case user
        /// A property's value, by the property's lowercased name.
        case property(String)
    }

    public var quota: Int
    public var windowSeconds: Int
    public var unit: Unit
    public var segment: Segment

    public static let windows = 60...31_536_000

    public init(quota: Int, windowSeconds: Int, unit: Unit = .request, segment: Segment = .project) {
        self.quota = quota
        self.windowSeconds = windowSeconds
        self.unit = unit
        self.segment = segment
    }

    static let form = "Q;w=W[;u=request|cents][;s=user|<property>], with Q > 0 and W from 60 to 31536000 seconds"

    public init(header: String) throws(GatewayHeaderError) {
        func refuse(_ why: String) -> GatewayHeaderError {
            GatewayHeaderError(message: "Helicone-RateLimit-Policy \(why): expected \(Self.form), got '\(header.prefix(100))'")
        }
        let parts = header.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, let quota = Int(first), quota > 0 else { throw refuse("needs a quota above 0 first") }
        var window: Int?
        var unit = Unit.request
        var segment = Segment.project
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, !pair[1].isEmpty else { throw refuse("has '\(part)', not key=value") }
            switch pair[0].lowercased() {
            case "w":
                guard window == nil, let w = Int(pair[1]), Self.windows.contains(w) else { throw refuse("has a window that is not 60 to 31536000 seconds") }
                window = w
            case "u":
                guard let u = Unit(rawValue: pair[1].lowercased()) else { throw refuse("has a unit that is not request or cents") }
                unit = u
            case "s":
                segment = pair[1].lowercased() == "user" ? .user : .property(pair[1].lowercased())
            default:
                throw refuse("has an unknown part '\(pair[0])'")
            }
        }
        guard let window else { throw refuse("has no window w=") }
        self.init(quota: quota, windowSeconds: window, unit: unit, segment: segment)
    }

    /// The header's form of this policy, as answers echo it in `Helicone-RateLimit-Policy`.
    public var header: String {
        var text = "\(quota);w=\(windowSeconds)"
        if unit == .cents { text += ";u=cents" }
        switch segment {
        case .project: break
        case .user: text += ";s=user"
        case .property(let name): text += ";s=\(name)"
        }
        return text
    }

    /// What this policy counts a call under. Calls without a value for the segment (no user, no
    /// such property) share one subject of their own, so leaving the user out does not escape a
    /// per-user limit an operator set.
    public func subject(user: String?, properties: [Property]) -> String {
        switch segment {
        case .project: "project"
        case .user: user.map { "user:" + $0 } ?? "user-absent"
        case .property(let name): properties.first { $0.key == name }.map { "property:\(name):\($0.value)" } ?? "property-absent:\(name)"
        }
    }
}

/// A sliding window over two fixed windows (the count of the current window plus the previous
/// one's weighted by how much of it still overlaps): two counters per subject, exact when the
/// traffic is even, and never more than the quota plus what the previous window's uneven
/// share allows.
public enum RateLimitWindow {
    /// One fixed window of a policy: its start and length in seconds since 1970.
    public struct Key: Sendable, Equatable {
        public var start: Int64
        public var seconds: Int64
        public var previousStart: Int64 { start - seconds }

        public init(start: Int64, seconds: Int64) {
            self.start = start
            self.seconds = seconds
        }

        /// The fixed window of `seconds` that `time` falls in.
        public init(containing time: Date, seconds: Int) {
            self.init(start: RateLimitWindow.start(of: time, seconds: seconds), seconds: Int64(seconds))
        }
    }

    /// The start (seconds since 1970) of the fixed window `now` falls in.
    public static func start(of now: Date, seconds: Int) -> Int64 {
        let t = Int64(now.timeIntervalSince1970.rounded(.down))
        return t - t % Int64(seconds)
    }

    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        /// What is left after this call (requests, or whole cents), for `Helicone-RateLimit-Remaining`.
        public var remaining: Int
        /// When refused: seconds until the call would fit, for `Retry-After`.
        public var retryAfterSeconds: Int?
    }

    /// Whether a call costing `cost` (1 request; for cents, 0 before the call, the check being
    /// that any budget is left) fits, given the previous and current fixed windows' counts.
    public static func decide(policy: RateLimitPolicy, previous: Double, current: Double, now: Date, cost: Double) -> Decision {
        let window = Double(policy.windowSeconds)
        let elapsed = now.timeIntervalSince1970 - Double(start(of: now, seconds: policy.windowSeconds))
        let weight = max(0, 1 - elapsed / window)
        let used = previous * weight + current
        let quota = Double(policy.quota)
        let fits = policy.unit == .request ? used + cost <= quota : used < quota
        if fits {
            return Decision(allowed: true, remaining: max(0, Int((quota - used - cost).rounded(.down))), retryAfterSeconds: nil)
        }
        // Refused: wait until the previous window's weight has fallen enough, or the next window.
        let needed = policy.unit == .request ? used + cost - quota : used - quota + 1e-9
        var wait = window - elapsed
        if previous > 0, current + (policy.unit == .request ? cost : 0) < quota {
            wait = min(wait, needed / previous * window)
        }
        return Decision(allowed: false, remaining: 0, retryAfterSeconds: max(1, Int(wait.rounded(.up))))
    }
}
