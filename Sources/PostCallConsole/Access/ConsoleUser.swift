/// What a console user may do.
public enum ConsoleRole: String, Sendable, CaseIterable {
    /// Reads history, events and the dashboard.
    case viewer
    /// A viewer who may also retry events.
    case `operator`

    public var mayRetry: Bool { self == .operator }
}

/// One line of the users file: a name, a role and a bcrypt hash of the password.
public struct ConsoleUser: Sendable, Equatable {
    public var name: String
    public var role: ConsoleRole
    public var passwordHash: String

    public init(name: String, role: ConsoleRole, passwordHash: String) {
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
    }

    /// Names appear in logs and pages: letters, digits, `.`, `_`, `-` and `@`, 1 to 64 of them.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_@".unicodeScalars.contains($0)) }
    }
}
