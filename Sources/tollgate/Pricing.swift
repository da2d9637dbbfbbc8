import ArgumentParser
import Foundation
import TollgateCore
import TollgateServer

/// `tollgate pricing MODEL`: which entry prices a model and at what rates, read from the same
/// prices `serve` would use (the embedded snapshot, `pricing.path`, `pricing.overrides`), with
/// no gateway running, so an operator can check before traffic flows.
struct Pricing: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show which price entry a model matches and its rates (USD per million tokens).",
        discussion: """
            Exits 1 when the model has no price (its calls would be recorded with cost_usd null). \
            The prices are the snapshot built into this binary, then pricing.path and \
            pricing.overrides of --config and TOLLGATE_* variables, as `tollgate serve` reads them.
            """
    )

    @Argument(help: "The model name as the provider reports it, e.g. gpt-5.5 or claude-opus-4-7-20260416.")
    var model: String

    @Option(help: "The configured provider the call goes through (decides provider/model entries).")
    var provider: String?

    @Option(name: .shortAndLong, help: "Path of a YAML config file (see conf/tollgate.yaml).")
    var config: String?

    @Flag(help: "Print the JSON that GET /v1/pricing/{model} answers.")
    var json = false

    func run() throws {
        let settings: GatewayConfig
        let table: PricingTable
        do {
            settings = try GatewayConfig.load(path: config)
            table = try Gateway.loadPricing(settings)
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
        let provider = provider ?? settings.routing.defaultProvider
        guard let report = PriceReport.json(model: model, provider: provider, table: table) else {
            print("\(model): no price (provider \(provider)). Calls to it are recorded with cost_usd null and counted in tollgate_unpriced_requests_total; add it under pricing.overrides.")
            print("prices: \(table.origins.joined(separator: "; "))")
            throw ExitCode(1)
        }
        if json {
            print(report.serializedString())
            return
        }
        func text(_ value: JSONValue?) -> String {
            switch value {
            case .string(let s)?: s
            case .number(let n)?: JSONWriter.javaScriptString(n)
            default: "-"
            }
        }
        func rates(_ value: JSONValue?) -> String {
            (value?.objectValue ?? []).map { "\($0.0) \(text($0.1))" }.joined(separator: ", ")
        }
        print("\(model) (provider \(provider)) is priced by entry \(text(report["entry"])) [\(text(report["match"]))]")
        print("  from:    \(text(report["origin"]))")
        print("  map:     litellm_provider \(text(report["litellm_provider"])), mode \(text(report["mode"])), source \(text(report["source"]))")
        if let date = report["deprecation_date"]?.stringValue { print("  retires: \(date)") }
        print("  USD per million tokens: \(rates(report["usd_per_million_tokens"]))")
        for tier in report["long_context"]?.arrayValue ?? [] {
            print("  above \(text(tier["above_input_tokens"])) input tokens: \(rates(tier["usd_per_million_tokens"]))")
        }
        for (name, tier) in report["service_tiers"]?.objectValue ?? [] {
            print("  service_tier \(name): \(rates(tier))")
        }
        if let multiples = report["multipliers"], multiples.objectValue?.isEmpty == false {
            print("  whole-call multiples (Anthropic us = US-only inference, fast = fast mode): \(rates(multiples))")
        }
    }
}
