import Yams

/// What a model costs, in USD per million tokens.
public struct ModelPrice: Sendable, Equatable {
    /// Uncached input tokens.
    public var input: Double
    /// Output tokens (reasoning included).
    public var output: Double
    /// Input tokens read from the prompt cache. Defaults to `input` when the table gives none
    /// (a provider that does not discount cache hits).
    public var cacheRead: Double
    /// Input tokens written to a 5-minute cache. Defaults to 1.25 × `input`, Anthropic's rate.
    /// Only Anthropic-format usage has cache writes (OpenAI caches for free), so the default
    /// never affects other providers.
    public var cacheWrite5m: Double
    /// Input tokens written to a 1-hour cache. Defaults to 2 × `input`, Anthropic's rate.
    public var cacheWrite1h: Double

    public init(input: Double, output: Double, cacheRead: Double? = nil, cacheWrite5m: Double? = nil, cacheWrite1h: Double? = nil) {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead ?? input
        self.cacheWrite5m = cacheWrite5m ?? input * 1.25
        self.cacheWrite1h = cacheWrite1h ?? input * 2
    }
}

/// Model prices loaded from `conf/pricing.yaml`, and the cost of a call.
///
/// Each entry names a model and how it matches (`exact`, the default, or `prefix`, so that
/// `gpt-4o-mini` also prices `gpt-4o-mini-2024-07-18`), optionally only for one provider. For a
/// lookup, an exact match beats any prefix, a longer prefix beats a shorter one (so
/// `gpt-4o-mini-…` is not priced as `gpt-4o`), and at equal strength an entry for the provider
/// beats one for any provider. Model names compare case-insensitively. A model no entry
/// matches has no price, and its cost is nil — never a silent zero.
public struct PricingTable: Sendable {
    /// One priced model as written in the table.
    public struct Entry: Sendable, Equatable {
        /// The model name or prefix, lowercased.
        public var model: String
        /// True for `match: prefix`.
        public var prefix: Bool
        /// The only provider name (lowercased) this entry applies to; nil for any.
        public var provider: String?
        /// The price, with defaults filled in.
        public var price: ModelPrice
        /// Where the price was read.
        public var source: String?
        /// When the price was read (`YYYY-MM-DD`).
        public var readOn: String?
    }

    /// Why a pricing file was rejected.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The entries in file order.
    public private(set) var entries: [Entry]

    /// Parses the YAML table: a top-level `models:` list of entries with `model`, `match`
    /// (`exact` | `prefix`), `provider`, `input`, `output`, `cache_read`, `cache_write_5m`
    /// (or `cache_write`), `cache_write_1h`, `source`, `read_on`.
    public init(yaml: String) throws {
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: yaml)
        } catch {
            throw LoadError(message: "pricing table is not valid: \(error)")
        }
        entries = try file.models.map { row in
            let match = row.match?.lowercased() ?? "exact"
            guard match == "exact" || match == "prefix" else {
                throw LoadError(message: "pricing entry \(row.model): match must be exact or prefix, not \(match)")
            }
            return Entry(
                model: row.model.lowercased(), prefix: match == "prefix", provider: row.provider?.lowercased(),
                price: ModelPrice(input: row.input, output: row.output, cacheRead: row.cacheRead,
                                  cacheWrite5m: row.cacheWrite5m ?? row.cacheWrite, cacheWrite1h: row.cacheWrite1h),
                source: row.source, readOn: row.readOn
            )
        }
    }

    /// The price of `model` when served by `provider`, or nil when no entry matches.
    public func price(provider: String, model: String) -> ModelPrice? {
        let model = model.lowercased()
        let provider = provider.lowercased()
        var best: (entry: Entry, rank: (Int, Int, Int))?
        for entry in entries {
            if let only = entry.provider, only != provider { continue }
            let matches = entry.prefix ? model.hasPrefix(entry.model) : model == entry.model
            guard matches else { continue }
            let rank = (entry.prefix ? 0 : 1, entry.model.count, entry.provider == nil ? 0 : 1)
            if best == nil || rank > best!.rank { best = (entry, rank) }
        }
        return best?.entry.price
    }

    /// The cost in USD of a call, or nil when the model has no price.
    ///
    /// cost = (uncached input × input + cache reads × cacheRead + 5m writes × cacheWrite5m +
    /// 1h writes × cacheWrite1h + output × output) / 1e6. `TokenUsage` counts cache tokens inside
    /// input for both providers, so the same formula holds for each. For OpenAI-format
    /// providers, which do not bill cache writes separately, any cache writes are charged at the
    /// input price.
    public func cost(provider: String, format: APIFormat, model: String, usage: TokenUsage) -> Double? {
        guard let price = price(provider: provider, model: model) else { return nil }
        let write5m = format == .anthropic ? price.cacheWrite5m : price.input
        let write1h = format == .anthropic ? price.cacheWrite1h : price.input
        let micro = Double(usage.uncachedInputTokens) * price.input
            + Double(usage.cacheReadTokens) * price.cacheRead
            + Double(usage.cacheWrite5mTokens) * write5m
            + Double(usage.cacheWrite1hTokens) * write1h
            + Double(usage.outputTokens) * price.output
        return micro / 1_000_000
    }

    private struct File: Decodable {
        var models: [Row]
    }

    private struct Row: Decodable {
        var model: String
        var match: String?
        var provider: String?
        var input: Double
        var output: Double
        var cacheRead: Double?
        var cacheWrite: Double?
        var cacheWrite5m: Double?
        var cacheWrite1h: Double?
        var source: String?
        var readOn: String?

        enum CodingKeys: String, CodingKey {
            case model, match, provider, input, output, source
            case cacheRead = "cache_read"
            case cacheWrite = "cache_write"
            case cacheWrite5m = "cache_write_5m"
            case cacheWrite1h = "cache_write_1h"
            case readOn = "read_on"
        }
    }
}
