import Foundation

/// Where webhooks may be delivered: public hosts over https, and private or plain-http
/// destinations only when config allows them.
///
/// A webhook URL is chosen by whoever holds the admin key, but the gateway sits inside a network;
/// without this check a webhook could reach loopback services, the cloud metadata endpoint or
/// internal hosts. The URL is checked when saved and before each attempt, and the address
/// actually connected to is checked again at connect time, since a name can resolve differently
/// between the two (DNS rebinding).
public struct DestinationPolicy: Sendable {
    /// Lowercased host names that may be targeted although private, and over plain http.
    public let allowedHostNames: Set<String>
    /// Address blocks that may be targeted although private, and over plain http.
    public let allowedNetworks: [IPNetwork]

    /// `allowedPrivateHosts` (config `webhooks.allowed_private_hosts`): host names, compared
    /// exactly but case-insensitively ("localhost", "receiver.internal"), or addresses and CIDRs
    /// ("127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8"). Throws on an entry that is neither.
    public init(allowedPrivateHosts: [String]) throws(WebhookConfigError) {
        var names = Set<String>()
        var networks = [IPNetwork]()
        for entry in allowedPrivateHosts {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if let network = IPNetwork(trimmed) {
                networks.append(network)
            } else if !trimmed.contains("/"), !trimmed.contains(":"), Self.isHostName(trimmed) {
                names.insert(Self.normalizedHost(trimmed))
            } else {
                throw WebhookConfigError(message: "webhooks.allowed_private_hosts entry '\(entry.prefix(100))' is neither a host name nor an IP address or CIDR such as 10.0.0.0/8")
            }
        }
        allowedHostNames = names
        allowedNetworks = networks
    }

