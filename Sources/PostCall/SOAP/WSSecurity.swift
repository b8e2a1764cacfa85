import FoundationEssentials
import PostCallCOpenSSL
import PostCallCXML2

/// A WS-Security UsernameToken (OASIS Username Token Profile 1.0) for the SOAP header: the
/// password as text, or as its digest `Base64(SHA-1(nonce + created + password))` with a fresh
/// nonce and creation time on every request.
public struct WSSecurity: Sendable, Equatable {
    public var username: String
    public var password: String
    public var digest: Bool

    public init(username: String, password: String, digest: Bool) {
        self.username = username
        self.password = password
        self.digest = digest
    }

    static let securityNamespace = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    static let utilityNamespace = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    static let profile = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    static let base64Binary = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

    /// The digest of the profile: Base64(SHA-1(nonce + created + password)), by OpenSSL.
    static func passwordDigest(nonce: [UInt8], created: String, password: String) -> String {
        let input = nonce + Array(created.utf8) + Array(password.utf8)
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let succeeded = input.withUnsafeBytes { bytes in
            EVP_Digest(bytes.baseAddress, bytes.count, &digest, &length, EVP_sha1(), nil) == 1
        }
        // EVP_Digest with SHA-1 fails only when memory runs out; an empty digest then fails the
        // receiver's check rather than crashing the worker.
        return succeeded ? Data(digest.prefix(Int(length))).base64EncodedString() : ""
    }

    /// Adds `wsse:Security` to `header`. `nonce` and `created` are the digest's inputs (16 random
    /// bytes and the current time, to the second, in RFC 3339 UTC).
    func write(into header: xmlNodePtr, of document: xmlDocPtr, nonce: [UInt8], created: String) throws {
        guard let security = xmlNewDocRawNode(document, nil, "Security", nil) else { throw SOAPEnvelope.outOfMemory }
        xmlAddChild(header, security)
        let wsse = xmlNewNs(security, Self.securityNamespace, "wsse")
        xmlSetNs(security, wsse)
        guard let token = xmlNewChild(security, wsse, "UsernameToken", nil),
            xmlNewTextChild(token, wsse, "Username", SOAPEnvelope.xmlSafe(username)) != nil
        else { throw SOAPEnvelope.outOfMemory }
        let value = digest ? Self.passwordDigest(nonce: nonce, created: created, password: password) : SOAPEnvelope.xmlSafe(password)
        guard let passwordNode = xmlNewTextChild(token, wsse, "Password", value) else { throw SOAPEnvelope.outOfMemory }
        xmlSetProp(passwordNode, "Type", Self.profile + (digest ? "#PasswordDigest" : "#PasswordText"))
        guard digest else { return }
        guard let nonceNode = xmlNewTextChild(token, wsse, "Nonce", Data(nonce).base64EncodedString()) else {
            throw SOAPEnvelope.outOfMemory
        }
        xmlSetProp(nonceNode, "EncodingType", Self.base64Binary)
        guard let createdNode = xmlNewTextChild(token, nil, "Created", created) else { throw SOAPEnvelope.outOfMemory }
        xmlSetNs(createdNode, xmlNewNs(createdNode, Self.utilityNamespace, "wsu"))
    }

    /// What a request sends: a fresh nonce and the creation time, to the second.
    func writeFresh(into header: xmlNodePtr, of document: xmlDocPtr, now: Milliseconds) throws {
        var generator = SystemRandomNumberGenerator()
        let nonce = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try write(into: header, of: document, nonce: nonce, created: Timestamp.rfc3339(now / 1000 * 1000).replacing(".000Z", with: "Z"))
    }
}
