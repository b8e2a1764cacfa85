/// One versioned step of the schema, from a `schema/NNNN_name.sql` file.
///
/// The files are embedded at build time (see `Plugins/EmbedSchemaPlugin`) as `Migration.all`.
struct Migration: Sendable {
    let version: Int
    let name: String
    let sql: String

    static var latestVersion: Int { all.map(\.version).max() ?? 0 }
}
