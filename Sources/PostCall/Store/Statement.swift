import PostCallCSQLite

/// A prepared statement, reused through ``Database``'s statement cache.
final class Statement: SQLRow {
    let handle: OpaquePointer
    private unowned let database: Database

    init(database: Database, sql: String) throws {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw database.error(code, context: "preparing SQL")
        }
        self.handle = handle
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ values: [SQLValue]) throws {
        // Every parameter is bound again below (the count is checked), and binding one frees the
        // value it replaces: clearing them all first cost the store thread 400 instructions an
        // event more (callgrind).
        sqlite3_reset(handle)
        // SQLite would leave missing parameters NULL and refuse extra ones one by one: a count
        // that does not match is a bug in the caller, reported with the SQL.
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard values.count == expected else {
            let sql = sqlite3_sql(handle).map { String(cString: $0) } ?? "?"
            throw PostCallError(.database, "SQL takes \(expected) parameters but was given \(values.count): \(sql)")
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(handle, index)
            case .integer(let number): code = sqlite3_bind_int64(handle, index, number)
            case .real(let number): code = sqlite3_bind_double(handle, index, number)
            case .text(let text):
                // A native string's UTF-8 bytes, with their length: no C string copied out first.
                code =
                    text.utf8.withContiguousStorageIfAvailable {
                        sqlite3_bind_text(handle, index, $0.baseAddress, Int32(clamping: $0.count), postcall_sqlite_transient())
                    } ?? sqlite3_bind_text(handle, index, text, -1, postcall_sqlite_transient())
            }
            guard code == SQLITE_OK else { throw database.error(code, context: "binding parameter \(index)") }
        }
    }

    /// Advances to the next row; `false` when the statement is done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE:
            sqlite3_reset(handle)
            return false
        default:
            sqlite3_reset(handle)
            throw database.error(code, context: "running SQL")
        }
    }

    func reset() { sqlite3_reset(handle) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}
