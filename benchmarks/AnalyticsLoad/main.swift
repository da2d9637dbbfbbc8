// Stores synthetic calls into a SQLite file through the recorder's own batch path
// (`SQLiteRecordStore.insert`, which writes records and analytics in one transaction), for
// benchmarks/analytics.py to time the analytics API and the dashboard against.
//
//   AnalyticsLoad <storage dir> <calls> [days=30] [batch=500]
//
// Calls are spread evenly over the last `days` days (with days=0, each is stamped with the time it
// is made, as a recorder's calls are: what the recorder pays live), real-shaped: six models (one unpriced),
// 100,000 users, an `environment` property with 3 values and a `conversation` property with a
// value per 4 calls, log-normal latencies, a third streamed with a time to first token, 2% errors.
//
// With TOLLGATE_LOAD_POSTGRES_URL set, the calls go to that PostgreSQL database instead (schema
// `public`), through the same batch path. With TOLLGATE_LOAD_ANALYTICS=off, the batches leave the
// analytics rows alone: what the recorder's throughput is without them.
//
// With TOLLGATE_LIVE_SUBSCRIBERS=N set (0 included), each stored batch is also handed to a
// `LiveFeed` with N subscribers, as the recorder does after writing it, each subscriber turning
// its calls into event bytes on its own task (as a live stream does before writing them); the
// time `publish` takes is reported as `live_publish_seconds`.
import Foundation
import Logging
import Synchronization
import TollgateCore
import TollgateServer

let arguments = CommandLine.arguments
guard arguments.count >= 3, let total = Int(arguments[2]) else {
    print("usage: AnalyticsLoad <storage dir> <calls> [days=30] [batch=500]")
    exit(2)
}
let directory = arguments[1]
let days = arguments.count > 3 ? Double(arguments[3]) ?? 30 : 30
let batchSize = arguments.count > 4 ? Int(arguments[4]) ?? 500 : 500
let environment = ProcessInfo.processInfo.environment
let keepAnalytics = environment["TOLLGATE_LOAD_ANALYTICS"] != "off"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let store: SQLStore
if let url = environment["TOLLGATE_LOAD_POSTGRES_URL"] {
    store = try SQLStore.postgres(url: url, schema: "public", timeout: .seconds(60), logger: Logger(label: "load"))
} else {
    store = try SQLStore.sqlite(path: directory + "/tollgate.sqlite")
}
try await store.migrate()

struct Generator {
    var state: UInt64
    mutating func next() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53)
    }
    mutating func normal() -> Double { sqrt(-2 * log(max(next(), 1e-12))) * cos(2 * .pi * next()) }
}

let models: [(name: String, provider: String, input: Double, output: Double)] = [
    ("gpt-4o-mini", "openai", 0.15, 0.60), ("gpt-4o", "openai", 2.5, 10), ("o3", "openai", 2, 8),
    ("claude-sonnet-4-20250514", "anthropic", 3, 15), ("claude-haiku-4-5", "anthropic", 1, 5), ("gpt-9-preview", "openai", 0, 0),
]
let environments = ["production", "staging", "development"]
var random = Generator(state: 2026)
let end = Date()
let step = days * 86400 / Double(max(total, 1))
var written = 0
var batch: [StoredExchange] = []
batch.reserveCapacity(batchSize)
let clock = ContinuousClock()
var insertTime = Duration.zero
let liveSubscribers = environment["TOLLGATE_LIVE_SUBSCRIBERS"].flatMap { Int($0) }
let live = LiveFeed(maxSubscribers: max(1, liveSubscribers ?? 0), bufferSize: 1024)
let liveBytes = Mutex(0)
var liveReaders: [Task<Void, Never>] = []
for _ in 0..<(liveSubscribers ?? 0) {
    guard let subscription = live.subscribe(project: nil) else { break }
    liveReaders.append(Task {
        while case .calls(let calls, let dropped) = await subscription.next() {
            let bytes = LiveEvents.batch(calls, dropped: dropped).count
            liveBytes.withLock { $0 += bytes }
        }
    })
}
var publishTime = Duration.zero
var rollupTime = Duration.zero
let started = clock.now
while written < total {
    let n = written + batch.count
    let model = models[Int(random.next() * Double(models.count))]
    let stream = random.next() < 0.33
    let latency = exp(log(900) + 0.7 * random.normal())
    let failed = random.next() < 0.02
    let input = 200 + Int(random.next() * 3000), output = failed ? 0 : 20 + Int(random.next() * 800)
    let priced = model.input > 0
    let record = RequestRecord(
        id: UUID(), project: "default", createdAt: days > 0 ? end.addingTimeInterval(-days * 86400 + Double(n) * step) : Date(), method: "POST",
        path: model.provider == "openai" ? "/v1/chat/completions" : "/v1/messages", provider: model.provider, model: model.name,
        status: failed ? 500 : 200, stream: stream, userID: "user-\(Int(random.next() * 100_000))",
        properties: [Property(name: "environment", value: environments[Int(random.next() * 3)]), Property(name: "conversation", value: "c-\(n / 4)")],
        sessionID: nil, sessionPath: nil, sessionName: nil,
        usage: failed ? nil : TokenUsage(inputTokens: input, outputTokens: output),
        costUSD: failed || !priced ? nil : (Double(input) * model.input + Double(output) * model.output) / 1_000_000,
        latencyMs: latency, timeToFirstTokenMs: stream ? latency * (0.1 + 0.2 * random.next()) : nil,
        upstreamLatencyMs: latency - 1.5, overheadMs: 0.5 + random.next() * 2, requestBytes: 2000, responseBytes: 1500, error: nil
    )
    batch.append(StoredExchange(record: record, bodies: StoredBodies(request: nil, response: nil, reconstructedResponse: nil), bodiesInDatabase: false))
    if batch.count == batchSize || written + batch.count == total {
        let rollupStart = clock.now
        _ = AnalyticsRollup.rollup(batch.map(\.record))
        rollupTime += clock.now - rollupStart
        let insertStart = clock.now
        try await store.insert(batch, moreWaiting: written + batch.count < total, analytics: keepAnalytics)
        insertTime += clock.now - insertStart
        if liveSubscribers != nil {
            let publishStart = clock.now
            live.publish(batch.lazy.map(\.record))
            publishTime += clock.now - publishStart
        }
        written += batch.count
        batch.removeAll(keepingCapacity: true)
        if written % 200_000 < batchSize { FileHandle.standardError.write("\(written) calls\n".data(using: .utf8)!) }
    }
}
let seconds = Double((clock.now - started).components.seconds) + Double((clock.now - started).components.attoseconds) / 1e18
func secs(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
live.close()
await store.close()
for reader in liveReaders { await reader.value }
let liveFields = liveSubscribers.map { ", \"live_subscribers\": \($0), \"live_publish_seconds\": \(secs(publishTime)), \"live_event_bytes\": \(liveBytes.withLock { $0 })" } ?? ""
print("{\"calls\": \(total), \"seconds\": \(seconds), \"insert_seconds\": \(secs(insertTime)), \"rollup_seconds\": \(secs(rollupTime)), \"calls_per_second\": \(Double(total) / secs(insertTime)), \"analytics\": \(keepAnalytics)\(liveFields)}")
