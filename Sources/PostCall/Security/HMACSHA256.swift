import PostCallCOpenSSL

/// HMAC-SHA256 over data given in pieces, by OpenSSL's EVP_MAC: a request body is signed as it
/// is read, a file of any size in bounded memory.
final class HMACSHA256 {
    private let context: OpaquePointer

    init(key: [UInt8]) throws {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { throw PostCallError(.transport, "OpenSSL offers no HMAC") }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { throw PostCallError(.transport, "OpenSSL: out of memory") }
        self.context = context
        // Every stored property is set: a throw from here on runs deinit, which frees the context.
        var digest = Array("SHA256".utf8CString)
        let initialised = digest.withUnsafeMutableBufferPointer { name in
            var parameters = [
                OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name.baseAddress, 0), OSSL_PARAM_construct_end(),
            ]
            return EVP_MAC_init(context, key, key.count, &parameters)
        }
        guard initialised == 1 else { throw PostCallError(.transport, "OpenSSL could not start an HMAC-SHA256") }
    }

    deinit { EVP_MAC_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_MAC_update(context, base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes(update) }

    /// The 32-byte MAC of everything given so far.
    func finish() throws -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: 32)
        var length = 0
        guard EVP_MAC_final(context, &mac, &length, mac.count) == 1, length == 32 else {
            throw PostCallError(.transport, "OpenSSL could not finish an HMAC-SHA256")
        }
        return mac
    }
}
