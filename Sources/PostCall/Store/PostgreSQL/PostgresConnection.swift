import PostCallCPostgres
import Glibc

/// One connection to a PostgreSQL server through libpq, used from one thread at a time: the
/// fleet's shared outbox. Values are always bound as parameters; `?` placeholders are numbered
/// for PostgreSQL (`$1`, `$2`, ...) so SQL reads as it does for SQLite.
///
/// A dropped connection (a server restart, a failover) is reopened by the next statement; until
/// the server answers, statements fail with ``PostCallError/Code/databaseUnavailable``.
public final class PostgresConnection: SQLConnection {
    private let connection: OpaquePointer
    /// The URI without its password, for messages.
    public let description: String
    public var dialect: SQLDialect { .postgres }
    /// Whether this session opened a transaction that has not ended. Kept here rather than asked
    /// of libpq, which cannot tell once the connection dropped: statements of a transaction
    /// whose connection dropped must fail, not run on a new session outside any transaction.
    private var transactionOpen = false
    /// Statements prepared on this session, by their SQL: parsed and planned once, not per call.
    private var prepared: [String: String] = [:]
    private static let preparedLimit = 256

    /// Statements that run longer are cancelled by the server, so a stuck server or lock cannot
    /// hang a worker forever.
    public static let statementTimeout = "30s"
    /// How long connecting (and reconnecting) may take before it fails, unless the URI says.
    public static let connectTimeoutSeconds = 5

