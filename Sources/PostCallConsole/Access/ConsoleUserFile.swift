import FoundationEssentials
import Glibc
import PostCall

/// The console's users: a text file the operator manages with `postcall console user add`,
/// one `name:role:bcrypt-hash` per line. Written whole to a new file (mode 0600) that then
/// replaces the old one, so a reader never sees half of it.
public struct ConsoleUserFile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The users in the file; none if it does not exist yet.
    public func load() throws -> [ConsoleUser] {
        guard let file = fopen(path, "r") else {
            if errno == ENOENT { return [] }
            throw failure("cannot read", errno)
        }
        defer { fclose(file) }
        var users: [ConsoleUser] = []
        var lineNumber = 0
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, file) > 0, let buffer {
            lineNumber += 1
            let line = String(cString: buffer).trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, ConsoleUser.isValidName(fields[0]), let role = ConsoleRole(rawValue: fields[1]),
                fields[2].hasPrefix("$2")
            else {
                throw PostCallError(
                    .invalidInput,
                    "\(path) line \(lineNumber) is not name:role:bcrypt-hash (role viewer or operator); fix or remove it with postcall console user")
            }
            users.append(ConsoleUser(name: fields[0], role: role, passwordHash: fields[2]))
        }
        return users
    }

    /// Adds `user`, or replaces the user of that name (a new password or role).
    @discardableResult
    public func upsert(_ user: ConsoleUser) throws -> Bool {
        var users = try load()
        let existed = users.contains { $0.name == user.name }
        users.removeAll { $0.name == user.name }
        users.append(user)
        try save(users)
        return existed
    }

    /// Removes the user called `name`; throws `notFound` if there is none.
    public func remove(name: String) throws {
        var users = try load()
        guard users.contains(where: { $0.name == name }) else {
            throw PostCallError(.notFound, "no console user \(name.debugDescription) in \(path)")
        }
        users.removeAll { $0.name == name }
        try save(users)
    }

    private func save(_ users: [ConsoleUser]) throws {
        var text = "# postcall console users: name:role:bcrypt hash. Managed by `postcall console user`.\n"
        for user in users.sorted(by: { $0.name < $1.name }) {
            text += "\(user.name):\(user.role.rawValue):\(user.passwordHash)\n"
        }
        let temporary = path + ".new-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("cannot write", errno, file: temporary) }
        var written = true
        Array(text.utf8).withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let result = write(descriptor, base + offset, bytes.count - offset)
                if result < 0 && errno == EINTR { continue }
                guard result > 0 else { written = false; return }
                offset += result
            }
        }
        let saved = written && fsync(descriptor) == 0
        let savedErrno = errno
        close(descriptor)
        guard saved, rename(temporary, path) == 0 else {
            let reason = saved ? errno : savedErrno
            unlink(temporary)
            throw failure("cannot write", reason)
        }
    }

    private func failure(_ what: String, _ code: Int32, file: String? = nil) -> PostCallError {
        PostCallError(
            .invalidInput,
            "\(what) the console users file \(file ?? path): \(String(cString: strerror(code))); set another with --users or POSTCALL_CONSOLE_USERS")
    }
}
