import PostCallCPostgres
import Glibc

/// One connection to a PostgreSQL server through libpq, used from one thread at a time: the
/// fleet's shared outbox. Values are always bound as parameters; `?` placeholders are numbered
/// for PostgreSQL (`$1`, `$2`, ...) so SQL reads as it does for SQLite.
public final class PostgresConnection: SQLConnection {
    private let connection: OpaquePointer
    /// The URI without its password, for messages.
    public let description: String

    /// Statements that run longer are cancelled by the server, so a stuck server or lock cannot
    /// hang a worker forever.
    public static let statementTimeout = "30s"

    /// Connects to `uri` (`postgresql://user@host:5432/db?sslmode=require`); the password comes
    /// from the URI, `PGPASSFILE` or `PGPASSWORD`, as libpq reads them.
    public init(uri: String) throws {
        description = SecretMasking.maskURL(uri)
        guard let connection = PQconnectdb(uri) else {
            throw PostCallError(.database, "cannot connect to \(SecretMasking.maskURL(uri)): libpq is out of memory")
        }
        self.connection = connection
        // Every stored property is set: a throw from here on runs deinit, which finishes the connection.
        guard PQstatus(connection) == CONNECTION_OK else {
            throw PostCallError(.database, "cannot connect to \(description): \(Self.text(PQerrorMessage(connection)))")
        }
        try execute("SET statement_timeout = '\(Self.statementTimeout)'; SET client_min_messages = warning")
    }

    deinit { PQfinish(connection) }

    /// Whether the connection is still up.
    public var isConnected: Bool { PQstatus(connection) == CONNECTION_OK }

    /// Runs statements without parameters.
    public func execute(_ sql: String) throws {
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        try check(result, context: "running SQL")
    }

    /// Runs a statement with bound parameters; returns the number of rows it changed.
    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue] = []) throws -> Int {
        let result = try executeParameters(sql, values)
        defer { PQclear(result) }
        return Int(Self.text(PQcmdTuples(result))) ?? 0
    }

    /// Runs a query with bound parameters and maps each row.
    public func query<Row>(_ sql: String, _ values: [SQLValue] = [], row: (PostgresRow) throws -> Row) throws -> [Row] {
        let result = try executeParameters(sql, values)
        defer { PQclear(result) }
        return try (0..<PQntuples(result)).map { try row(PostgresRow(result: result, index: $0)) }
    }

    public var isInTransaction: Bool { PQtransactionStatus(connection) != PQTRANS_IDLE }

    public var beginWriteTransaction: String { "BEGIN" }

    private func executeParameters(_ sql: String, _ values: [SQLValue]) throws -> OpaquePointer? {
        let texts: [String?] = values.map {
            switch $0 {
            case .null: nil
            case .integer(let number): String(number)
            case .real(let number): String(number)
            case .text(let text): text
            }
        }
        let numbered = Self.numberPlaceholders(sql)
        let result = withCStrings(texts) { pointers in
            PQexecParams(connection, numbered, Int32(pointers.count), nil, pointers, nil, nil, 0)
        }
        do {
            try check(result, context: "running SQL")
        } catch {
            PQclear(result)
            throw error
        }
        return result
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
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? ""
        let primary = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) }
            ?? Self.text(PQerrorMessage(connection))
        switch state.prefix(2) {
        case "23", "22", "P0":
            throw PostCallError(.invalidInput, "rejected by the database: \(primary)")
        case "08", "57":
            throw PostCallError(.database, "database \(description) is unavailable (\(context), SQLSTATE \(state)): \(primary)")
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
public struct PostgresRow {
    fileprivate let result: OpaquePointer?
    fileprivate let index: Int32

    public func isNull(_ column: Int32) -> Bool { PQgetisnull(result, index, column) != 0 }
    public func text(_ column: Int32) -> String { String(cString: PQgetvalue(result, index, column)) }
    public func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
    public func int64(_ column: Int32) -> Int64 {
        let value = text(column)
        return Int64(value) ?? (value == "t" ? 1 : 0)
    }
    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
}

/// Calls `body` with C strings for `values` (`nil` stays a null pointer) that live for the call.
private func withCStrings<Result>(_ values: [String?], _ body: ([UnsafePointer<CChar>?]) -> Result) -> Result {
    var copies = values.map { $0.map { strdup($0) } ?? nil }
    defer { for copy in copies { free(copy) } }
    return copies.withUnsafeMutableBufferPointer { buffer in
        body(buffer.map { $0.map { UnsafePointer($0) } })
    }
}
