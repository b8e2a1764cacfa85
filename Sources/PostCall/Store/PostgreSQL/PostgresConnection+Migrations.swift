extension PostgresConnection {
    /// The advisory lock that serialises migrations across every host of a fleet: "postcall".
    static let migrationLock: Int64 = 0x706F_7374_6361_6C6C

    /// The schema version recorded in the database (0 for an empty one).
    public var schemaVersion: Int {
        get throws {
            guard try query("SELECT to_regclass('postcall_schema') IS NOT NULL", row: { $0.int64(0) }).first == 1 else { return 0 }
            return Int(try query("SELECT coalesce(max(version), 0) FROM postcall_schema", row: { $0.int64(0) }).first ?? 0)
        }
    }

    /// Throws unless the schema is the one this postcall was built for: anything older (or
    /// missing) is upgraded by `postcall migrate`, run by the database's owner.
    func requireCurrentSchema() throws {
        let latest = Migration.postgres.map(\.version).max() ?? 0
        let current = try schemaVersion
        if current > latest {
            throw PostCallError(
                .schemaTooNew,
                "database \(description) has schema version \(current), newer than this postcall understands (\(latest)); run a newer postcall")
        }
        guard current == latest else {
            throw PostCallError(
                .database,
                "database \(description) is at schema version \(current), not \(latest); run `postcall migrate --db …` as its owner first")
        }
    }

    /// Creates or upgrades the schema from `schema/postgres/`. Many hosts may start at once: an
    /// advisory lock lets one migrate while the others wait, then find nothing left to do.
    public func migrate() throws {
        let latest = Migration.postgres.map(\.version).max() ?? 0
        try execute("SELECT pg_advisory_lock(\(Self.migrationLock))")
        defer { try? execute("SELECT pg_advisory_unlock(\(Self.migrationLock))") }
        try execute("CREATE TABLE IF NOT EXISTS postcall_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        let current = try schemaVersion
        if current > latest {
            throw PostCallError(
                .schemaTooNew,
                "database \(description) has schema version \(current), newer than this postcall understands (\(latest)); run a newer postcall")
        }
        for migration in Migration.postgres where migration.version > current {
            try writeTransaction {
                do {
                    try execute(migration.sql)
                } catch let error as PostCallError {
                    throw PostCallError(error.code, "migration postgres/\(migration.name) failed: \(error.message)")
                }
                try run("INSERT INTO postcall_schema (version) VALUES (?)", [.integer(Int64(migration.version))])
            }
        }
    }
}
