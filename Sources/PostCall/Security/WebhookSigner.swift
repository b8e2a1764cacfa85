import FoundationEssentials

/// Signs requests as the Standard Webhooks specification says, so a receiver can check they
/// come from us, unaltered: `webhook-id` (the event key, the same on every retry),
/// `webhook-timestamp` (Unix seconds) and `webhook-signature`, `v1,` + base64 HMAC-SHA256 of
/// `id.timestamp.body` for each secret, space-separated, so a receiver can rotate its secret.
public struct WebhookSigner: Sendable {
    /// The secrets' key bytes, decrypted.
    let keys: [[UInt8]]

    init(keys: [[UInt8]]) { self.keys = keys }

    /// The signature headers for a body that `feed` hands over in pieces, exactly as sent.
    func headers(id: String, timestamp: Int64, body feed: (_ consume: (UnsafeRawBufferPointer) -> Void) throws -> Void) throws
        -> [Webservice.Field]
    {
        let macs = try keys.map(HMACSHA256.init)
        let prefix = Array("\(id).\(timestamp).".utf8)
        for mac in macs { mac.update(prefix) }
        try feed { piece in for mac in macs { mac.update(piece) } }
        let signatures = try macs.map { "v1," + Data(try $0.finish()).base64EncodedString() }
        return [
            Webservice.Field(name: "webhook-id", value: id), Webservice.Field(name: "webhook-timestamp", value: String(timestamp)),
            Webservice.Field(name: "webhook-signature", value: signatures.joined(separator: " ")),
        ]
    }

    /// A secret as a person gives it, checked and sealed with `key` for `webservice`'s row.
    public static func sealedSecret(_ text: String, for webservice: String, with key: SecretKey) throws -> String {
        try key.seal(try self.key(fromSecret: text), context: webservice)
    }

    /// The signer of a webservice, its secrets opened with `key`.
    init(webservice: Webservice, key: SecretKey?) throws {
        guard let key else {
            throw PostCallError(
                .invalidInput,
                "webservice \(webservice.name) signs its requests, and this worker has no \(SecretKey.environmentVariable) to decrypt the secrets with; set it and retry the event")
        }
        keys = try webservice.signingSecrets.map { try key.open($0, context: webservice.name) }
    }

    /// The key bytes of a secret as a person gives it: `whsec_` and base64, the specification's
    /// form (or the base64 alone), of 24 to 64 bytes.
    static func key(fromSecret text: String) throws -> [UInt8] {
        var encoded = text.trimmingWhitespace()
        if encoded.hasPrefix("whsec_") { encoded = String(encoded.dropFirst(6)) }
        while encoded.utf8.count % 4 != 0 { encoded += "=" }
        guard let key = Data(base64Encoded: encoded), (24...64).contains(key.count) else {
            throw PostCallError(
                .invalidInput,
                "a signing secret must be whsec_ and 24 to 64 bytes in base64, as Standard Webhooks defines; make one with: echo \"whsec_$(openssl rand -base64 32)\"")
        }
        return Array(key)
    }
}
