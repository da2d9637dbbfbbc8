import Foundation
import Testing

@Suite("Scores")
struct ScoreTests {
    @Test("scores posted for a call show on it and filter the listing; another project's admin key cannot score it")
    func scoresRoundTrip() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.auth.gatewayKeys = [.init(key: "gk-a", project: "a")]
            config.admin.projectKeys = [.init(key: "admin-a", project: "a"), .init(key: "admin-b", project: "b")]
        }
        var ids: [String] = []
        for _ in 0..<2 {
            let reply = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Auth", "Bearer gk-a")])
            let id = try #require(reply.headers.first(name: "helicone-id"))
            _ = try await gateway.record(id)
            ids.append(id)
        }
        let posted = try await gateway.admin("/v1/requests/\(ids[0])/scores", .POST, body: #"{"scores": {"helpfulness": 0.8, "pii": false}}"#, key: "admin-a")
        #expect(posted.status == 200)
        _ = try await gateway.admin("/v1/requests/\(ids[1])/scores", .POST, body: #"{"scores": {"helpfulness": 0.3}}"#, key: "admin-a")
        let record = try await gateway.record(ids[0])
        #expect((record["scores"] as? [String: Any])?["helpfulness"] as? Double == 0.8)
        #expect((record["scores"] as? [String: Any])?["pii"] as? Bool == false)

        let filtered = try await gateway.admin("/v1/requests?score.helpfulness=0.8").json?["data"] as? [[String: Any]]
        #expect(filtered?.map { $0["id"] as? String } == [ids[0]])
        let byBool = try await gateway.admin("/v1/requests?score.pii=false").json?["data"] as? [[String: Any]]
        #expect(byBool?.map { $0["id"] as? String } == [ids[0]])

        let foreign = try await gateway.admin("/v1/requests/\(ids[0])/scores", .POST, body: #"{"scores": {"x": 1}}"#, key: "admin-b")
        #expect(foreign.status == 404)
        let bad = try await gateway.admin("/v1/requests/\(ids[0])/scores", .POST, body: #"{"scores": {"x": "high"}}"#)
        #expect(bad.status == 400)
        let foreignList = try await gateway.admin("/v1/requests", key: "admin-b").json?["data"] as? [Any]
        #expect(foreignList?.isEmpty == true)
        try await gateway.stop()
        try await provider.stop()
    }
}
