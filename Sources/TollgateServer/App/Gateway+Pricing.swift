import Foundation
import TollgateCore

extension Gateway {
    /// The prices the gateway bills with: the snapshot compiled into the binary, then the file
    /// at `pricing.path` if set (LiteLLM's JSON map, whose entries replace the snapshot's of the
    /// same name, or a YAML `models:` list of prices in USD per million tokens), then
    /// `pricing.overrides`. Needs no file: a binary copied alone prices calls.
    public static func loadPricing(_ config: GatewayConfig) throws -> PricingTable {
        var table = PricingTable.embedded
        do {
            if let path = config.pricing.path {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ConfigError("pricing.path: cannot read \(path) (unset pricing.path or TOLLGATE_PRICING_PATH to use the built-in prices)")
                }
                if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
                    table.apply(try PriceOverride.list(yaml: String(decoding: data, as: UTF8.self), source: path), origin: path)
                } else {
                    table.merge(try PricingTable(litellmJSON: Array(data), origin: path))
                }
            }
            table.apply(config.pricing.overrides)
        } catch let error as PricingTable.LoadError {
            throw ConfigError(error.message)
        }
        return table
    }
}
