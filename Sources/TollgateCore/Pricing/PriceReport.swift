import Foundation

/// What `GET /v1/pricing/{model}` and `tollgate pricing MODEL` say about a model: which entry
/// prices it, how the name matched, and the rates a call is billed at, in USD per million tokens.
public enum PriceReport {
    /// The report of `model` served by `provider`, or nil when it is unpriced.
    public static func json(model: String, provider: String, table: PricingTable) -> JSONValue? {
        guard let match = table.match(provider: provider, model: model) else { return nil }
        let price = match.price
        var longContext: [JSONValue] = []
        for tokens in thresholds(of: price) {
            let rates = price.rates(inputTokens: tokens + 1, serviceTier: nil)
            longContext.append(.object([("above_input_tokens", .number(Double(tokens))), ("usd_per_million_tokens", perMillion(rates))]))
        }
        var tiers: [(String, JSONValue)] = []
        for tier in [ServiceTier.flex, .priority] {
            let rates = price.rates(inputTokens: 0, serviceTier: tier)
            if rates.serviceTier == tier { tiers.append((tier.rawValue, perMillion(rates))) }
        }
        return .object([
            ("model", .string(model)),
            ("provider", .string(provider)),
            ("entry", .string(price.name)),
            ("match", .string(match.kind.rawValue)),
            ("origin", .string(price.origin)),
            ("litellm_provider", price.litellmProvider.map(JSONValue.string) ?? .null),
            ("mode", price.mode.map(JSONValue.string) ?? .null),
            ("source", price.source.map(JSONValue.string) ?? .null),
            ("deprecation_date", price.deprecationDate.map(JSONValue.string) ?? .null),
            ("usd_per_million_tokens", perMillion(price.rates(inputTokens: 0, serviceTier: nil))),
            ("long_context", .array(longContext)),
            ("service_tiers", .object(tiers)),
            ("multipliers", .object(price.multipliers.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.number($0.value)) })),
            ("map_entry", .object(price.costs.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.number($0.value)) })),
        ])
    }

    /// The long-context thresholds (tokens) of the entry's standard prices, lowest first.
    static func thresholds(of price: ModelPrice) -> [Int] {
        Set(price.costs.keys.compactMap { ModelPrice.threshold(in: $0, tier: nil)?.1 }).sorted()
    }

    static func perMillion(_ rates: BilledRates) -> JSONValue {
        func million(_ perToken: Double) -> JSONValue { .number(Double(String(format: "%.10g", perToken * 1_000_000)) ?? perToken * 1_000_000) }
        return .object([
            ("input", million(rates.input)),
            ("output", million(rates.output)),
            ("cache_read", million(rates.cacheRead)),
            ("cache_write", million(rates.cacheWrite)),
            ("cache_write_long", million(rates.cacheWriteLong)),
            ("audio_input", million(rates.audioInput)),
            ("audio_output", million(rates.audioOutput)),
            ("reasoning", million(rates.reasoning)),
        ])
    }
}
