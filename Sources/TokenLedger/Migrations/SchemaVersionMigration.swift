import RedisClient

/// Migration 1 (`migrations/0001-schema-version.md`): records the schema version this build writes
/// in `<ns>:{global}:schema` when the namespace has none (`SET NX`, in `migration.lua`).
struct SchemaVersionMigration: Migration {
    let version = 1
    let name = "schema-version"
    let summary = "records the schema version (\(LedgerKeys.schemaVersion)) in <ns>:{global}:schema"

    func apply(_ context: MigrationContext) async throws -> [String: Int] {
        let keys = context.repository.keys
        if context.options.dryRun {
            let stored = try await context.repository.pool.send(GET(keys.schema)).flatMap { Int($0) }
            return ["schema_version": stored ?? LedgerKeys.schemaVersion]
        }
        let reply = try await context.repository.pool.evaluate(
            context.scripts.migration, keys: [keys.schema], arguments: ["schema", LedgerKeys.schemaVersion])
        return ["schema_version": Int(reply.int ?? Int64(LedgerKeys.schemaVersion))]
    }
}
