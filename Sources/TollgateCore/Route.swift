/// An upstream origin: scheme, host, port and an optional base path, parsed once from config.
public struct Origin: Sendable, Equatable {
    public var scheme: String
    public var host: String
    public var port: Int
    /// Path prefix of the base URL without a trailing slash ("" for none).
    public var basePath: String

    /// Parses `http(s)://host[:port][/base]`; nil for anything else.
    public init?(_ url: String) {
        let lower = url.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        var rest = Substring(url.dropFirst(scheme.count + 3))
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        // Characters, not substrings: `contains(String)` goes through Foundation's slow search.
        if rest.contains(where: { $0 == "?" || $0 == "#" || $0 == "@" }) || path.contains(where: { $0 == "?" || $0 == "#" }) { return nil }
        var host = String(rest)
        var port = scheme == "https" ? 443 : 80
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
            host = String(rest[..<colon])
        }
        guard !host.isEmpty else { return nil }
        while path.hasSuffix("/") { path.removeLast() }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
        self.basePath = path
    }

    /// `scheme://host[:port]`, the port omitted when it is the scheme's default.
    public var origin: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? "\(scheme)://\(host)" : "\(scheme)://\(host):\(port)"
    }
}

/// A provider the gateway forwards to.
public struct ProviderRoute: Sendable, Equatable {
    public var name: String
    public var origin: Origin
    public var format: APIFormat

    public init(name: String, origin: Origin, format: APIFormat) {
        self.name = name
        self.origin = origin
        self.format = format
    }
}

/// Where one request goes.
public struct UpstreamTarget: Sendable, Equatable {
    public var provider: String
    public var format: APIFormat
    public var origin: Origin
    /// The path and query sent upstream (base path + the request's path after its prefix).
    public var pathAndQuery: String

    public var url: String { origin.origin + pathAndQuery }
}

/// Why a request could not be routed; the gateway answers with `status`.
public struct RouteError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let type: String
    public let message: String
    public var description: String { message }
}

/// Picks the upstream for a request path: a provider prefix, `/v1/...` for the default provider,
/// or an allow-listed `Helicone-Target-URL` origin.
public struct RoutingTable: Sendable {
    public var providers: [String: ProviderRoute]
    public var defaultProvider: String
    /// Origins that `Helicone-Target-URL` may name, in `Origin.origin` form.
    public var allowedTargetOrigins: Set<String>

    public init(providers: [ProviderRoute], defaultProvider: String = "openai", allowedTargetOrigins: [String] = []) {
        self.providers = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.defaultProvider = defaultProvider
        self.allowedTargetOrigins = Set(allowedTargetOrigins.compactMap { Origin($0)?.origin })
    }

    /// Resolves `path` (starting with "/") and `query` (without "?") to an upstream.
    public func resolve(path: String, query: String?, targetURL: String?) -> Result<UpstreamTarget, RouteError> {
        let suffix = query.map { $0.isEmpty ? "" : "?" + $0 } ?? ""
        if let targetURL {
            guard let origin = Origin(targetURL), origin.basePath.isEmpty || origin.basePath == "/" else {
                return .failure(RouteError(status: 400, type: "invalid_target_url", message: "Helicone-Target-URL must be an origin like https://host[:port], got '\(targetURL.prefix(200))'"))
            }
            guard allowedTargetOrigins.contains(origin.origin) else {
                return .failure(RouteError(status: 400, type: "target_url_not_allowed", message: "Helicone-Target-URL \(origin.origin) is not in routing.allowed_target_urls"))
            }
            let name = providers.values.first(where: { $0.origin.origin == origin.origin })?.name ?? origin.host
            return .success(UpstreamTarget(provider: name, format: .openai, origin: origin, pathAndQuery: path + suffix))
        }
        let trimmed = path.dropFirst()
        let first = trimmed.prefix(while: { $0 != "/" })
        if let provider = providers[String(first)] {
            let rest = trimmed.dropFirst(first.count)
            return .success(UpstreamTarget(provider: provider.name, format: provider.format, origin: provider.origin, pathAndQuery: provider.origin.basePath + rest + suffix))
        }
        if first == "v1", let provider = providers[defaultProvider] {
            return .success(UpstreamTarget(provider: provider.name, format: provider.format, origin: provider.origin, pathAndQuery: provider.origin.basePath + path + suffix))
        }
        return .failure(RouteError(status: 404, type: "unknown_route", message: "no provider for path \(path.prefix(200)); use /{provider}/..., /v1/... or Helicone-Target-URL"))
    }

    /// Where `Helicone-Fallbacks` entry `index` sends the call that `routed` would have gone to:
    /// the request's path after its provider prefix, on the entry's origin. The entry must be a
    /// configured provider's base URL (then that provider's name, format and base path apply) or
    /// an origin on the Target-URL allowlist (the routed format applies: the body is the same).
    public func fallback(_ url: String, index: Int, path: String, query: String?, routed: UpstreamTarget) -> Result<UpstreamTarget, RouteError> {
        let suffix = query.map { $0.isEmpty ? "" : "?" + $0 } ?? ""
        guard let origin = Origin(url) else {
            return .failure(RouteError(status: 400, type: "invalid_header", message: "Helicone-Fallbacks entry \(index): target-url must be a base URL like https://host[:port], got '\(url.prefix(200))'"))
        }
        let relative = providerRelative(path)
        let sameOrigin = providers.values.filter { $0.origin.origin == origin.origin }.sorted { $0.name < $1.name }
        if let provider = sameOrigin.first(where: { $0.origin.basePath == origin.basePath }) ?? (origin.basePath.isEmpty ? sameOrigin.first : nil) {
            return .success(UpstreamTarget(provider: provider.name, format: provider.format, origin: provider.origin, pathAndQuery: provider.origin.basePath + relative + suffix))
        }
        guard origin.basePath.isEmpty, allowedTargetOrigins.contains(origin.origin) else {
            return .failure(RouteError(status: 400, type: "target_url_not_allowed", message: "Helicone-Fallbacks entry \(index): \(url.prefix(200)) is neither a configured provider nor in routing.allowed_target_urls"))
        }
        return .success(UpstreamTarget(provider: origin.host, format: routed.format, origin: origin, pathAndQuery: relative + suffix))
    }

    /// A request path without its provider prefix (`/anthropic/v1/messages` → `/v1/messages`).
    func providerRelative(_ path: String) -> String {
        let first = path.dropFirst().prefix(while: { $0 != "/" })
        guard providers[String(first)] != nil else { return path }
        return String(path.dropFirst(first.count + 1))
    }
}
