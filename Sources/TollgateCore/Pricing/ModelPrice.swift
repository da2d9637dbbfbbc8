/// One model's prices as the price map gives them: LiteLLM's field names
/// (`input_cost_per_token`, `cache_read_input_token_cost_above_272k_tokens_flex`, …), in USD per
/// token, read as is.
public struct ModelPrice: Sendable, Equatable {
    /// The map's name for the model, as written there.
    public var name: String
    /// LiteLLM's provider name (`openai`, `anthropic`, `groq`, …), when the map gives one.
    public var litellmProvider: String?
    /// `chat`, `completion`, `responses`, `embedding`, … when the map gives one.
    public var mode: String?
    /// Where the entry was read: the embedded snapshot, a file, or `pricing.overrides`.
    public var origin: String
    /// Every numeric price field of the entry, USD per token.
    public var costs: [String: Double] {
        didSet { tiering = Tiering(costs) }
    }
    /// Multiples of the whole price the map gives in `provider_specific_entry`: Anthropic's
    /// `us` (US-only inference) and `fast` (fast mode).
    public var multipliers: [String: Double]
    /// The provider's pricing page, when the map names one.
    public var source: String?
    /// When the provider retires the model, when the map says (`YYYY-MM-DD`).
    public var deprecationDate: String?
    /// What `rates` needs of `costs` on every call, worked out once.
    private var tiering: Tiering

    public init(name: String, litellmProvider: String? = nil, mode: String? = nil, origin: String, costs: [String: Double],
                multipliers: [String: Double] = [:], source: String? = nil, deprecationDate: String? = nil) {
        self.name = name
        self.litellmProvider = litellmProvider
        self.mode = mode
        self.origin = origin
        self.costs = costs
        self.multipliers = multipliers
        self.source = source
        self.deprecationDate = deprecationDate
        tiering = Tiering(costs)
    }

    /// The entry's long-context thresholds (standard and per tier) and the service tiers it
    /// prices, read from the field names of `costs` once rather than on every call.
    private struct Tiering: Sendable, Equatable {
        struct Threshold: Sendable, Equatable {
            var key: String
            var tokens: Int
            var tier: ServiceTier?
        }

        var thresholds: [Threshold] = []
        var tiers: Set<ServiceTier> = []

        init(_ costs: [String: Double]) {
            for key in costs.keys {
                for tier in [nil, ServiceTier.flex, .priority] {
                    if let found = ModelPrice.threshold(in: key, tier: tier) {
                        thresholds.append(Threshold(key: found.0, tokens: found.1, tier: tier))
                        break
                    }
                }
                for tier in [ServiceTier.flex, .priority] where key.hasSuffix("_" + tier.rawValue) { tiers.insert(tier) }
            }
        }
    }

    /// Whether the entry prices tokens at all (image or per-second entries do not).
    public var pricesTokens: Bool {
        costs["input_cost_per_token"] != nil || costs["output_cost_per_token"] != nil
    }

    /// The multiple of its token cost a call is billed at: the map's multiplier for the region
    /// Anthropic says it ran in (`us`; `global` is the list price) times its multiplier for fast
    /// mode, each 1 when the answer does not say so or the map gives none.
    public func multiplier(for billing: BillingFacts) -> Double {
        var multiple = 1.0
        if let geo = billing.inferenceGeo?.lowercased(), geo != "global", geo != "not_available", let m = multipliers[geo] { multiple *= m }
        if billing.speed?.lowercased() == "fast", let m = multipliers["fast"] { multiple *= m }
        return multiple
    }

    /// The rates a call is billed at: its service tier's prices where the map has them, and the
    /// long-context prices once its input crosses a threshold the entry prices.
    ///
    /// Resolution follows LiteLLM's own cost calculator, so that a map read as is bills as its
    /// maintainers intend: for each kind of token, the tier's long-context price, else the
    /// standard long-context price, else the tier's price, else the standard price. A cache read
    /// or write the entry does not price costs what plain input costs (the provider does not
    /// discount it), a long-lived cache write with no price of its own costs a short-lived one,
    /// and audio or reasoning tokens with no price of their own cost what text costs.
    ///
    /// `inputTokens` is every input token, cache reads and writes included: that is what both
    /// providers compare with the threshold. OpenAI prices a GPT-5.4/5.5 prompt of more than
    /// 272K input tokens (cached ones count) at the long-context rates for the whole call;
    /// Anthropic applies its long-context rates once input tokens, including cache reads and
    /// writes, exceed 200K. Output and reasoning tokens never count toward the threshold. The
    /// comparison is "more than", except for xAI, which bills the higher tier from the threshold on.
    public func rates(inputTokens: Int, serviceTier: ServiceTier?) -> BilledRates {
        let tier = serviceTier.flatMap { tiering.tiers.contains($0) ? $0 : nil }
        let threshold = crossedThreshold(inputTokens: inputTokens, tier: tier)
        func rate(_ base: String) -> Double? {
            if let threshold {
                if let tier, let r = costs["\(base)_above_\(threshold.key)_tokens_\(tier.rawValue)"] { return r }
                if let r = costs["\(base)_above_\(threshold.key)_tokens"] { return r }
            }
            if let tier, let r = costs["\(base)_\(tier.rawValue)"] { return r }
            return costs[base]
        }
        let input = rate("input_cost_per_token") ?? 0
        let output = rate("output_cost_per_token") ?? 0
        let cacheWrite = rate("cache_creation_input_token_cost") ?? input
        // Anthropic's 1-hour writes are `…_above_1hr`, OpenAI's 12-hour writes `…_above_12hr`;
        // an entry has at most one of them.
        let longWrite = rate("cache_creation_input_token_cost_above_1hr") ?? rate("cache_creation_input_token_cost_above_12hr") ?? cacheWrite
        return BilledRates(
            input: input, output: output,
            cacheRead: rate("cache_read_input_token_cost") ?? input,
            cacheWrite: cacheWrite, cacheWriteLong: longWrite,
            audioInput: rate("input_cost_per_audio_token") ?? input,
            audioOutput: rate("output_cost_per_audio_token") ?? output,
            reasoning: rate("output_cost_per_reasoning_token") ?? output,
            longContextAbove: threshold?.tokens, serviceTier: tier
        )
    }

