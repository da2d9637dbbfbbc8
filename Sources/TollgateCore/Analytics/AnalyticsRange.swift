import Foundation

/// Which rows answer a time range: the coarsest that cover it. `[since, until)` widened to whole
/// minutes is split into minutes at its ends, hours next to them and whole days between, so a
/// month is read as about 30 day rows, 46 hour rows and 118 minute rows per value, whatever the
/// number of calls. Where rows of a resolution have been swept (minutes after two days, hours
/// after 90), the range widens to the next coarser bucket instead.
public enum AnalyticsRange {
    /// Rows of one resolution with buckets starting in `[start, end)` (microseconds).
    public struct Piece: Sendable, Equatable, CustomStringConvertible {
        public var resolution: AnalyticsResolution
        public var start: Int64
        public var end: Int64

        public init(_ resolution: AnalyticsResolution, _ start: Int64, _ end: Int64) {
            self.resolution = resolution
            self.start = start
            self.end = end
        }

        public var description: String { "\(resolution)[\(start), \(end))" }
    }

    /// The pieces covering `[since, until)`, all times in microseconds; `now` decides which
    /// resolutions are still kept at the range's ends.
    public static func pieces(since: Int64, until: Int64, now: Int64) -> [Piece] {
        guard since < until else { return [] }
        var s = AnalyticsResolution.minute.floor(since)
        var u = AnalyticsResolution.minute.ceil(until)
        for (fine, coarse) in [(AnalyticsResolution.minute, AnalyticsResolution.hour), (.hour, .day)] {
            guard let kept = fine.keptFor else { continue }
            let oldest = now - Int64(kept * 1_000_000)
            if s < oldest { s = coarse.floor(s) }
            if u < oldest { u = coarse.ceil(u) }
        }
        guard s < u else { return [] }
        let h1 = AnalyticsResolution.hour.ceil(s), h2 = AnalyticsResolution.hour.floor(u)
        guard h1 < h2 else { return [Piece(.minute, s, u)] }
        let d1 = AnalyticsResolution.day.ceil(h1), d2 = AnalyticsResolution.day.floor(h2)
        var pieces = [Piece(.minute, s, h1)]
        if d1 < d2 {
            pieces += [Piece(.hour, h1, d1), Piece(.day, d1, d2), Piece(.hour, d2, h2)]
        } else {
            pieces.append(Piece(.hour, h1, h2))
        }
        pieces.append(Piece(.minute, h2, u))
        return pieces.filter { $0.start < $0.end }
    }
}
