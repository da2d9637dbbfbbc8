import Testing
import TollgateCore

@Suite struct ManagementPathsTests {
    static let paths: ManagementPaths = {
        var paths = ManagementPaths()
        for route in ["/healthz", "/metrics", "/v1/requests", "/v1/requests/{id}", "/v1/requests/{id}/scores", "/v1/stats",
                      "/v1/bodies/{id}", "/v1/webhooks", "/v1/webhooks/{id}/deliveries/{delivery}/resend", "/v1/webhooks/:id/test"] {
            paths.claim(route: route)
        }
        return paths
    }()

    @Test func aRouteClaimsItsLiteralSegmentsBeforeTheFirstParameter() {
        #expect(Self.paths.claims == ["/healthz", "/metrics", "/v1/requests", "/v1/stats", "/v1/bodies", "/v1/webhooks"])
    }

    @Test(arguments: [
        ("/v1/webhooks", "/v1/webhooks"), ("/v1//webhooks", "/v1/webhooks"), ("/v1/./webhooks", "/v1/webhooks"),
        ("/v1/%77ebhooks", "/v1/webhooks"), ("/v1/webhooks/", "/v1/webhooks"), ("/v1/chat/../webhooks", "/v1/webhooks"),
        ("/openai/../v1/webhooks", "/v1/webhooks"), ("/v1/%2e/webhooks", "/v1/webhooks"), ("/v1/%2E%2E/v1/stats", "/v1/stats"),
        ("//v1///webhooks//x//", "/v1/webhooks/x"), ("/../../v1/stats", "/v1/stats"), ("/v1/Webhooks", "/v1/Webhooks"),
        ("/V1/STATS", "/V1/STATS"), ("/v1/Requests/abc", "/v1/Requests/abc"), ("/v1/bodies", "/v1/bodies"), ("/healthz/", "/healthz"),
        ("/v1/webhooks/%41%2Fx", "/v1/webhooks/A%2Fx"),
    ])
    func everySpellingOfAManagementPathIsRoutedToTheAPINormalised(path: String, routed: String) {
        #expect(Self.paths.route(path) == routed)
    }

    @Test(arguments: ["/v1/chat/completions", "/openai/v1/webhooks", "/anthropic/v1/messages", "/v1/webhooksx", "/v1/requests-log",
                      "/v1/webhooks/../chat/completions", "/v1%2Fwebhooks", "/", "", "/v1", "/v1/models/gpt-4o", "/v1/sta%74s2"])
    func providerPathsGoToTheProvider(path: String) {
        #expect(Self.paths.route(path) == nil)
    }

    @Test(arguments: [
        ("/v1/chat/completions", "/v1/chat/completions"), ("/", "/"), ("", "/"), ("//", "/"), ("/a/b/..", "/a"), ("/a/./b/.", "/a/b"),
        ("/a/.../b", "/a/.../b"), ("/a/..b/c", "/a/..b/c"), ("/%7Euser/%20x", "/~user/%20x"), ("/a%", "/a%"), ("/a%zz%4", "/a%zz%4"),
        ("/..", "/"), ("a/b", "/a/b"),
    ])
    func pathsAreNormalisedAsRFC3986Says(path: String, normal: String) {
        #expect(ManagementPaths.normalize(path) == normal)
    }

    @Test func hostileBytesInAPathDoNotCrashTheNormaliser() {
        let odd = "/v1/\u{0}/%ff%fe/\u{FFFF}/" + String(repeating: "../", count: 10_000) + String(repeating: "%", count: 1000)
        #expect(ManagementPaths.normalize(odd).hasPrefix("/"))
        #expect(Self.paths.route(odd) == nil)
    }
}
