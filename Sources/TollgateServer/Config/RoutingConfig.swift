import TollgateCore

/// Where calls go: the providers by name, the one for paths without a provider prefix, and the
/// origins `Helicone-Target-URL` may name.
///
/// Keys: `providers.<name>.base_url`, `providers.<name>.format` (`openai` | `anthropic`),
/// `routing.default_provider`, `routing.allowed_target_urls`.
public struct RoutingConfig: ConfigSection {
    /// The configured providers, sorted by name; `openai` and `anthropic` unless changed.
    public var providers: [ProviderRoute]
    public var defaultProvider: String
    public var allowedTargetURLs: [String]

    /// The providers every gateway knows before its file adds or changes any.
    static let builtInProviders = [
        ProviderRoute(name: "anthropic", origin: Origin("https://api.anthropic.com")!, format: .anthropic),
        ProviderRoute(name: "openai", origin: Origin("https://api.openai.com")!, format: .openai),
    ]

    enum Key {
        static let baseURL = ConfigKey(
            "providers.<name>.base_url", shown: "`openai`: `https://api.openai.com`, `anthropic`: `https://api.anthropic.com`",
            "a provider's origin (and base path); a new name adds a provider"
        )
        static let format = ConfigKey("providers.<name>.format", shown: "`openai`", "`openai` or `anthropic` (`anthropic` for the built-in `anthropic`)")
        static let defaultProvider = ConfigKey("routing.default_provider", default: "openai", "where `/v1/...` without a provider prefix goes")
        static let allowedTargetURLs = ConfigKey(
            "routing.allowed_target_urls", "origins `Helicone-Target-URL` may name, e.g. `https://api.groq.com`"
        )
    }

    static let keys = [Key.baseURL, Key.format, Key.defaultProvider, Key.allowedTargetURLs]

    public init() { self = .defaults }

    init(_ v: ConfigValues) throws {
        var routes = Dictionary(Self.builtInProviders.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in v.childNames(of: "providers") {
            let existing = routes[name]
            let rawURL = v.string("providers.\(name).base_url") ?? existing?.origin.origin
            guard let rawURL else { throw ConfigError("providers.\(name).base_url is missing") }
            guard let origin = Origin(rawURL) else { throw ConfigError("providers.\(name).base_url must be an http(s) URL, got '\(rawURL)'") }
            let rawFormat = v.string("providers.\(name).format") ?? existing?.format.rawValue ?? "openai"
            guard let format = APIFormat(rawValue: rawFormat) else {
                throw ConfigError("providers.\(name).format must be openai or anthropic, got '\(rawFormat)'")
            }
            routes[name] = ProviderRoute(name: name, origin: origin, format: format)
        }
        providers = routes.values.sorted { $0.name < $1.name }
        defaultProvider = v.string(Key.defaultProvider)
        guard routes[defaultProvider] != nil else { throw ConfigError("routing.default_provider '\(defaultProvider)' is not a configured provider") }
        allowedTargetURLs = v.list(Key.allowedTargetURLs)
        for url in allowedTargetURLs where Origin(url) == nil {
            throw ConfigError("routing.allowed_target_urls: '\(url)' is not an http(s) origin")
        }
    }
}
