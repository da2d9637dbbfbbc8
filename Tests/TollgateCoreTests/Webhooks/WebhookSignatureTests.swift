import Foundation
import Testing
import TollgateCore

@Suite struct WebhookSignatureTests {
    static let key = "whk_0123456789abcdef0123456789abcdef0123456789abcdef"
    static let oldKey = "whk_ffffffffffffffffffffffffffffffffffffffffffffffff"
    static let body = Array(#"{"request_id":"550e8400-e29b-41d4-a716-446655440000","request_body":"é😀"}"#.utf8)
    static let messageID = "msg_550e8400-e29b-41d4-a716-446655440000-1"

    @Test func heliconeSignatureIsHexHMACSHA256OfTheBody() {
        // RFC 4231 test case 2, then a webhook body checked with Python's hmac module.
        #expect(WebhookSignature.helicone(body: Array("what do ya want for nothing?".utf8), key: "Jefe")
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(WebhookSignature.helicone(body: Self.body, key: Self.key)
            == "87c2ac8ac9f177e1ff9360db806760bb4f68fa1333c904cdddb256f449b4c2e8")
    }

    @Test func standardWebhooksSignatureMatchesTheReferenceLibrary() {
        // Expected values from standardwebhooks' Python `Webhook(whsec).sign(...)`.
        #expect(WebhookSignature.standardWebhooks(id: Self.messageID, timestamp: 1_796_115_600, body: Self.body, keys: [Self.key])
            == "v1,h5GlyPTbJ+D9d0qS/pGCspe0NqFwt+sSCTFzuIaMKk0=")
    }

