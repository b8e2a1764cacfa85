import Glibc

/// The folders a worker may read uploads from and delete them in, and the checks every path a
/// template renders goes through: a variable can never make the worker send (or delete) a file
/// outside them, nor the outbox database itself.
public struct FileAccess: Sendable {
    /// The allowed folders, links resolved.
    public let directories: [String]
    /// The outbox database, its attempt log and their `-wal` and `-shm` files, never sent even
    /// inside a folder.
    private let protectedPaths: Set<String>

    /// Why a rendered path cannot be sent. Messages name the file's base name only, never the
    /// folders around it.
    public enum Refusal: Error, Sendable, Equatable {
        /// Not there (yet): the IVR may still be writing it.
        case missing(name: String)
        /// Outside every allowed folder, after resolving links and `..`.
        case outside(name: String)
        /// A directory, a device, a pipe or a socket.
        case notRegular(name: String)
        /// The outbox database or its journal.
        case database(name: String)
        case unreadable(name: String, reason: String)

        public var message: String {
            switch self {
            case .missing(let name):
                "file \(name) does not exist (yet) in the folders the worker reads files from; the IVR may still be writing it"
            case .outside(let name):
                "file \(name) is outside the folders the worker may read files from (--files-dir, POSTCALL_FILES_DIR)"
            case .notRegular(let name): "file \(name) is not a regular file (a directory, a device or a pipe)"
            case .database(let name): "file \(name) is the outbox database; it is never sent"
            case .unreadable(let name, let reason): "file \(name) cannot be read: \(reason)"
            }
        }
    }

    /// `directories` as given on the command line (none: ``defaultDirectory(for:)``); a SQLite
    /// outbox's files are never sent.
    public init(directories: [String], outbox: OutboxLocation) {
        let given = directories.isEmpty ? [Self.defaultDirectory(for: outbox)] : directories
        self.directories = given.map { Self.realPath($0) ?? Self.normalized($0) }
        protectedPaths = Set(outbox.databasePath.map { path in
            [path, Database.attemptLogPath(ofOutbox: path)].flatMap { given in
                let file = Self.realPath(given) ?? Self.normalized(given)
                return [file, file + "-wal", file + "-shm", file + "-journal"]
            }
        } ?? [])
    }

    /// The default folder: `recordings` beside a SQLite file, or `/var/lib/postcall/recordings`
    /// on a host of a PostgreSQL fleet.
    public static func defaultDirectory(for outbox: OutboxLocation) -> String {
        outbox.besideDatabase("recordings") ?? "/var/lib/postcall/recordings"
    }

    /// The real path of `path` if it lies inside an allowed folder. A relative path is taken
    /// relative to the first folder.
    public func resolve(_ path: String) -> Result<String, Refusal> {
        let name = Self.baseName(path)
        let absolute = path.hasPrefix("/") ? path : (directories.first ?? ".") + "/" + path
        guard let real = Self.realPath(absolute) else {
            return errno == ENOENT || errno == ENOTDIR ? .failure(.missing(name: name)) : .failure(.unreadable(name: name, reason: Self.errorText()))
        }
        guard directories.contains(where: { real.hasPrefix($0 == "/" ? "/" : $0 + "/") }) else { return .failure(.outside(name: name)) }
        guard !protectedPaths.contains(real) else { return .failure(.database(name: name)) }
        return .success(real)
    }

    /// Opens `path` for an upload after ``resolve(_:)``'s checks; only a regular file is opened.
    func open(_ path: String) -> Result<UploadFile, Refusal> {
        let name = Self.baseName(path)
        let real: String
        switch resolve(path) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let resolved): real = resolved
        }
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        let descriptor = Glibc.open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else {
            return errno == ENOENT ? .failure(.missing(name: name)) : .failure(.unreadable(name: name, reason: Self.errorText()))
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            return .failure(.notRegular(name: name))
        }
        return .success(UploadFile(descriptor: descriptor, path: real, size: Int64(status.st_size)))
    }

    /// Deletes a file that ``resolve(_:)`` accepts; never anything outside the folders.
    @discardableResult
    public func delete(_ path: String) -> Bool {
        guard case .success(let real) = resolve(path) else { return false }
        return unlink(real) == 0
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `path` without a trailing slash, for a folder that does not exist yet.
    private static func normalized(_ path: String) -> String {
        var trimmed = path
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
