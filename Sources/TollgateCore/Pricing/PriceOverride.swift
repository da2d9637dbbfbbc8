import Foundation

import Yams

/// One entry of `pricing.overrides`: prices, in USD per million tokens, that add a model the
/// map lacks or correct one it has, for one deployment.
///
/// Fields: `model` (required), `provider` (optional: only calls through that configured
/// provider), and any of `input`, `output`, `cache_read`, `cache_write` (or `cache_write_5m`:
/// Anthropic's 5-minute write, OpenAI's 30-minute write), `cache_write_1h` (Anthropic's 1-hour
/// write), `cache_write_12h` (OpenAI's 12-hour write), `audio_input`, `audio_output`,
/// `reasoning`. A new model needs at least `input` or `output`.
public struct PriceOverride: Sendable, Equatable {
    public var model: String
    public var provider: String?
    /// The prices as LiteLLM's fields, USD per token.
    public var costs: [String: Double]

    /// The override's per-million field names and the LiteLLM fields they set.
    public static let fields: [(name: String, litellm: String)] = [
        ("input", "input_cost_per_token"),
        ("output", "output_cost_per_token"),
        ("cache_read", "cache_read_input_token_cost"),
        ("cache_write", "cache_creation_input_token_cost"),
        ("cache_write_5m", "cache_creation_input_token_cost"),
        ("cache_write_1h", "cache_creation_input_token_cost_above_1hr"),
        ("cache_write_12h", "cache_creation_input_token_cost_above_12hr"),
        ("audio_input", "input_cost_per_audio_token"),
        ("audio_output", "output_cost_per_audio_token"),
        ("reasoning", "output_cost_per_reasoning_token"),
    ]

    /// The table key: `provider/model` for a provider's own override, else the model, lowercased.
    var key: String { (provider.map { $0 + "/" } ?? "") + model }

    public init(model: String, provider: String? = nil, costs: [String: Double]) {
        self.model = model.lowercased()
        self.provider = provider?.lowercased()
        self.costs = costs
    }

    /// Reads one override from its fields as written in YAML (values as text).
    public init(fields: [String: String]) throws {
        guard let model = fields["model"]?.trimmingCharacters(in: .whitespaces), !model.isEmpty else {
            throw PricingTable.LoadError(message: "pricing.overrides: every entry needs a 'model'")
        }
        self.model = model.lowercased()
        provider = fields["provider"].flatMap { $0.isEmpty ? nil : $0.lowercased() }
        costs = [:]
        let known = Set(Self.fields.map { $0.name }).union(["model", "provider", "source", "read_on"])
        if let match = fields["match"], match.lowercased() != "exact" {
            throw PricingTable.LoadError(message: "pricing.overrides \(model): match '\(match)' is no longer supported; name each model (dated snapshots of a name match it)")
        }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) where !known.contains(name) && name != "match" {
            throw PricingTable.LoadError(message: "pricing.overrides \(model): unknown field '\(name)' (known: \(Self.fields.map { $0.name }.joined(separator: ", ")); value \(value))")
        }
        for (name, litellm) in Self.fields {
            guard let raw = fields[name] else { continue }
            guard let perMillion = Double(raw.trimmingCharacters(in: .whitespaces)), perMillion >= 0 else {
                throw PricingTable.LoadError(message: "pricing.overrides \(model): \(name) must be a number of USD per million tokens, got '\(raw)'")
            }
            costs[litellm] = perMillion / 1_000_000
        }
        guard !costs.isEmpty else {
            throw PricingTable.LoadError(message: "pricing.overrides \(model): give at least one price (input, output, cache_read, …) in USD per million tokens")
        }
    }

    /// Reads overrides from a YAML file: a top-level `models:` (or `overrides:`) list of entries,
    /// the form of the `conf/pricing.yaml` tables of earlier versions.
    public static func list(yaml: String, source: String) throws -> [PriceOverride] {
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: yaml)
        } catch {
            throw PricingTable.LoadError(message: "\(source) is not valid YAML: \(error)")
        }
        guard let root = loaded as? [String: Any], let rows = (root["models"] ?? root["overrides"]) as? [Any] else {
            throw PricingTable.LoadError(message: "\(source) must have a top-level 'models:' list of prices")
        }
        return try rows.map { row in
            guard let map = row as? [String: Any] else { throw PricingTable.LoadError(message: "\(source): each entry must be a map") }
            do {
                return try PriceOverride(fields: map.mapValues { "\($0)" })
            } catch let error as PricingTable.LoadError {
                throw PricingTable.LoadError(message: "\(source): \(error.message)")
            }
        }
    }
}
