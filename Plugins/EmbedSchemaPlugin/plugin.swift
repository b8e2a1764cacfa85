import Foundation
import PackagePlugin

/// Embeds the migrations in `schema/` (SQLite), `schema/attempt_log/` (the SQLite outbox's
/// attempts) and `schema/postgres/` (PostgreSQL) and the `VERSION` file into the `PostCall`
/// module at build time.
@main
struct EmbedSchemaPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let schemaDirectory = context.package.directoryURL.appending(path: "schema")
        let sqlFiles = try ["", "attempt_log", "postgres"].map { schemaDirectory.appending(path: $0) }.flatMap { directory in
            try FileManager.default
                .contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "sql" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        let version = context.package.directoryURL.appending(path: "VERSION")
        return [
            .buildCommand(
                displayName: "Embedding \(sqlFiles.count) schema migrations",
                executable: try context.tool(named: "PostCallSchemaEmbedder").url,
                arguments: [output.path, version.path] + sqlFiles.map(\.path),
                inputFiles: sqlFiles + [version],
                outputFiles: [output]
            )
        ]
    }
}
