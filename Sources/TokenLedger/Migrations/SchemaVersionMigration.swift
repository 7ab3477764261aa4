import RedisClient

/// Migration 1 (`migrations/0001-schema-version.md`): records schema version 1 in
/// `<ns>:{global}:schema` when the namespace has none (`SET NX`, in `migration.lua`).
///
/// Version 1, not the version this build writes: a namespace without the key may hold version-1
/// data (call ids not yet converted), and writers refuse version 1 until migration 3 has converted
/// them and moved the version to 2. Writing 2 here would open the namespace to new-layout writes
/// while old call ids are still unconverted (a replay of such a call would count twice).
struct SchemaVersionMigration: Migration {
    let version = 1
    /// The version it records (the layout before migration 3).
    static let recordedVersion = 1
    let name = "schema-version"
    let summary = "records the schema version (1; later migrations move it) in <ns>:{global}:schema"

    func apply(_ context: MigrationContext) async throws -> [String: Int] {
        let keys = context.repository.keys
        if context.options.dryRun {
            let stored = try await context.repository.pool.send(GET(keys.schema)).flatMap { Int($0) }
            return ["schema_version": stored ?? Self.recordedVersion]
        }
        let stored = try await context.repository.run(
            MigrationScript(keys: [keys.schema], operation: .schema(version: Self.recordedVersion)))
        return ["schema_version": stored ?? Self.recordedVersion]
    }
}
