import Foundation

/// The widths of the time buckets analytics are kept in. Every call is counted once at each
/// resolution, so a range is answered from few rows: whole days from day rows, the hours at its
/// ends from hour rows, the minutes at its very ends from minute rows (``AnalyticsRange``).
public enum AnalyticsResolution: Int64, CaseIterable, Sendable, Comparable {
    case minute = 60
    case hour = 3600
    case day = 86400

    public var micros: Int64 { rawValue * 1_000_000 }

    /// The start of the bucket holding `micros` (UTC).
    public func floor(_ micros: Int64) -> Int64 {
        let width = self.micros
        return micros >= 0 ? micros / width * width : -((-micros + width - 1) / width) * width
    }

    /// The start of the first bucket at or after `micros`.
    public func ceil(_ micros: Int64) -> Int64 {
        let down = floor(micros)
        return down == micros ? micros : down + self.micros
    }

    /// How many distinct values of one dimension get a row of their own per bucket and project;
    /// the calls of any further value are counted in the ``AnalyticsDimension/otherValue`` row.
    /// This is what bounds the table when users or property values are many (README, "Analytics").
    public var distinctValueCap: Int {
        switch self {
        case .minute: 20
        case .hour: 100
        case .day: 1000
        }
    }

    /// How long rows of this resolution are kept (nil: as long as records are); older ranges are
    /// answered from the next coarser rows.
    public var keptFor: TimeInterval? {
        switch self {
        case .minute: 2 * 86400
        case .hour: 90 * 86400
        case .day: nil
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// `minute`, `hour` or `day`, as `interval=` spells them.
    public init?(name: String) {
        switch name {
        case "minute": self = .minute
        case "hour": self = .hour
        case "day": self = .day
        default: return nil
        }
    }
}

/// What the analytics API groups or filters by. Each call is counted once per dimension, under
/// its value there.
public enum AnalyticsDimension: Hashable, Sendable {
    case none
    case model
    case provider
    case status
    case user
    /// A custom property, by lowercased name.
    case property(String)

    /// The value stored for the calls folded together once a bucket has ``AnalyticsResolution/distinctValueCap``
    /// values: it starts with a control character, which no header value or model name carries.
    public static let otherValue = "\u{1F}other"

    /// The stored name: `none`, `model`, `provider`, `status`, `user` or `property.<name>`.
    public var name: String {
        switch self {
        case .none: "none"
        case .model: "model"
        case .provider: "provider"
        case .status: "status"
        case .user: "user"
        case .property(let name): "property.\(name)"
        }
    }

    /// Parses `group_by`: `none`, `model`, `provider`, `status`, `user` (or `user_id`), `property.<name>`.
    public init?(name: String) {
        switch name {
        case "none": self = .none
        case "model": self = .model
        case "provider": self = .provider
        case "status": self = .status
        case "user", "user_id": self = .user
        default:
            guard name.hasPrefix("property."), name.count > "property.".count else { return nil }
            self = .property(String(name.dropFirst("property.".count)).lowercased())
        }
    }

    /// The call's value in this dimension; nil when the call has none there (a property it was
    /// not tagged with), so it gets no row. A call with no model or user counts under "".
    public func value(of record: RequestRecord) -> String? {
        switch self {
        case .none: ""
        case .model: record.model ?? ""
        case .provider: record.provider
        case .status: String(record.status)
        case .user: record.userID ?? ""
        case .property(let name): record.properties.first { $0.key == name }?.value
        }
    }

    /// Every dimension a call has, by name, with its value: the five fixed ones, then one per
    /// property name (the first value of a name given twice). One pass over the call, for the
    /// recorder's rollup of every call.
    public static func values(of record: RequestRecord) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = [
            ("none", ""), ("model", record.model ?? ""), ("provider", record.provider), ("status", String(record.status)),
            ("user", record.userID ?? ""),
        ]
        guard !record.properties.isEmpty else { return out }
        var seen = Set<String>()
        for property in record.properties {
            let key = property.key
            if seen.insert(key).inserted { out.append(("property." + key, property.value)) }
        }
        return out
    }
}

/// One set of calls counted together: a bucket of one resolution, one project, one value of one dimension.
public struct AnalyticsGroup: Hashable, Sendable, Comparable {
    public var resolution: AnalyticsResolution
    /// The bucket's start, microseconds since 1970.
    public var bucket: Int64
    public var project: String
    /// ``AnalyticsDimension/name``.
    public var dimension: String

    public init(resolution: AnalyticsResolution, bucket: Int64, project: String, dimension: String) {
        self.resolution = resolution
        self.bucket = bucket
        self.project = project
        self.dimension = dimension
    }

    public static func < (a: Self, b: Self) -> Bool {
        (a.resolution.rawValue, a.dimension, a.bucket, a.project) < (b.resolution.rawValue, b.dimension, b.bucket, b.project)
    }
}

/// One row of analytics: a group and a value in it.
public struct AnalyticsKey: Hashable, Sendable, Comparable {
    public var group: AnalyticsGroup
    public var value: String

    public init(group: AnalyticsGroup, value: String) {
        self.group = group
        self.value = value
    }

    public static func < (a: Self, b: Self) -> Bool {
        a.group == b.group ? a.value < b.value : a.group < b.group
    }
}
