import TollgateCore

/// The prices calls are billed with, over the snapshot built into the binary.
///
/// Keys: `pricing.path` (a newer copy of LiteLLM's price map, or a YAML list of prices),
/// `pricing.overrides` (maps: `model`, `provider`, USD per million tokens; see ``PriceOverride``;
/// the file only).
public struct PricingConfig: ConfigSection {
    /// A price file read over the embedded snapshot: LiteLLM's JSON map (entries replace the
    /// snapshot's of the same name) or a YAML `models:` list of prices. Nil: the snapshot alone.
    public var path: String?
    /// Prices that add or correct models for this deployment.
    public var overrides: [PriceOverride]

    enum Key {
        static let path = ConfigKey(
            "pricing.path", shown: "none: the built-in snapshot",
            "a newer `model_prices_and_context_window.json` read over the snapshot, or a YAML `models:` list of prices"
        )
        static let overrides = ConfigKey(
            "pricing.overrides", fromEnvironment: false,
            "`{model, provider, input, output, cache_read, …}` maps, USD per million tokens ([Prices](#prices))"
        )
    }

    static let keys = [Key.path, Key.overrides]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        path = v.optional(Key.path)
        do {
            overrides = try v.records(Key.overrides).map(PriceOverride.init(fields:))
        } catch let error as PricingTable.LoadError {
            throw ConfigError(error.message)
        }
    }
}
