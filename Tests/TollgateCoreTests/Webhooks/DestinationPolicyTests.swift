import Testing
import TollgateCore

@Suite struct DestinationPolicyTests {
    static let strict = try! DestinationPolicy(allowedPrivateHosts: [])
    static let howTo = "to webhooks.allowed_private_hosts to allow it"

    static func refusal(_ result: Result<Origin, DestinationRefusal>) -> String? {
        if case let .failure(refusal) = result { refusal.message } else { nil }
    }

    @Test(arguments: [
        ("10.0.0.5", "a private address"), ("10.255.255.255", "a private address"),
        ("172.16.0.1", "a private address"), ("172.31.255.254", "a private address"),
        ("192.168.1.10", "a private address"), ("127.0.0.1", "a loopback address"), ("127.1.2.3", "a loopback address"),
        ("169.254.169.254", "the cloud metadata address"), ("100.100.100.200", "the cloud metadata address"),
        ("169.254.10.1", "a link-local address"), ("100.64.0.1", "a shared (CGNAT) address"), ("100.127.255.255", "a shared (CGNAT) address"),
        ("0.0.0.0", "an unspecified address"), ("0.1.2.3", "an unspecified address"),
        ("224.0.0.1", "a multicast address"), ("239.255.255.250", "a multicast address"), ("255.255.255.255", "the broadcast address"),
        ("198.18.0.1", "a benchmarking address"), ("198.19.255.255", "a benchmarking address"),
        ("240.0.0.1", "a reserved address"), ("192.0.0.8", "a reserved address"), ("192.0.2.1", "a documentation address"),
        ("::1", "a loopback address"), ("::", "an unspecified address"), ("fd00::1", "a private address"), ("fc00::1", "a private address"),
        ("fd00:ec2::254", "the cloud metadata address"), ("fe80::1", "a link-local address"), ("fe80::1%eth0", "a link-local address"),
        ("ff02::1", "a multicast address"), ("2001:db8::1", "a documentation address"),
    ])
    func connectingToANonPublicAddressIsRefusedWithTheFix(ip: String, what: String) {
        let shown = ip.split(separator: "%")[0]
        #expect(Self.strict.checkAddress(ip, host: "hooks.example.com")?.message
            == "connection to hooks.example.com refused: \(shown) is \(what); add hooks.example.com or \(shown)/\(ip.contains(":") ? 128 : 32) \(Self.howTo)")
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "169.253.1.1",
                      "198.17.255.255", "198.20.0.1", "223.255.255.255", "2606:4700::1111", "2a00:1450:4001:81c::200e", "::ffff:8.8.8.8"])
    func connectingToAPublicAddressIsAllowed(ip: String) {
        #expect(Self.strict.checkAddress(ip, host: "hooks.example.com") == nil)
    }

    @Test func anIPv4MappedIPv6PeerIsJudgedAsItsIPv4Address() {
        #expect(Self.strict.checkAddress("::ffff:10.0.0.1", host: "hooks.example.com")?.message
            == "connection to hooks.example.com refused: 10.0.0.1 is a private address; add hooks.example.com or 10.0.0.1/32 \(Self.howTo)")
        #expect(Self.strict.checkAddress("::ffff:7f00:1", host: "hooks.example.com")?.message.contains("127.0.0.1 is a loopback address") == true)
        #expect(Self.strict.checkAddress("::ffff:169.254.169.254", host: "x")?.message.contains("the cloud metadata address") == true)
        #expect(Self.strict.checkAddress("64:ff9b::a00:1", host: "x")?.message.contains("is a private address") == true)
        let allowed = try! DestinationPolicy(allowedPrivateHosts: ["10.0.0.0/8"])
        #expect(allowed.checkAddress("::ffff:10.0.0.1", host: "receiver.internal") == nil)
    }

    @Test func anAllowedHostNameMayResolveToAPrivateAddress() throws {
        let policy = try DestinationPolicy(allowedPrivateHosts: ["Receiver.Internal", "localhost"])
        #expect(policy.checkAddress("10.0.0.5", host: "receiver.internal") == nil)
        #expect(policy.checkAddress("10.0.0.5", host: "RECEIVER.INTERNAL.") == nil)
        #expect(policy.checkAddress("::1", host: "localhost") == nil)
        #expect(policy.checkAddress("10.0.0.5", host: "other.internal")?.message
            == "connection to other.internal refused: 10.0.0.5 is a private address; add other.internal or 10.0.0.5/32 \(Self.howTo)")
        #expect(policy.checkAddress("10.0.0.5", host: "sub.receiver.internal") != nil)
    }

    @Test func anAllowedBlockLetsEveryAddressInItThroughAndNoOther() throws {
        let policy = try DestinationPolicy(allowedPrivateHosts: ["127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8", "192.168.7.9"])
        for ip in ["127.0.0.1", "10.0.0.1", "10.200.3.4", "::1", "fd12:3456::1", "192.168.7.9"] {
            #expect(policy.checkAddress(ip, host: "receiver") == nil, "\(ip)")
        }
        for ip in ["127.0.0.2", "192.168.7.8", "fc00::1", "172.16.0.1", "169.254.169.254"] {
            #expect(policy.checkAddress(ip, host: "receiver") != nil, "\(ip)")
        }
    }

    @Test func anAddressThatIsNotAnIPIsRefused() {
        #expect(Self.strict.checkAddress("localhost", host: "localhost")?.message == "connection to localhost refused: 'localhost' is not an IP address")
    }

    @Test(arguments: ["10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "host/8", "localhost:8080", "http://receiver", "", "a b", "1.2.3.4/-1"])
    func aBadAllowListEntryIsRefusedAtStartup(entry: String) {
        #expect(throws: WebhookConfigError(message: "webhooks.allowed_private_hosts entry '\(entry)' is neither a host name nor an IP address or CIDR such as 10.0.0.0/8")) {
            try DestinationPolicy(allowedPrivateHosts: [entry])
        }
    }

    @Test func anHTTPSURLToAPublicHostIsAccepted() throws {
        let origin = try Self.strict.checkURL("https://Hooks.Example.com/helicone?token=a/b#frag").get()
        #expect(origin == Origin("https://hooks.example.com/helicone"))
        #expect(try Self.strict.checkURL("https://hooks.example.com:8443").get().port == 8443)
        #expect(try Self.strict.checkURL("https://93.184.216.34/x").get().host == "93.184.216.34")
        #expect(try Self.strict.checkURL("https://[2606:4700::1111]/x").get().host == "[2606:4700::1111]")
    }

    @Test func plainHTTPToAPublicHostIsRefused() {
        #expect(Self.refusal(Self.strict.checkURL("http://hooks.example.com/x"))
            == "webhook destination http://hooks.example.com/x refused: plain http is only allowed for hosts in webhooks.allowed_private_hosts; use https")
    }

    @Test func userInfoInAURLIsRefused() {
        #expect(Self.refusal(Self.strict.checkURL("https://user:pass@hooks.example.com/x"))
            == "webhook destination https://user:pass@hooks.example.com/x refused: it must not contain user info (user:password@)")
        #expect(Self.refusal(Self.strict.checkURL("https://evil.example@10.0.0.1/")) != nil)
    }

    @Test(arguments: [
        ("ftp://hooks.example.com/x", "it must be an http or https URL"), ("hooks.example.com/x", "it must be an http or https URL"),
        ("https://", "it has no valid host and port"), ("https:///x", "it has no valid host and port"),
        ("https://hooks.example.com:0/", "it has no valid host and port"), ("https://hooks.example.com:99999/", "it has no valid host and port"),
        ("https://hooks.example.com/a b", "it contains spaces or control characters"), ("https://[::zz]/", "[::zz] is not a valid IPv6 address"),
    ])
    func aMalformedURLIsRefusedSayingWhy(url: String, why: String) {
        #expect(Self.refusal(Self.strict.checkURL(url)) == "webhook destination \(url) refused: \(why)")
    }

    @Test func aLiteralPrivateAddressOrLocalhostIsRefusedWhenSaved() {
        #expect(Self.refusal(Self.strict.checkURL("https://10.0.0.5/hook"))
            == "webhook destination https://10.0.0.5/hook refused: 10.0.0.5 is a private address; add 10.0.0.5/32 \(Self.howTo)")
        #expect(Self.refusal(Self.strict.checkURL("https://[::1]:9000/hook"))
            == "webhook destination https://[::1]:9000/hook refused: ::1 is a loopback address; add ::1/128 \(Self.howTo)")
        #expect(Self.refusal(Self.strict.checkURL("http://localhost:3000/hook"))
            == "webhook destination http://localhost:3000/hook refused: localhost is a loopback name; add localhost \(Self.howTo)")
        #expect(Self.refusal(Self.strict.checkURL("https://app.localhost/hook")) != nil)
    }

    @Test(arguments: [
        ("https://%31%32%37.0.0.1:8443/", "its host is percent-encoded (%31%32%37.0.0.1 reads as 127.0.0.1); write the host without escapes"),
        ("https://127%2e0%2e0%2e1/", "its host is percent-encoded (127%2e0%2e0%2e1 reads as 127.0.0.1); write the host without escapes"),
        ("https://%6c%6f%63%61%6c%68%6f%73%74/", "its host is percent-encoded (%6c%6f%63%61%6c%68%6f%73%74 reads as localhost); write the host without escapes"),
        ("https://%31%36%39.254.169.254/", "its host is percent-encoded (%31%36%39.254.169.254 reads as 169.254.169.254); write the host without escapes"),
        ("https://hooks%2eexample.com/", "its host is percent-encoded (hooks%2eexample.com reads as hooks.example.com); write the host without escapes"),
        ("https://[::1%25lo]/", "its host is percent-encoded ([::1%25lo] reads as [::1%lo]); write the host without escapes"),
    ])
    func aPercentEncodedHostIsRefusedWhenSaved(url: String, why: String) {
        #expect(Self.refusal(Self.strict.checkURL(url)) == "webhook destination \(url) refused: \(why)")
    }

    @Test(arguments: [
        ("https://127.1/", "127.1", "127.0.0.1"), ("https://2130706433/", "2130706433", "127.0.0.1"),
        ("https://0x7f000001:9000/", "0x7f000001", "127.0.0.1"), ("https://0177.0.0.1/", "0177.0.0.1", "127.0.0.1"),
        ("https://0x7f.1/", "0x7f.1", "127.0.0.1"), ("https://169.254.43518/", "169.254.43518", "169.254.169.254"),
        ("https://0/", "0", "0.0.0.0"), ("https://010.0.0.1/", "010.0.0.1", "8.0.0.1"), ("https://134744072/", "134744072", "8.8.8.8"),
    ])
    func aNumericHostInAnyFormButFourDecimalsIsRefusedWhenSaved(url: String, host: String, address: String) {
        #expect(Self.refusal(Self.strict.checkURL(url))
            == "webhook destination \(url) refused: \(host) is \(address) in a numeric form that resolvers accept; write an address as four decimal numbers (\(address))")
    }

    @Test(arguments: ["https://1.2.3.4.5/", "https://256.1.1.1/", "https://1.2.3.0x100/", "https://08.1.2.3/", "https://4294967296/", "https://hooks.example.123/"])
    func aHostThatEndsInANumberButIsNoAddressIsRefused(url: String) {
        let host = String(url.dropFirst(8).dropLast())
        #expect(Self.refusal(Self.strict.checkURL(url)) == "webhook destination \(url) refused: \(host) is neither a host name nor an IP address")
    }

    @Test(arguments: ["https://hooks\\.example.com/", "https://hooks..example.com/", "https://.example.com/", "https://hooks.example.com:443:443/",
                      "https://h\u{00f6}oks.example.com/", "https://\u{ff4c}ocalhost/", "https://[10.0.0.1]/", "https://" + String(repeating: "a", count: 64) + ".com/"])
    func aHostThatIsNoPlainNameIsRefused(url: String) {
        #expect(Self.refusal(Self.strict.checkURL(url))?.contains("is not a") == true, "\(url)")
    }

    @Test func plainNamesAndAddressesStillPass() throws {
        for url in ["https://hooks.example.com./x", "https://xn--hks-qoa.example/x", "https://my_host.example.com/", "https://8.8.8.8/", "https://[2606:4700::1111]/"] {
            #expect(try Self.strict.checkURL(url).get().scheme == "https", "\(url)")
        }
    }

    @Test func anAllowedHostMayBeReachedOverPlainHTTP() throws {
        let policy = try DestinationPolicy(allowedPrivateHosts: ["localhost", "receiver.internal", "127.0.0.1/32", "::1/128"])
        #expect(try policy.checkURL("http://localhost:3000/hook").get() == Origin("http://localhost:3000/hook"))
        #expect(try policy.checkURL("http://RECEIVER.internal/hook").get().host == "receiver.internal")
        #expect(try policy.checkURL("http://127.0.0.1:8080/").get().port == 8080)
        #expect(try policy.checkURL("http://[::1]:8080/").get().port == 8080)
        #expect(Self.refusal(policy.checkURL("http://127.0.0.2/")) != nil)
    }
}

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("10.0.0.1", "10.0.0.1"), ("::1", "::1"), ("::", "::"), ("[fe80::1%eth0]", "fe80::1"), ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:10.0.0.1", "::ffff:a00:1"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1::", "1::"), ("0:0:0:0:0:0:0:1", "::1"),
    ])
    func addressesAreReadInEveryStandardSpelling(text: String, canonical: String) {
        #expect(IPAddress(text)?.description == canonical)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "0x7f.0.0.1", "2130706433", "1:2:3:4:5:6:7:8:9", "1::2::3",
                      ":::", "12345::", "::1.2.3", "g::1", "1.2.3.4:80", "localhost"])
    func anythingElseIsNotAnAddress(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test(arguments: [("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0x7F.0.0.1", "127.0.0.1"),
                      ("0177.0.0.01", "127.0.0.1"), ("10.1.", "10.0.0.1"), ("0x", "0.0.0.0"), ("1.2.65535", "1.2.255.255")])
    func numericHostsAreReadAsResolversReadThem(host: String, address: String) {
        #expect(IPAddress(numericHost: host)?.description == address)
        #expect(IPAddress.endsInANumber(host))
    }

    @Test(arguments: ["1.2.3.4.5", "256.0.0.1", "1.2.3.256", "1.2.65536", "08", "0x1g", "1..2", "+1", "4294967296", ""])
    func numericHostsThatDoNotFitAreNoAddress(host: String) {
        #expect(IPAddress(numericHost: host) == nil)
    }

    @Test func blocksHoldExactlyTheirPrefix() {
        let block = IPNetwork("172.16.0.0/12")!
        #expect(block.contains(IPAddress("172.31.255.255")!))
        #expect(!block.contains(IPAddress("172.32.0.0")!))
        #expect(!block.contains(IPAddress("::ffff:172.16.0.1")!))
        #expect(IPNetwork("10.1.2.3/8")!.contains(IPAddress("10.9.9.9")!))
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPAddress("8.8.8.8")!))
        #expect(IPNetwork("fc00::/7")!.contains(IPAddress("fdff::1")!))
        #expect(!IPNetwork("fc00::/7")!.contains(IPAddress("fe00::1")!))
    }
}
