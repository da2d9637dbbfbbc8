import Foundation
import Testing
import TollgateCore

@Suite struct WebhookRuleTests {
    static let docFilter: JSONValue = ["environment": "production", "userId": "user-123"]

    static func rule(filters: [Property] = [], sampleRate: Double = 100, enabled: Bool = true) -> WebhookRule {
        WebhookRule(id: UUID(uuidString: "6f1c2b9e-0d4a-4c1b-9a7e-3b5d8c2f1a00")!, project: "default",
                    sampleRate: sampleRate, propertyFilters: filters, enabled: enabled)
    }

    /// The properties Helicone's doc example request carries, read the way the gateway reads them.
    static func docRequestProperties() throws -> [Property] {
        try GatewayHeaders.parse([
            (name: "Helicone-Property-Environment", value: "production"),
            (name: "Helicone-Property-UserId", value: "user-123"),
        ]).properties
    }

    @Test func theDocsExampleRequestTriggersTheDocsExampleFilter() throws {
        let properties = try Self.docRequestProperties()
        #expect(properties == [Property(name: "Environment", value: "production"), Property(name: "UserId", value: "user-123")])
        let rule = Self.rule(filters: try PropertyFilters.parse(Self.docFilter))
        #expect(rule.matches(project: "default", properties: properties))
    }

    @Test func aValueDifferingOnlyInCaseDoesNotTrigger() throws {
        let rule = Self.rule(filters: try PropertyFilters.parse(Self.docFilter))
        #expect(!rule.matches(project: "default", properties: [
            Property(name: "Environment", value: "Production"), Property(name: "UserId", value: "user-123"),
        ]))
    }

    @Test func aRequestMissingOneFilteredPropertyDoesNotTrigger() throws {
        let rule = Self.rule(filters: try PropertyFilters.parse(Self.docFilter))
        #expect(!rule.matches(project: "default", properties: [Property(name: "Environment", value: "production")]))
        #expect(!rule.matches(project: "default", properties: []))
    }

    @Test func extraRequestPropertiesDoNotStopAWebhook() throws {
        let rule = Self.rule(filters: [Property(name: "environment", value: "production")])
        #expect(rule.matches(project: "default", properties: [
            Property(name: "Team", value: "search"), Property(name: "ENVIRONMENT", value: "production"),
        ]))
    }

    @Test func aWebhookWithoutFiltersTriggersForEveryRequestOfItsProject() {
        #expect(Self.rule().matches(project: "default", properties: []))
    }

    @Test func aDisabledWebhookNeverTriggers() {
        #expect(!Self.rule(enabled: false).matches(project: "default", properties: []))
    }

    @Test func anotherProjectsRequestsNeverTrigger() {
        #expect(!Self.rule().matches(project: "other", properties: []))
    }

    @Test func sampleRateZeroNeverSendsAndHundredAlwaysDoes() {
        let none = Self.rule(sampleRate: 0), all = Self.rule(sampleRate: 100)
        for _ in 0..<2_000 {
            let id = UUID()
            #expect(!none.samples(requestID: id))
            #expect(all.samples(requestID: id))
        }
    }

    @Test(arguments: [(50.0, 4_700...5_300), (12.5, 1_130...1_370), (1.0, 60...140)])
    func aSampleRateSendsThatShareOfRequests(rate: Double, expected: ClosedRange<Int>) {
        let rule = Self.rule(sampleRate: rate)
        let sent = (0..<10_000).count { _ in rule.samples(requestID: UUID()) }
        #expect(expected.contains(sent), "\(sent) of 10,000 sampled at \(rate)%")
    }

    @Test func aReSentRequestGetsTheSameSamplingAnswer() {
        let rule = Self.rule(sampleRate: 50)
        for _ in 0..<500 {
            let id = UUID()
            #expect(rule.samples(requestID: id) == rule.samples(requestID: id))
        }
    }

    @Test func theSamplingAnswerIsFixedByTheWebhookAndRequestIDs() {
        // At 50% a request is in when the first bit of SHA-256(webhook id bytes + request id bytes)
        // is 0; these were computed with Python's hashlib. A change here re-rolls every sampling.
        let rule = Self.rule(sampleRate: 50)
        let ids = (0..<16).map { UUID(uuidString: String(format: "00000000-0000-4000-8000-%012x", $0))! }
        #expect(ids.map { rule.samples(requestID: $0) ? "1" : "0" }.joined() == "0011000010101101")
    }

    @Test func twoWebhooksAtFiftyPercentSampleIndependently() {
        let a = Self.rule(sampleRate: 50)
        let b = WebhookRule(id: UUID(), project: "default", sampleRate: 50, propertyFilters: [], enabled: true)
        let both = (0..<10_000).map { _ in UUID() }.count { a.samples(requestID: $0) && b.samples(requestID: $0) }
        #expect((2_250...2_750).contains(both), "\(both) of 10,000 sampled by both")
    }
}

@Suite struct PropertyFiltersTests {
    @Test func theArrayFormIsRead() throws {
        let filters = try PropertyFilters.parse([["key": "environment", "value": "production"], ["key": "Team", "value": "search"]])
        #expect(filters == [Property(name: "environment", value: "production"), Property(name: "Team", value: "search")])
    }

    @Test func theDocsMapFormIsRead() throws {
        #expect(try PropertyFilters.parse(["environment": "production", "userId": "user-123"])
            == [Property(name: "environment", value: "production"), Property(name: "userId", value: "user-123")])
    }

    @Test func nullOrAbsentMeansNoFilters() throws {
        #expect(try PropertyFilters.parse(nil) == [])
        #expect(try PropertyFilters.parse(.null) == [])
        #expect(try PropertyFilters.parse([]) == [])
        #expect(try PropertyFilters.parse([:]) == [])
    }

    @Test func numberAndBooleanValuesMatchTheirHeaderText() throws {
        #expect(try PropertyFilters.parse(["tier": 5, "beta": true, "ratio": 0.5])
            == [Property(name: "tier", value: "5"), Property(name: "beta", value: "true"), Property(name: "ratio", value: "0.5")])
        #expect(try PropertyFilters.parse([["key": "tier", "value": 5]]) == [Property(name: "tier", value: "5")])
    }

    @Test(arguments: [
        (["env": ["prod"]], #"propertyFilters.env value must be a string, number or boolean, got ["prod"]"#),
        (["env": nil], "propertyFilters.env value must be a string, number or boolean, got null"),
        (["": "x"], "propertyFilters. has an empty property name"),
        ([["key": "env"]], "propertyFilters[0] value must be a string, number or boolean, got null"),
        ([["key": "a", "value": "b"], ["value": "x"]], #"propertyFilters[1] needs a string "key""#),
        (["env=prod"], #"propertyFilters[0] must be an object like {"key": "environment", "value": "production"}, got "env=prod""#),
        ("env=prod", #"propertyFilters must be an object like {"environment": "production"} or an array of {"key", "value"}, got "env=prod""#),
    ] as [(JSONValue, String)])
    func aBadFilterIsRefusedNamingTheEntry(_ value: JSONValue, _ message: String) {
        #expect(throws: WebhookConfigError(message: message)) { try PropertyFilters.parse(value) }
    }

    @Test func filtersAreReturnedInTheArrayForm() throws {
        let json = PropertyFilters.json([Property(name: "Environment", value: "production")])
        #expect(json.serializedString() == #"[{"key":"Environment","value":"production"}]"#)
        #expect(try PropertyFilters.parse(json) == [Property(name: "Environment", value: "production")])
    }
}
