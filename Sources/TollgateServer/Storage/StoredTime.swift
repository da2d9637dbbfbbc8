import Foundation

/// Times as both stores keep them: integer microseconds since 1970, portable and sortable.
enum StoredTime {
    static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    static func date(_ micros: Int64?) -> Date? { micros.map { Date(timeIntervalSince1970: Double($0) / 1_000_000) } }
}