    /// The highest long-context threshold (`…_above_272k_tokens`) of the standard or the given
    /// tier's prices that `inputTokens` crosses.
    func crossedThreshold(inputTokens: Int, tier: ServiceTier?) -> (key: String, tokens: Int)? {
        var best: (key: String, tokens: Int)?
        let inclusive = litellmProvider == "xai"
        for threshold in tiering.thresholds where threshold.tier == nil || threshold.tier == tier {
            let crossed = inclusive ? inputTokens >= threshold.tokens : inputTokens > threshold.tokens
            if crossed, threshold.tokens > best?.tokens ?? -1 { best = (threshold.key, threshold.tokens) }
        }
        return best
    }

    private static let tieredPrefixes = [
        "input_cost_per_token_above_", "output_cost_per_token_above_",
        "cache_read_input_token_cost_above_", "cache_creation_input_token_cost_above_",
    ]

    /// `("272k", 272000)` for `input_cost_per_token_above_272k_tokens` (or its `_flex` form when
    /// `tier` is flex); nil for any other key, batch prices included.
    static func threshold(in key: String, tier: ServiceTier?) -> (String, Int)? {
        guard tieredPrefixes.contains(where: { key.hasPrefix($0) }), let range = key.range(of: "_above_", options: .backwards) else { return nil }
        var rest = key[range.upperBound...]
        if rest.hasSuffix("_tokens") {
            rest = rest.dropLast("_tokens".count)
        } else if let tier, rest.hasSuffix("_tokens_" + tier.rawValue) {
            rest = rest.dropLast("_tokens_".count + tier.rawValue.count)
        } else {
            return nil
        }
        let text = String(rest)
        if rest.hasSuffix("k"), let thousands = Int(rest.dropLast()) { return (text, thousands * 1000) }
        if let tokens = Int(rest) { return (text, tokens) }
        return nil
    }
}

/// A processing tier a provider reports in its answer (OpenAI's `service_tier`), when it has
/// prices of its own. `default`, `auto`, `scale` and Anthropic's `standard` bill at the
/// standard prices and so have no case here.
public enum ServiceTier: String, Sendable, Equatable {
    case flex
    case priority

    /// The tier a response's `service_tier` names, or nil for the standard prices.
    public init?(reported: String?) {
        guard let reported, let tier = ServiceTier(rawValue: reported.lowercased()) else { return nil }
        self = tier
    }
}

/// The per-token rates (USD) one call is billed at, after its tier and context length.
public struct BilledRates: Sendable, Equatable {
    public var input: Double
    public var output: Double
    public var cacheRead: Double
    /// A short-lived cache write: Anthropic's 5-minute, OpenAI's 30-minute.
    public var cacheWrite: Double
    /// A long-lived cache write: Anthropic's 1-hour, OpenAI's 12-hour.
    public var cacheWriteLong: Double
    public var audioInput: Double
    public var audioOutput: Double
    public var reasoning: Double
    /// The long-context threshold the call crossed, in tokens; nil below every threshold.
    public var longContextAbove: Int?
    /// The tier whose prices were used; nil for the standard prices.
    public var serviceTier: ServiceTier?

    /// The cost in USD of `usage` at these rates.
    ///
    /// Input: cache reads, short and long cache writes and uncached audio at their rates, the
    /// remaining input at the input rate (`TokenUsage` counts all of them inside `inputTokens`).
    /// Output: reasoning and audio tokens at their rates, the rest at the output rate.
    public func cost(of usage: TokenUsage) -> Double {
        let cacheTokens = usage.cacheReadTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens
        let uncached = max(0, usage.inputTokens - cacheTokens)
        let audioIn = min(usage.audioInputTokens, uncached)
        let audioOut = min(usage.audioOutputTokens, usage.outputTokens)
        let reasoningTokens = min(usage.reasoningTokens, usage.outputTokens - audioOut)
        let text = Double(uncached - audioIn) * input + Double(audioIn) * audioInput
            + Double(usage.cacheReadTokens) * cacheRead
            + Double(usage.cacheWrite5mTokens) * cacheWrite + Double(usage.cacheWrite1hTokens) * cacheWriteLong
        let out = Double(usage.outputTokens - audioOut - reasoningTokens) * output
            + Double(reasoningTokens) * reasoning + Double(audioOut) * audioOutput
        return text + out
    }
}
