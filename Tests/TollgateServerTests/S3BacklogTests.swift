import Foundation
import Testing
import TollgateCore
import TollgateServer

@Suite("S3 bodies")
struct S3BacklogTests {
    @Test("an S3 endpoint slower than the traffic costs database space, not records: every call is recorded and its bodies stay reachable")
    func slowS3KeepsEveryRecord() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        // A bucket that takes a second per upload (HEAD, the start-up check, answers at once).
        let bucket = try await FakeServer.start { request, _ in
            if request.method == .put { try await Task.sleep(for: .seconds(1)) }
            return FakeServer.json("")
        }
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.bodies.kind = .s3(.init(
                endpoint: Origin(bucket.baseURL)!, bucket: "bodies", credentials: AWSCredentials(accessKeyID: "test", secretAccessKey: "test-secret")
            ))
            config.storage.queueCapacity = 20
            config.storage.batchSize = 2
        }
        var ids: [String] = []
        for _ in 0..<16 {
            let reply = try await gateway.send(.POST, "/v1/chat/completions", body: #"{"model":"gpt-4o-mini"}"#)
            #expect(reply.status == 200)
            ids.append(try #require(reply.headers.first(name: "helicone-id")))
        }
        var inDatabase = 0
        var inBucket = 0
        for id in ids {
            let record = try await gateway.record(id, timeout: .seconds(30))
            let url = try #require(record["request_response_url"] as? String)
            if url.hasPrefix(gateway.baseURL) {
                inDatabase += 1
                let bodies = try await gateway.send(.GET, String(url.dropFirst(gateway.baseURL.count)))
                #expect(bodies.status == 200 && bodies.text.contains("Hello there"), "a body kept in the database is served at its URL")
            } else {
                inBucket += 1
                #expect(url.hasPrefix(bucket.baseURL + "/bodies/"), "an uploaded body's URL is a presigned URL of the bucket")
            }
        }
        #expect(inDatabase > 0 && inBucket > 0, "in database \(inDatabase), in the bucket \(inBucket)")
        let metrics = try await gateway.send(.GET, "/metrics").text
        #expect(MetricsTests.sample(metrics, "tollgate_body_uploads_skipped_total", [:]) == Double(inDatabase))
        #expect(MetricsTests.sample(metrics, "tollgate_records_dropped_total", [:]) == nil)
        try await gateway.stop()
        try await bucket.stop()
        try await provider.stop()
    }
}
