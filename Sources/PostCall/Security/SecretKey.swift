import FoundationEssentials
import Glibc
import PostCallCOpenSSL

/// The key that encrypts webservice secrets in the database (AES-256-GCM, by OpenSSL), so a
/// reader of the database, a backup or a replica cannot use them. It lives in a file the worker
/// and `webservice set` read (`POSTCALL_SECRET_KEY_FILE`): 32 random bytes, raw or in base64
/// (`openssl rand -base64 32`).
public struct SecretKey: Sendable {
    private let bytes: [UInt8]

    /// The environment variable naming the key file.
    public static let environmentVariable = "POSTCALL_SECRET_KEY_FILE"

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Reads the key from `path`.
    public init(file path: String) throws {
        let file = fopen(path, "rb")
        guard let file else {
            throw PostCallError(
                .invalidInput, "cannot read the secret key file \(path) (\(Self.environmentVariable)): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var content = [UInt8](repeating: 0, count: 256)
        let count = fread(&content, 1, content.count, file)
        let raw = Array(content.prefix(count))
        let text = String(decoding: raw, as: UTF8.self).trimmingWhitespace()
        if count == 32 {
            bytes = raw
        } else if let decoded = Data(base64Encoded: text), decoded.count == 32 {
            bytes = Array(decoded)
        } else {
            throw PostCallError(
                .invalidInput,
                "the secret key file \(path) (\(Self.environmentVariable)) must hold 32 random bytes, raw or in base64; make one with `openssl rand -base64 32`")
        }
    }

    /// The key named by `POSTCALL_SECRET_KEY_FILE`, or `nil` if it is not set.
    public static func fromEnvironment() throws -> SecretKey? {
        guard let path = getenv(environmentVariable).map({ String(cString: $0) }), !path.isEmpty else { return nil }
        return try SecretKey(file: path)
    }

    /// Whether a stored value is a sealed secret rather than one in clear.
    public static func isSealed(_ value: String) -> Bool { value.hasPrefix("aes256gcm:") }

    /// `secret` encrypted and authenticated together with `context` (the webservice's name, so
    /// a ciphertext copied to another webservice does not decrypt): `aes256gcm:<base64 nonce,
    /// ciphertext and tag>`.
    func seal(_ secret: [UInt8], context: String) throws -> String {
        var nonce = [UInt8](repeating: 0, count: 12)
        guard RAND_bytes(&nonce, 12) == 1 else { throw Self.failure("no random bytes for a nonce") }
        guard let cipher = EVP_CIPHER_CTX_new() else { throw Self.failure("out of memory") }
        defer { EVP_CIPHER_CTX_free(cipher) }
        let aad = Array(context.utf8)
        var output = [UInt8](repeating: 0, count: secret.count + 16)
        var length: Int32 = 0
        var tag = [UInt8](repeating: 0, count: 16)
        var finalBlock = [UInt8](repeating: 0, count: 16)
        guard EVP_EncryptInit_ex(cipher, EVP_aes_256_gcm(), nil, bytes, nonce) == 1,
            EVP_EncryptUpdate(cipher, nil, &length, aad, Int32(aad.count)) == 1,
            EVP_EncryptUpdate(cipher, &output, &length, secret, Int32(secret.count)) == 1,
            // GCM writes nothing at the end; the scratch block only keeps the call well defined.
            EVP_EncryptFinal_ex(cipher, &finalBlock, &length) == 1,
            EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_GET_TAG, 16, &tag) == 1
        else { throw Self.failure("encryption failed") }
        return "aes256gcm:" + Data(nonce + output.prefix(secret.count) + tag).base64EncodedString()
    }

    /// The secret `sealed` holds; throws if this is not the key it was sealed with, or it was
    /// sealed for another `context`, or altered.
    func open(_ sealed: String, context: String) throws -> [UInt8] {
        guard sealed.hasPrefix("aes256gcm:"), let data = Data(base64Encoded: String(sealed.dropFirst(10))), data.count >= 28 else {
            throw PostCallError(.invalidInput, "a stored secret of webservice \(context) is malformed; set it again")
        }
        let nonce = Array(data.prefix(12)), tag = Array(data.suffix(16)), sealedBytes = Array(data.dropFirst(12).dropLast(16))
        guard let cipher = EVP_CIPHER_CTX_new() else { throw Self.failure("out of memory") }
        defer { EVP_CIPHER_CTX_free(cipher) }
        let aad = Array(context.utf8)
        var output = [UInt8](repeating: 0, count: sealedBytes.count + 16)
        var length: Int32 = 0
        var expectedTag = tag
        var finalBlock = [UInt8](repeating: 0, count: 16)
        guard EVP_DecryptInit_ex(cipher, EVP_aes_256_gcm(), nil, bytes, nonce) == 1,
            EVP_DecryptUpdate(cipher, nil, &length, aad, Int32(aad.count)) == 1,
            EVP_DecryptUpdate(cipher, &output, &length, sealedBytes, Int32(sealedBytes.count)) == 1,
            EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_TAG, 16, &expectedTag) == 1,
            EVP_DecryptFinal_ex(cipher, &finalBlock, &length) == 1
        else {
            throw PostCallError(
                .invalidInput,
                "a stored secret of webservice \(context) does not decrypt with the key in \(Self.environmentVariable); use the key it was set with, or set the secret again")
        }
        return Array(output.prefix(sealedBytes.count))
    }

    private static func failure(_ reason: String) -> PostCallError {
        PostCallError(.transport, "OpenSSL: \(reason)")
    }
}
