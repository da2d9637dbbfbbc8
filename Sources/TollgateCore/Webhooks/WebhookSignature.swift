import Crypto
import Foundation

/// Signs webhook deliveries two ways from one key: Helicone's `Helicone-Signature`, which receivers
/// written from Helicone's doc check, and the Standard Webhooks headers, which add replay
/// protection and key rotation for receivers using the standardwebhooks or Svix libraries.
///
/// The key is the string shown to the user (`WEBHOOK_SECRET`); its UTF-8 bytes are the HMAC key in
/// both schemes, as Node's `crypto.createHmac("sha256", secret)` takes a string secret.
public enum WebhookSignature {
    /// `Helicone-Signature`: lowercase hex HMAC-SHA256 over exactly the body bytes sent.
    public static func helicone(body: [UInt8], key: String) -> String {
        Hex.encode(mac(body, key: key))
    }

    /// `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` for each key,
    /// separated by spaces; pass the new key first and the old one after it while rotating, so
    /// receivers holding either still verify.
    public static func standardWebhooks(id: String, timestamp: Int64, body: [UInt8], keys: [String]) -> String {
        let signed = Array("\(id).\(timestamp).".utf8) + body
        return keys.map { "v1," + Data(mac(signed, key: $0)).base64EncodedString() }.joined(separator: " ")
    }

    /// The key as Standard Webhooks verifiers take it: "whsec_" + base64 of the key's UTF-8 bytes.
    /// It is the same secret as `key`, written so those libraries derive the same HMAC key.
    public static func whsecForm(of key: String) -> String {
        "whsec_" + Data(key.utf8).base64EncodedString()
    }

    /// A new key: "whk_" and 48 lowercase hex digits (192 random bits from the system's secure
    /// generator). Printable ASCII, so it survives environment variables and shell quoting.
    public static func generateKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "whk_" + Hex.encode(bytes)
    }

    /// The signing headers of one delivery, lowercased names: `helicone-signature` (current key
    /// only, since Helicone's receivers compare a single hex value), `webhook-id`,
    /// `webhook-timestamp` and `webhook-signature` (every key in `keys`, current first).
    /// `messageID` must stay the same across retries of one delivery so receivers can drop repeats.
    public static func headers(body: [UInt8], keys: [String], messageID: String, timestamp: Int64) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if let current = keys.first { headers.append(("helicone-signature", helicone(body: body, key: current))) }
        headers.append(("webhook-id", messageID))
        headers.append(("webhook-timestamp", String(timestamp)))
        headers.append(("webhook-signature", standardWebhooks(id: messageID, timestamp: timestamp, body: body, keys: keys)))
        return headers
    }

    private static func mac(_ message: [UInt8], key: String) -> HMAC<SHA256>.MAC {
        HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(key.utf8)))
    }
}
