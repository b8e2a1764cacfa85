import Glibc
import PostCall
import Synchronization

/// The users file as the running console sees it: read again whenever it changes on disk, so
/// `postcall console user add` or `remove` takes effect at the next request, with no restart.
public final class ConsoleUsers: Sendable {
    public let file: ConsoleUserFile
    private struct Snapshot {
        var modified = timespec()
        var size: Int = -1
        var inode: ino_t = 0
        var users: [String: ConsoleUser] = [:]
    }
    private let snapshot = Mutex(Snapshot())

    public init(file: ConsoleUserFile) {
        self.file = file
    }

    /// The user called `name` as the file says now.
    public func user(named name: String) throws -> ConsoleUser? {
        try current()[name]
    }

    /// How many users the file has.
    public func count() throws -> Int {
        try current().count
    }

    private func current() throws -> [String: ConsoleUser] {
        var status = stat()
        let exists = stat(file.path, &status) == 0
        return try snapshot.withLock { snapshot in
            guard exists else {
                snapshot = Snapshot()
                return [:]
            }
            if snapshot.size == Int(status.st_size) && snapshot.inode == status.st_ino
                && snapshot.modified.tv_sec == status.st_mtim.tv_sec && snapshot.modified.tv_nsec == status.st_mtim.tv_nsec
            {
                return snapshot.users
            }
            let users = try file.load()
            snapshot = Snapshot(
                modified: status.st_mtim, size: Int(status.st_size), inode: status.st_ino,
                users: Dictionary(users.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last }))
            return snapshot.users
        }
    }
}