    /// Checks a destination URL when it is saved and before each attempt: it must be http or https
    /// with a host and no user info, and https unless its host is allowed. A literal private
    /// address, or a localhost name, is refused here already unless allowed. Returns the parsed
    /// origin; the URL's query, if any, is not part of it and is sent as given.
    public func checkURL(_ url: String) -> Result<Origin, DestinationRefusal> {
        let shown = url.prefix(200)
        func refuse(_ why: String) -> Result<Origin, DestinationRefusal> {
            .failure(DestinationRefusal(message: "webhook destination \(shown) refused: \(why)"))
        }
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f }) else {
            return refuse("it contains spaces or control characters")
        }
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            return refuse("it must be an http or https URL")
        }
        let afterScheme = url[url.range(of: "://")!.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.contains("@") { return refuse("it must not contain user info (user:password@)") }
        let withoutQuery = url.prefix { $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, let origin = Origin(String(withoutQuery)) else {
            return refuse("it has no valid host and port")
        }
        if let problem = Self.hostProblem(origin.host) { return refuse(problem) }
        let host = Self.normalizedHost(origin.host)
        let literal = IPAddress(host)
        if isAllowed(host: host, address: literal) { return .success(origin) }
        if let literal, let category = Self.category(of: literal) {
            return refuse("\(literal) is \(category); \(howToAllow(host: host, address: literal))")
        }
        if host == "localhost" || host.hasSuffix(".localhost") {
            return refuse("\(host) is a loopback name; \(howToAllow(host: host, address: nil))")
        }
        if origin.scheme == "http" {
            return refuse("plain http is only allowed for hosts in webhooks.allowed_private_hosts; use https")
        }
        return .success(origin)
    }

    /// Checks the address a delivery actually connected to, as text (NIO's
    /// `SocketAddress.ipAddress`: IPv4, IPv6, or IPv4-mapped IPv6 such as "::ffff:10.0.0.1"),
    /// for the URL's `host`. Refuses loopback, private, link-local, CGNAT, cloud metadata,
    /// unspecified, multicast, broadcast, benchmarking, documentation and reserved addresses unless
    /// the host name is allowed or the address is in an allowed block. Nil means go ahead.
    public func checkAddress(_ ip: String, host: String) -> DestinationRefusal? {
        let name = Self.normalizedHost(host)
        guard let address = IPAddress(ip) else {
            return DestinationRefusal(message: "connection to \(name) refused: '\(ip.prefix(64))' is not an IP address")
        }
        if isAllowed(host: name, address: address) { return nil }
        guard let category = Self.category(of: address) else { return nil }
        return DestinationRefusal(message: "connection to \(name) refused: \(address.unmapped) is \(category); \(howToAllow(host: name, address: address))")
    }

    private func isAllowed(host: String, address: IPAddress?) -> Bool {
        if allowedHostNames.contains(host) { return true }
        guard let address else { return false }
        return allowedNetworks.contains { $0.contains(address) || $0.contains(address.unmapped) }
    }

    private func howToAllow(host: String, address: IPAddress?) -> String {
        let block = address.map { "\($0.unmapped)/\($0.unmapped.isIPv4 ? 32 : 128)" }
        let options: [String]
        switch (block, IPAddress(host) == nil) {
        case let (block?, true): options = [host, block]
        case let (block?, false): options = [block]
        case (nil, _): options = [host]
        }
        return "add \(options.joined(separator: " or ")) to webhooks.allowed_private_hosts to allow it"
    }

    /// Refused address blocks, most specific first: the first that holds an address names it.
    static let refusedBlocks: [(network: IPNetwork, category: String)] = [
        ("169.254.169.254/32", "the cloud metadata address"),
        ("100.100.100.200/32", "the cloud metadata address"),
        ("fd00:ec2::254/128", "the cloud metadata address"),
        ("0.0.0.0/8", "an unspecified address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared (CGNAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "a reserved address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/96", "a reserved address"),
        ("64:ff9b:1::/48", "a private address"),
        ("2001:db8::/32", "a documentation address"),
        ("fc00::/7", "a private address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a private address"),
        ("ff00::/8", "a multicast address"),
    ].map { (IPNetwork($0.0)!, $0.1) }

    private static let nat64 = IPNetwork("64:ff9b::/96")!

    /// Why `address` may not be targeted, or nil for a public address. IPv4-mapped and NAT64
    /// (64:ff9b::/96) addresses are judged by the IPv4 address they carry.
    static func category(of address: IPAddress) -> String? {
        var judged = address.unmapped
        if nat64.contains(judged) { judged = IPAddress(bytes: Array(judged.bytes[12...])) }
        return refusedBlocks.first { $0.network.contains(judged) }?.category
    }

    private static func normalizedHost(_ host: String) -> String {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]"), let literal = IPAddress(h) { h = literal.description }
        while h.hasSuffix(".") { h.removeLast() }
        return h
    }

    /// Why `host`, as a URL writes it, is not what a resolver will look up: percent-encoded,
    /// a number in a form other than four decimal parts, or anything but a plain host name or an
    /// IP address. Nil when it is one. The sender and its HTTP client then see the same host.
    static func hostProblem(_ host: String) -> String? {
        let shown = host.prefix(100)
        if host.contains("%") {
            let decoded = String(decoding: PercentEncoding.decode(host.utf8), as: UTF8.self)
            return "its host is percent-encoded (\(shown) reads as \(decoded.prefix(100))); write the host without escapes"
        }
        if host.hasPrefix("[") {
            return host.hasSuffix("]") && host.contains(":") && IPAddress(host) != nil ? nil : "\(shown) is not a valid IPv6 address"
        }
        let name = host.hasSuffix(".") ? String(host.dropLast()) : host
        if IPAddress(name) != nil { return nil }
        if IPAddress.endsInANumber(name) {
            guard let address = IPAddress(numericHost: name) else { return "\(shown) is neither a host name nor an IP address" }
            return "\(shown) is \(address) in a numeric form that resolvers accept; write an address as four decimal numbers (\(address))"
        }
        return isHostName(name) ? nil : "\(shown) is not a plain host name (letters, digits, '-' and '_' in dot-separated labels) or IP address"
    }

    /// A DNS name as resolvers take it: ASCII labels of letters, digits, `-` and `_`, each 1 to 63
    /// bytes, 253 bytes in all.
    private static func isHostName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.count) && label.allSatisfy { c in
                PercentEncoding.isLetterOrDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
            }
        }
    }
}

/// Why a webhook destination or the address it reached was refused; `message` says what and how
/// to allow it.
public struct DestinationRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