    @Test func duringRotationBothKeysSignNewestFirst() {
        #expect(WebhookSignature.standardWebhooks(id: Self.messageID, timestamp: 1_796_115_600, body: Self.body, keys: [Self.key, Self.oldKey])
            == "v1,h5GlyPTbJ+D9d0qS/pGCspe0NqFwt+sSCTFzuIaMKk0= v1,OtsexZ7qK2amX+95v3jc35XJBQMGx6w7X2nTwzM29nM=")
    }

    @Test func theWhsecFormIsTheSameKeyInBase64() {
        #expect(WebhookSignature.whsecForm(of: Self.key) == "whsec_d2hrXzAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==")
    }

    @Test func newKeysAreLongRandomAndSafeToPasteIntoAnEnvironmentVariable() {
        let keys = (0..<100).map { _ in WebhookSignature.generateKey() }
        #expect(Set(keys).count == 100)
        for key in keys {
            #expect(key.hasPrefix("whk_") && key.utf8.count == 52)
            #expect(key.dropFirst(4).allSatisfy { $0.isHexDigit && !$0.isUppercase })
        }
    }

    @Test func deliveryHeadersCarryBothSchemes() {
        let headers = WebhookSignature.headers(body: Self.body, keys: [Self.key, Self.oldKey], messageID: Self.messageID, timestamp: 1_796_115_600)
        #expect(headers.map(\.name) == ["helicone-signature", "webhook-id", "webhook-timestamp", "webhook-signature"])
        #expect(headers.map(\.value) == [
            "87c2ac8ac9f177e1ff9360db806760bb4f68fa1333c904cdddb256f449b4c2e8", Self.messageID, "1796115600",
            "v1,h5GlyPTbJ+D9d0qS/pGCspe0NqFwt+sSCTFzuIaMKk0= v1,OtsexZ7qK2amX+95v3jc35XJBQMGx6w7X2nTwzM29nM=",
        ])
    }

    /// The receiver from Helicone's doc, verbatim, fed `req.body` the way Express's JSON parser does.
    static let docReceiver = """
        const crypto = require("crypto"); const fs = require("fs");
        function verifySignature(payload, signature, secret) {
          const hmac = crypto.createHmac("sha256", secret);
          hmac.update(JSON.stringify(payload));
          const calculatedSignature = hmac.digest("hex");
          return crypto.timingSafeEqual(Buffer.from(calculatedSignature, "hex"), Buffer.from(signature, "hex"));
        }
        const payload = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        process.stdout.write(verifySignature(payload, process.argv[2], process.argv[3]) ? "valid" : "invalid");
        """

    static func docReceiverSays(body: [UInt8], signature: String, secret: String) throws -> String {
        try ScriptRunner.withTemporaryFile(body) { path in
            try ScriptRunner.run(NodeRunner.executable!, ["-e", docReceiver, path, signature, secret]).output
        }
    }

    static func payloads() -> [[UInt8]] {
        var record = WebhookPayloadTests.record()
        record.properties = [Property(name: "Note", value: WebhookPayloadTests.trickyText)]
        return [
            WebhookPayload.build(record: record, requestBody: Array(WebhookPayloadTests.trickyText.utf8), responseBody: [0xFF, 0x2F],
                                 includeData: true, requestResponseURL: WebhookPayloadTests.url),
            WebhookPayload.build(record: WebhookPayloadTests.record(cost: 1.5e-7), requestBody: [UInt8](repeating: 0x41, count: 10_239) + Array("😀".utf8),
                                 responseBody: nil, includeData: true, requestResponseURL: nil),
            WebhookPayload.test(webhookID: UUID(), includeData: false, requestResponseURL: nil),
        ]
    }

    @Test(.enabled(if: NodeRunner.isAvailable))
    func theDocsReceiverAcceptsOurSignatureAndRejectsAnAlteredBody() throws {
        for body in Self.payloads() {
            let signature = WebhookSignature.helicone(body: body, key: Self.key)
            #expect(try Self.docReceiverSays(body: body, signature: signature, secret: Self.key) == "valid")
            #expect(try Self.docReceiverSays(body: body, signature: signature, secret: Self.oldKey) == "invalid")
            var altered = body
            let digit = altered.firstIndex(of: UInt8(ascii: "5"))!  // inside request_id
            altered[digit] = UInt8(ascii: "6")
            #expect(try Self.docReceiverSays(body: altered, signature: signature, secret: Self.key) == "invalid")
        }
    }

    static let standardWebhooksReceiver = """
        import sys, time
        from standardwebhooks.webhooks import Webhook
        body = open(sys.argv[1], "rb").read()
        headers = {"webhook-id": sys.argv[2], "webhook-timestamp": sys.argv[3], "webhook-signature": sys.argv[4]}
        try:
            Webhook(sys.argv[5]).verify(body, headers)
            print("valid", end="")
        except Exception as e:
            print("invalid", end="")
        """

    static func standardWebhooksSays(body: [UInt8], headers: [(name: String, value: String)], whsec: String) throws -> String {
        let value = { (name: String) in headers.first { $0.name == name }!.value }
        return try ScriptRunner.withTemporaryFile(body) { path in
            try ScriptRunner.run(ScriptRunner.pythonWithStandardWebhooks!, [
                "-c", standardWebhooksReceiver, path, value("webhook-id"), value("webhook-timestamp"), value("webhook-signature"), whsec,
            ]).output
        }
    }

    @Test(.enabled(if: ScriptRunner.pythonWithStandardWebhooks != nil))
    func standardWebhooksLibraryVerifiesWithTheWhsecFormOfEitherRotatedKey() throws {
        let now = Int64(Date().timeIntervalSince1970)
        for body in Self.payloads() {
            let headers = WebhookSignature.headers(body: body, keys: [Self.key, Self.oldKey], messageID: Self.messageID, timestamp: now)
            #expect(try Self.standardWebhooksSays(body: body, headers: headers, whsec: WebhookSignature.whsecForm(of: Self.key)) == "valid")
            #expect(try Self.standardWebhooksSays(body: body, headers: headers, whsec: WebhookSignature.whsecForm(of: Self.oldKey)) == "valid")
            let other = WebhookSignature.whsecForm(of: WebhookSignature.generateKey())
            #expect(try Self.standardWebhooksSays(body: body, headers: headers, whsec: other) == "invalid")
            var altered = body
            altered[altered.count - 3] ^= 0x01
            #expect(try Self.standardWebhooksSays(body: altered, headers: headers, whsec: WebhookSignature.whsecForm(of: Self.key)) == "invalid")
        }
    }

    @Test(.enabled(if: ScriptRunner.pythonWithStandardWebhooks != nil))
    func standardWebhooksLibraryRejectsAStaleTimestamp() throws {
        let body = Self.payloads()[2]
        let stale = Int64(Date().timeIntervalSince1970) - 3_600
        let headers = WebhookSignature.headers(body: body, keys: [Self.key], messageID: Self.messageID, timestamp: stale)
        #expect(try Self.standardWebhooksSays(body: body, headers: headers, whsec: WebhookSignature.whsecForm(of: Self.key)) == "invalid")
    }
}
