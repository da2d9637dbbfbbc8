import Foundation

/// Model prices and the cost of a call.
///
/// The prices are LiteLLM's `model_prices_and_context_window.json`, read as is: the snapshot
/// compiled into the binary (``PriceSnapshot``), optionally a newer copy of the file
/// (`pricing.path`), and `pricing.overrides` on top. Matching is strict (see ``match(provider:model:)``):
/// a model the map does not name is unpriced, its cost nil — never a silent zero, never the price
/// of a sibling.
public struct PricingTable: Sendable {
    /// Why a price file was rejected.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    /// The entries by lowercased name.
    public private(set) var models: [String: ModelPrice]
    /// Where the prices came from, in the order they were applied (snapshot, file, overrides).
    public private(set) var origins: [String]

    /// A table with no prices.
    public init() {
        models = [:]
        origins = []
    }

    /// Reads a price map in LiteLLM's format: an object from model name to an entry with
    /// `litellm_provider`, `mode`, `*_cost*` fields in USD per token and `provider_specific_entry`
    /// multipliers (Anthropic's `us` inference and `fast` mode). Entries that price no
    /// tokens (images, seconds of audio) and the map's `sample_spec` are left out.
    public init(litellmJSON: some Collection<UInt8>, origin: String) throws {
        let json: JSONValue
        do {
            json = try JSONParser.parse(litellmJSON)
        } catch {
            throw LoadError(message: "\(origin) is not valid JSON: \(error)")
        }
        guard let members = json.objectValue else { throw LoadError(message: "\(origin) must be a JSON object of model names to prices") }
        var models: [String: ModelPrice] = [:]
        models.reserveCapacity(members.count)
        for (name, entry) in members where name != "sample_spec" {
            guard let fields = entry.objectValue else { continue }
            var costs: [String: Double] = [:]
            for (key, value) in fields where key.contains("cost") {
                if let number = value.doubleValue {
                    costs[key] = number
                } else if let text = value.stringValue, let number = Double(text) {
                    costs[key] = number  // LiteLLM accepts "3e-7" as well as 3e-7
                }
            }
            var multipliers: [String: Double] = [:]
            for (key, value) in entry["provider_specific_entry"]?.objectValue ?? [] {
                if let number = value.doubleValue { multipliers[key] = number }
            }
            let price = ModelPrice(
                name: name, litellmProvider: entry["litellm_provider"]?.stringValue, mode: entry["mode"]?.stringValue,
                origin: origin, costs: costs, multipliers: multipliers, source: entry["source"]?.stringValue,
                deprecationDate: entry["deprecation_date"]?.stringValue
            )
            if price.pricesTokens { models[name.lowercased()] = price }
        }
        guard !models.isEmpty else { throw LoadError(message: "\(origin) prices no models") }
        self.models = models
        origins = [origin]
    }

    /// Reads a price map from text.
    public init(litellmJSON text: String, origin: String) throws {
        try self.init(litellmJSON: Array(text.utf8), origin: origin)
    }

    /// The snapshot compiled into the binary, parsed once on first use.
    public static let embedded: PricingTable = {
        do {
            return try PricingTable(litellmJSON: PriceSnapshot.json, origin: "embedded snapshot (litellm \(PriceSnapshot.version), taken \(PriceSnapshot.takenOn))")
        } catch {
            fatalError("the embedded price snapshot does not parse: \(error); regenerate it with scripts/update-prices")
        }
    }()

    /// Adds `other`'s entries, replacing those of the same name (a newer copy of the map wins).
    public mutating func merge(_ other: PricingTable) {
        models.merge(other.models) { _, newer in newer }
        origins += other.origins
    }

    /// Applies `pricing.overrides`: each corrects the prices it names of an entry of that name
    /// (keeping the entry's other prices), or adds a model the map lacks. An override for one
    /// provider is stored as `provider/model`, which only calls through that provider match.
    public mutating func apply(_ overrides: [PriceOverride], origin: String = "pricing.overrides") {
        guard !overrides.isEmpty else { return }
        for override in overrides {
            let key = override.key
            if var existing = models[key] {
                existing.costs.merge(override.costs) { _, new in new }
                existing.origin = "\(origin) over \(existing.origin)"
                models[key] = existing
            } else {
                models[key] = ModelPrice(name: key, litellmProvider: override.provider, origin: origin, costs: override.costs)
            }
        }
        origins.append(origin)
    }

    /// Which entry prices `model` when served by `provider` (a configured provider name), and how
    /// it matched; nil when none does.
    ///
    /// Tried in order: the name itself; the name with its provider qualifier removed
    /// (`openai/gpt-5.5`, `anthropic/…`, Bedrock's `anthropic.claude-…-v1:0` with an optional
    /// region such as `us.`); then either of those without a snapshot date (`-2025-08-07`,
    /// `-20250514`, `@20250514`). Each is looked up first as `provider/name` (the map's key for
    /// models of OpenAI-compatible hosts, such as `groq/llama-3.3-70b-versatile`, and the key of
    /// an override for one provider), then as the bare name. Names compare case-insensitively.
    /// Nothing else matches: `gpt-5.5` is not priced as `gpt-5`.
    public func match(provider: String, model: String) -> PriceMatch? {
        let qualifiers = ModelName.providerKeys(provider)
        func lookup(_ name: String, _ kind: PriceMatch.Kind) -> PriceMatch? {
            for qualifier in qualifiers {
                if let price = models[qualifier + "/" + name] { return PriceMatch(price: price, kind: kind) }
            }
            return models[name].map { PriceMatch(price: $0, kind: kind) }
        }
        let name = model.lowercased()
        if let found = lookup(name, .exact) { return found }
        let bare = ModelName.unqualified(name)
        if let bare, let found = lookup(bare, .providerQualified) { return found }
        if let base = ModelName.undated(name), let found = lookup(base, .datedSnapshot) { return found }
        if let bare, let base = ModelName.undated(bare), let found = lookup(base, .providerQualifiedDatedSnapshot) { return found }
        return nil
    }