    /// Connects to `uri` (`postgresql://user@host:5432/db?sslmode=require`); the password comes
    /// from the URI, `PGPASSFILE` or `PGPASSWORD`, as libpq reads them.
    public init(uri: String) throws {
        description = SecretMasking.maskURL(uri)
        // A server that does not answer (a failover in progress, a host that died, a dropped
        // route) must not hang a worker: the statement timeout is the server's to enforce, so the
        // connection itself gives up on a silent peer (TCP keepalives, and unacknowledged data
        // after 30 s). These come before the URI, so a value in the URI still wins.
        let keywords: [String?] = [
            "connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname", nil,
        ]
        let values: [String?] = ["\(Self.connectTimeoutSeconds)", "10", "5", "3", "30000", uri, nil]
        let opened = withCStrings(keywords) { keywords in
            withCStrings(values) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection = opened else {
            throw PostCallError(.databaseUnavailable, "cannot connect to \(SecretMasking.maskURL(uri)): libpq is out of memory")
        }
        self.connection = connection
        // libpq would print the server's notices (a shutdown's "terminating connection") on
        // standard error, in the middle of the worker's logfmt or JSON lines. What they announce
        // comes back as the next statement's error, which the worker logs.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // Every stored property is set: a throw from here on runs deinit, which finishes the connection.
        guard PQstatus(connection) == CONNECTION_OK else {
            throw PostCallError(.databaseUnavailable, "cannot connect to \(description): \(Self.text(PQerrorMessage(connection)))")
        }
        try startSession()
    }

    deinit { PQfinish(connection) }

    /// Settings every session starts with, on the first connection and after a reconnection.
    private func startSession() throws {
        prepared.removeAll()
        try execute("SET statement_timeout = '\(Self.statementTimeout)'; SET client_min_messages = warning")
    }

    /// Whether the connection is up.
    public var isConnected: Bool { PQstatus(connection) == CONNECTION_OK }

    /// The connection's socket, readable when the server sent something (a notification).
    var socket: Int32 { PQsocket(connection) }

    /// Reads whatever the server sent and frees the notifications among it; a closed connection
    /// shows in ``isConnected`` afterwards.
    func consumeNotifications() {
        guard PQconsumeInput(connection) == 1 else { return }
        while let notification = PQnotifies(connection) { PQfreemem(notification) }
    }

    /// Reopens a dropped connection, once per call: the caller's retry cadence is the backoff.
    private func reconnectIfDropped() throws {
        guard PQstatus(connection) != CONNECTION_OK else { return }
        guard !transactionOpen else {
            throw PostCallError(
                .databaseUnavailable, "database \(description) dropped the connection in a transaction, which the server rolled back")
        }
        PQreset(connection)
        guard PQstatus(connection) == CONNECTION_OK else {
            throw PostCallError(
                .databaseUnavailable, "database \(description) is unreachable: \(Self.text(PQerrorMessage(connection)))")
        }
        try startSession()
        try reconnected()
    }

    /// Called after a dropped connection was reopened, for session state beyond the settings
    /// (a `LISTEN`).
    var reconnected: () throws -> Void = {}

    /// Runs statements without parameters.
    public func execute(_ sql: String) throws {
        switch sql {
        case "BEGIN":
            try reconnectIfDropped()
            try send(sql)
            transactionOpen = true
        case "COMMIT", "ROLLBACK":
            defer { transactionOpen = false }
            // The server rolled back a transaction whose connection dropped: nothing to end.
            if sql == "ROLLBACK" && PQstatus(connection) != CONNECTION_OK { return }
            try send(sql)
        default:
            try reconnectIfDropped()
            try send(sql)
        }
    }

    private func send(_ sql: String) throws {
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        try check(result, context: "running SQL")
    }

    /// Runs a statement with bound parameters; returns the number of rows it changed.
    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue]) throws -> Int {
        let result = try executeParameters(sql, values)
        defer { PQclear(result) }
        return Int(Self.text(PQcmdTuples(result))) ?? 0
    }

    /// Runs a query with bound parameters and maps each row.
    public func query<Row>(_ sql: String, _ values: [SQLValue], row: (any SQLRow) throws -> Row) throws -> [Row] {
        let result = try executeParameters(sql, values)
        defer { PQclear(result) }
        return try (0..<PQntuples(result)).map { try row(PostgresRow(result: result, index: $0)) }
    }

    public var isInTransaction: Bool { transactionOpen }

    public func beginWriteTransaction() throws { try execute("BEGIN") }

    public func endTransaction(commit: Bool) throws { try execute(commit ? "COMMIT" : "ROLLBACK") }

    private func executeParameters(_ sql: String, _ values: [SQLValue]) throws -> OpaquePointer? {
        try reconnectIfDropped()
        let texts: [String?] = values.map {
            switch $0 {
            case .null: nil
            case .integer(let number): String(number)
            case .real(let number): String(number)
            case .text(let text): text
            }
        }
        let name = try preparedName(sql, parameters: Int32(values.count))
        let result = withCStrings(texts) { pointers in
            if let name {
                PQexecPrepared(connection, name, Int32(pointers.count), pointers, nil, nil, 0)
            } else {
                PQexecParams(connection, Self.numberPlaceholders(sql), Int32(pointers.count), nil, pointers, nil, nil, 0)
            }
        }
        do {
            try check(result, context: "running SQL")
        } catch {
            PQclear(result)
            throw error
        }
        return result
    }

    /// The name `sql` is prepared under on this session, preparing it the first time; `nil` once
    /// the session holds as many as it may (history filters make many shapes), to run it unprepared.
    private func preparedName(_ sql: String, parameters: Int32) throws -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.preparedLimit else { return nil }
        let name = "postcall_\(prepared.count + 1)"
        let result = PQprepare(connection, name, Self.numberPlaceholders(sql), parameters, nil)
        defer { PQclear(result) }
        try check(result, context: "preparing SQL")
        prepared[sql] = name
        return name
    }

    /// `?` becomes `$1`, `$2`, ... outside quoted text; `?N` becomes `$N`.
    static func numberPlaceholders(_ sql: String) -> String {
        var output = ""
        var next = 1
        var inQuote = false
        var characters = Array(sql)[...]
        while let character = characters.popFirst() {
            if character == "'" { inQuote.toggle() }
            guard character == "?", !inQuote else {
                output.append(character)
                continue
            }
            let digits = characters.prefix { $0.isNumber }
            if digits.isEmpty {
                output += "$\(next)"
                next += 1
            } else {
                output += "$" + String(digits)
                characters = characters.dropFirst(digits.count)
            }
        }
        return output
    }

    /// Turns a failed result into a ``PostCallError`` that keeps PostgreSQL's SQLSTATE in its
    /// message, and tells bad input (a constraint, a trigger's refusal) from the server's trouble.
    private func check(_ result: OpaquePointer?, context: String) throws {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK else { return }
        guard PQstatus(connection) == CONNECTION_OK else {
            throw PostCallError(
                .databaseUnavailable,
                "database \(description) closed the connection (\(context)): \(Self.text(PQerrorMessage(connection))); reconnecting")
        }
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? ""
        let primary = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) }
            ?? Self.text(PQerrorMessage(connection))
        switch state.prefix(2) {
        case "23", "22", "P0":
            throw PostCallError(.invalidInput, "rejected by the database: \(primary)")
        case "08", "57":
            throw PostCallError(.databaseUnavailable, "database \(description) is unavailable (\(context), SQLSTATE \(state)): \(primary)")
        case "40", "55":
            throw PostCallError(.databaseBusy, "database \(description) is busy (\(context), SQLSTATE \(state)): \(primary)")
        default:
            throw PostCallError(
                .database, "database \(description): \(context): \(primary)\(state.isEmpty ? "" : " (SQLSTATE \(state))")")
        }
    }

    private static func text(_ pointer: UnsafePointer<CChar>?) -> String {
        pointer.map { String(cString: $0).trimmingWhitespace() } ?? ""
    }
}

/// One row of a PostgreSQL result, read as text (libpq's text format).
struct PostgresRow: SQLRow {
    fileprivate let result: OpaquePointer?
    fileprivate let index: Int32

    func isNull(_ column: Int32) -> Bool { PQgetisnull(result, index, column) != 0 }
    func text(_ column: Int32) -> String { String(cString: PQgetvalue(result, index, column)) }
    /// Integers as text, booleans as `t` or `f`, and a numeric with no fraction (`least` of a
    /// bigint and a numeric literal) as its integer.
    func int64(_ column: Int32) -> Int64 {
        let value = text(column)
        if let number = Int64(value) { return number }
        if value == "t" { return 1 }
        return Double(value).map { Int64(exactly: $0.rounded()) ?? .max } ?? 0
    }
}

/// Calls `body` with C strings for `values` (`nil` stays a null pointer) that live for the call.
private func withCStrings<Result>(_ values: [String?], _ body: ([UnsafePointer<CChar>?]) -> Result) -> Result {
    var copies = values.map { $0.map { strdup($0) } ?? nil }
    defer { for copy in copies { free(copy) } }
    return copies.withUnsafeMutableBufferPointer { buffer in
        body(buffer.map { $0.map { UnsafePointer($0) } })
    }
}
