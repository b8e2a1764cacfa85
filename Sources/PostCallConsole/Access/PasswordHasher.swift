import HummingbirdBcrypt
import PostCall

/// Salted, deliberately slow password hashes: bcrypt, from hummingbird-auth.
public struct PasswordHasher: Sendable {
    /// bcrypt's work factor: 2^cost rounds (12 takes about a quarter of a second).
    public var cost: UInt8

    public init(cost: UInt8 = 12) {
        self.cost = cost
    }

    /// bcrypt reads at most 72 bytes; a longer password would be cut silently, so it is refused.
    public static let passwordBytes = 8...72

    public func hash(_ password: String) throws -> String {
        guard Self.passwordBytes.contains(password.utf8.count) else {
            throw PostCallError(
                .invalidInput,
                "a console password must be \(Self.passwordBytes.lowerBound) to \(Self.passwordBytes.upperBound) bytes long; this one has \(password.utf8.count)")
        }
        return Bcrypt.hash(password, cost: cost)
    }

    /// Whether `password` matches `hash`. With no user to check against, pass `nil`: the same
    /// work is done against a fixed hash, so an unknown name answers no faster than a known one.
    public func verify(_ password: String, against hash: String?) -> Bool {
        guard let hash else {
            _ = Bcrypt.verify(password, hash: dummyHash)
            return false
        }
        return Bcrypt.verify(password, hash: hash)
    }

    private var dummyHash: String {
        // bcrypt of 24 random bytes, forgotten, at cost 12: only its cost matters.
        "$2b$12$8TpCt7IJF/yp8TInz6nFFOq4VgXIoduwp80zR9AJE1h8TMbOw2BPu"
    }
}