    /// The cost in USD of a call, or nil when the model has no price.
    ///
    /// The rates come from ``ModelPrice/rates(inputTokens:serviceTier:)`` (service tier,
    /// long-context tier) and are applied by ``BilledRates/cost(of:)`` (cache reads, 5-minute and
    /// 1-hour cache writes, audio, reasoning as output); Anthropic's US-only inference and fast
    /// mode then multiply the whole call where the map prices them. An embedding has no output
    /// tokens and costs its input.
    public func cost(provider: String, model: String, usage: TokenUsage, billing: BillingFacts = BillingFacts()) -> Double? {
        guard let price = match(provider: provider, model: model)?.price else { return nil }
        let rates = price.rates(inputTokens: usage.inputTokens, serviceTier: ServiceTier(reported: billing.serviceTier))
        return rates.cost(of: usage) * price.multiplier(for: billing)
    }
}

/// How a model name found its entry.
public struct PriceMatch: Sendable, Equatable {
    public var price: ModelPrice
    public var kind: Kind

    public enum Kind: String, Sendable, Equatable {
        /// The map names the model (or `provider/model` for the provider serving it).
        case exact
        /// A dated snapshot (`gpt-5-2025-08-07`) of a name the map prices.
        case datedSnapshot = "dated_snapshot"
        /// A provider-qualified name (`openai/gpt-5.5`, `us.anthropic.claude-…-v1:0`).
        case providerQualified = "provider_qualified"
        /// A provider-qualified name of a dated snapshot.
        case providerQualifiedDatedSnapshot = "provider_qualified_dated_snapshot"
    }
}

/// The names a model name may be priced under; see ``PricingTable/match(provider:model:)``.
enum ModelName {
    /// LiteLLM's name for a configured provider, where it differs, used as the `provider/` key prefix.
    static let litellmProviders = ["together": "together_ai", "fireworks": "fireworks_ai", "mistralai": "mistral", "grok": "xai", "x-ai": "xai"]

    static func providerKeys(_ provider: String) -> [String] {
        let provider = provider.lowercased()
        if let other = litellmProviders[provider] { return [provider, other] }
        return [provider]
    }

    private static let qualifiers = ["openai/", "anthropic/", "text-completion-openai/"]
    private static let bedrockRegions = ["us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov."]

    /// `gpt-5.5` for `openai/gpt-5.5`; `claude-opus-4-7-20260416` for Bedrock's
    /// `us.anthropic.claude-opus-4-7-20260416-v1:0`; nil for a name with no qualifier.
    static func unqualified(_ name: String) -> String? {
        if let prefix = qualifiers.first(where: { name.hasPrefix($0) }) {
            let rest = String(name.dropFirst(prefix.count))
            return rest.isEmpty ? nil : rest
        }
        var rest = Substring(name)
        if let region = bedrockRegions.first(where: { rest.hasPrefix($0 + "anthropic.") }) { rest = rest.dropFirst(region.count) }
        guard rest.hasPrefix("anthropic."), rest.count > "anthropic.".count else { return nil }
        rest = rest.dropFirst("anthropic.".count)
        // Bedrock's model version: -v1:0, -v2:0, or -v1.
        if let dash = rest.range(of: "-v", options: .backwards) {
            let version = rest[dash.upperBound...]
            let parts = version.split(separator: ":", omittingEmptySubsequences: false)
            if !version.isEmpty, parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }) {
                rest = rest[..<dash.lowerBound]
            }
        }
        return String(rest)
    }

    /// The name without a trailing snapshot date (`-2025-08-07`, `-20250514`, `@20250514`), or
    /// nil when it has none.
    static func undated(_ name: String) -> String? {
        let chars = Array(name.utf8)
        func digits(_ range: Range<Int>) -> Bool { range.allSatisfy { chars[$0] >= 0x30 && chars[$0] <= 0x39 } }
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + Int(chars[$1] - 0x30) } }
        func plausible(_ y: Int, _ m: Int, _ d: Int) -> Bool { (2000...2099).contains(y) && (1...12).contains(m) && (1...31).contains(d) }
        let n = chars.count
        // -YYYY-MM-DD
        if n > 11, chars[n - 11] == UInt8(ascii: "-"), chars[n - 6] == UInt8(ascii: "-"), chars[n - 3] == UInt8(ascii: "-"),
           digits(n - 10 ..< n - 6), digits(n - 5 ..< n - 3), digits(n - 2 ..< n),
           plausible(number(n - 10 ..< n - 6), number(n - 5 ..< n - 3), number(n - 2 ..< n)) {
            return String(decoding: chars[..<(n - 11)], as: UTF8.self)
        }
        // -YYYYMMDD or @YYYYMMDD
        if n > 9, chars[n - 9] == UInt8(ascii: "-") || chars[n - 9] == UInt8(ascii: "@"), digits(n - 8 ..< n),
           plausible(number(n - 8 ..< n - 4), number(n - 4 ..< n - 2), number(n - 2 ..< n)) {
            return String(decoding: chars[..<(n - 9)], as: UTF8.self)
        }
        return nil
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
