/// An error that says what failed and what to do about it.
///
/// The `code` is stable and meant for programs and tests; the `message` is for the person who
/// reads it in a terminal or a log and names the entry, file or URL involved.
public struct PostCallError: Error, CustomStringConvertible, Sendable {
    /// A stable, machine-readable category of ``PostCallError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The database could not be opened, read or written.
        public static let database = Code("database")
        /// The database server cannot be reached, or dropped the connection; retried.
        public static let databaseUnavailable = Code("database_unavailable")
        /// Another connection held the database lock for longer than the busy timeout.
        public static let databaseBusy = Code("database_busy")
        /// The disk is full.
        public static let diskFull = Code("disk_full")
        /// The database file or its directory is not writable.
        public static let readOnly = Code("read_only")
        /// The database was written by a newer postcall.
        public static let schemaTooNew = Code("schema_too_new")
        /// A command-line value or a stored row is malformed.
        public static let invalidInput = Code("invalid_input")
        /// A webservice or event does not exist.
        public static let notFound = Code("not_found")
        /// A template could not be rendered into a request.
        public static let template = Code("template")
        /// libcurl refused an operation.
        public static let transport = Code("transport")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Whether the error comes from what the user typed or stored, not from the system.
    public var isBadInput: Bool {
        code == .invalidInput || code == .notFound || code == .template
    }
}
