/// What an answer says about how it is billed, besides its tokens.
public struct BillingFacts: Sendable, Equatable {
    /// The processing tier that served the call (`service_tier`): OpenAI's `default`, `flex`,
    /// `priority`; Anthropic's `standard`, `priority` (inside `usage`).
    public var serviceTier: String?
    /// Where Anthropic ran the call (`usage.inference_geo`: `us`, `global`); US-only inference
    /// costs a multiple of the list price for the models the map says so of.
    public var inferenceGeo: String?
    /// Anthropic's fast mode (`usage.speed: "fast"`), a multiple of the list price where priced.
    public var speed: String?

    public init(serviceTier: String? = nil, inferenceGeo: String? = nil, speed: String? = nil) {
        self.serviceTier = serviceTier
        self.inferenceGeo = inferenceGeo
        self.speed = speed
    }

    /// Reads them from a whole answer (or a stream's rebuilt one): top-level for OpenAI, inside
    /// `usage` for Anthropic.
    public init(answer: JSONValue?) {
        let usage = answer?["usage"]
        self.init(
            serviceTier: answer?["service_tier"]?.stringValue ?? usage?["service_tier"]?.stringValue,
            inferenceGeo: usage?["inference_geo"]?.stringValue,
            speed: usage?["speed"]?.stringValue
        )
    }
}
