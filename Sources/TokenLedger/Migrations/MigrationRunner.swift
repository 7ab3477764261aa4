import Foundation
import RedisClient

/// Runs the versioned migrations of a namespace and reports their state.
///
/// Applied versions are recorded in `<ns>:{global}:migrations` (version → JSON with `name`,
/// `applied_at` and the counts); each runs once. A migration that is interrupted keeps a
/// checkpoint (its `SCAN` cursor and counts) in `<ns>:{global}:migration:<version>` and resumes
/// from it; everything it writes is idempotent, so work redone after the checkpoint counts once.
/// Runs hold the namespace's `migrate` lock (``JobLock``).
public struct MigrationRunner: Sendable {
    /// A migration as `migrate status` lists it.
    public struct Info: Sendable, Hashable, Codable {
        /// The version.
        public var version: Int
        /// Its name, as in `migrations/NNNN-<name>.md`.
        public var name: String
        /// What it does.
        public var summary: String
    }

    /// One migration's state in a namespace.
    public struct State: Sendable, Hashable, Codable {
        /// The migration.
        public var migration: Info
        /// `applied`, `in_progress` (interrupted; resumes from its checkpoint) or `pending`.
        public var status: String
        /// When it was applied (ISO 8601), if it was (JSON `null` if not).
        @ExplicitNull public var appliedAt: String?
        /// The counts it recorded when applied, or its checkpoint's counts while in progress.
        public var counts: [String: Int]

        enum CodingKeys: String, CodingKey {
            case migration, status, counts
            case appliedAt = "applied_at"
        }
    }

    /// `migrate status`: the schema versions and every migration's state.
    public struct Status: Sendable, Hashable, Codable {
        /// The schema version stored in the namespace (`nil`: none yet).
        public var schemaVersion: Int?
        /// The schema version this build writes.
        public var currentSchemaVersion: Int
        /// Every known migration, in order.
        public var migrations: [State]
        /// Applied versions this build does not know (applied by a newer build).
        public var unknownApplied: [Int]

        /// The versions still to run (pending or in progress).
        public var pending: [Int] { migrations.filter { $0.status != "applied" }.map(\.migration.version) }

        enum CodingKeys: String, CodingKey {
            case migrations, pending
            case schemaVersion = "schema_version"
            case currentSchemaVersion = "current_schema_version"
            case unknownApplied = "unknown_applied"
        }

        /// Decodes a status (`pending` is derived and ignored).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            schemaVersion = try c.decodeIfPresent(Int.self, forKey: .schemaVersion)
            currentSchemaVersion = try c.decode(Int.self, forKey: .currentSchemaVersion)
            migrations = try c.decode([State].self, forKey: .migrations)
            unknownApplied = try c.decode([Int].self, forKey: .unknownApplied)
        }

        init(schemaVersion: Int?, currentSchemaVersion: Int, migrations: [State], unknownApplied: [Int]) {
            self.schemaVersion = schemaVersion
            self.currentSchemaVersion = currentSchemaVersion
            self.migrations = migrations
            self.unknownApplied = unknownApplied
        }

        /// Encodes every field, `pending` included; `schema_version` is `null` when none is stored.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(schemaVersion, forKey: .schemaVersion)
            try c.encode(currentSchemaVersion, forKey: .currentSchemaVersion)
            try c.encode(migrations, forKey: .migrations)
            try c.encode(unknownApplied, forKey: .unknownApplied)
            try c.encode(pending, forKey: .pending)
        }
    }

    /// What one migration did in a run.
    public struct Step: Sendable, Hashable, Codable {
        /// The migration.
        public var migration: Info
        /// `applied` (now), `already_applied`, `would_apply` (dry run) or `deleted_legacy`
        /// (`--delete-legacy` after migration 2 was applied earlier).
        public var action: String
        /// What it did.
        public var counts: [String: Int]
    }

    /// What a `migrate` run did.
    public struct Outcome: Sendable, Hashable, Codable {
        /// Whether it was a dry run.
        public var dryRun: Bool
        /// Every known migration, in order.
        public var steps: [Step]
        /// The schema version stored after the run (`nil`, JSON `null`: none).
        @ExplicitNull public var schemaVersion: Int?

        enum CodingKeys: String, CodingKey {
            case steps
            case dryRun = "dry_run"
            case schemaVersion = "schema_version"
        }
    }

    /// The repository whose namespace is migrated.
    public let repository: TokenRepository

    /// Every migration this build knows, in version order.
    static let all: [any Migration] = [SchemaVersionMigration(), LegacyImportMigration(), CompactCallIDsMigration()]

    /// Every migration this build knows, in version order.
    public static var migrations: [Info] {
        all.map { Info(version: $0.version, name: $0.name, summary: $0.summary) }
    }

    /// Creates a runner for a repository's namespace.
    ///
    /// - Throws: ``LedgerError`` when the Lua scripts are missing from the installation.
    public init(repository: TokenRepository) throws(LedgerError) {
        self.repository = repository
    }

    /// The stored schema version and every migration's state. Read-only.
    ///
    /// - Throws: ``LedgerError`` (corrupt records); `RedisError`.
    public func status() async throws -> Status {
        let keys = repository.keys
        let schemaRead = GET(keys.schema)
        let hashReads = [HGETALL(keys.migrations)] + Self.all.map { HGETALL(keys.migrationState($0.version)) }
        let replies = try await repository.pool.pipeline([schemaRead.command] + hashReads.map(\.command))
        let schema = try Self.schemaVersion(try schemaRead.decodeReply(replies[0]), key: keys.schema)
        let applied = try hashReads[0].decodeReply(replies[1])
        var states: [State] = []
        for (index, migration) in Self.all.enumerated() {
            let info = Info(version: migration.version, name: migration.name, summary: migration.summary)
            if let record = applied[String(migration.version)] {
                let decoded = Self.decodeRecord(record)
                states.append(
                    State(migration: info, status: "applied", appliedAt: decoded.appliedAt, counts: decoded.counts))
                continue
            }
            let checkpoint = try hashReads[1 + index].decodeReply(replies[2 + index])
            if checkpoint.isEmpty {
                states.append(State(migration: info, status: "pending", appliedAt: nil, counts: [:]))
            } else {
                let counts = checkpoint.compactMapValues { Int($0) }.filter { $0.key != "cursor" }
                states.append(State(migration: info, status: "in_progress", appliedAt: nil, counts: counts))
            }
        }
        let known = Set(Self.all.map(\.version))
        let unknown = applied.keys.compactMap(Int.init).filter { !known.contains($0) }.sorted()
        return Status(
            schemaVersion: schema, currentSchemaVersion: LedgerKeys.schemaVersion, migrations: states,
            unknownApplied: unknown)
    }

    /// Runs every migration not yet applied, in order, under the namespace's `migrate` lock.
    ///
    /// - Parameters:
    ///   - options: Dry run, legacy deletion, batch size, pause.
    ///   - progress: Called with short lines while long scans run (for stderr).
    /// - Returns: What each migration did.
    /// - Throws: ``LedgerError`` with code ``LedgerError/Code/busy`` when another run holds the lock,
    ///   ``LedgerError/Code/newerSchema`` when the data is newer than this build; `RedisError`.
    public func run(_ options: MigrationOptions, progress: (@Sendable (String) -> Void)? = nil) async throws -> Outcome
    {
        var lock: JobLock?
        if !options.dryRun {
            guard let taken = try await JobLock.acquire("migrate", repository: repository, ttl: options.lockTTL) else {
                throw LedgerError(
                    code: .busy,
                    message:
                        "another migrate run holds \(repository.keys.lock("migrate")); try again when it has finished")
            }
            lock = taken
        }
        do {
            let outcome = try await work(options, lock: lock, progress: progress)
            if let lock { try await lock.release() }
            return outcome
        } catch {
            if let lock { _ = try? await lock.release() }
            throw error
        }
    }

    private func work(
        _ options: MigrationOptions, lock: JobLock?, progress: (@Sendable (String) -> Void)?
    ) async throws -> Outcome {
        let before = try await status()
        if let stored = before.schemaVersion, stored > LedgerKeys.schemaVersion {
            throw LedgerError(
                code: .newerSchema,
                message: "namespace '\(repository.keys.namespace)' has schema version \(stored), newer than this "
                    + "build's \(LedgerKeys.schemaVersion); upgrade tokenledger before migrating")
        }
        var steps: [Step] = []
        for (migration, state) in zip(Self.all, before.migrations) {
            let context = MigrationContext(
                repository: repository, options: options, version: migration.version, lock: lock,
                progress: progress)
            if state.status == "applied" {
                if options.deleteLegacy, let legacy = migration as? LegacyImportMigration {
                    let counts = try await legacy.deleteImported(context)
                    steps.append(Step(migration: state.migration, action: "deleted_legacy", counts: counts))
                } else {
                    steps.append(Step(migration: state.migration, action: "already_applied", counts: state.counts))
                }
                continue
            }
            progress?("migration \(migration.version) (\(migration.name)): \(options.dryRun ? "dry run" : "running")")
            let counts = try await migration.apply(context)
            if options.dryRun {
                steps.append(Step(migration: state.migration, action: "would_apply", counts: counts))
                continue
            }
            try await markApplied(migration, counts: counts)
            steps.append(Step(migration: state.migration, action: "applied", counts: counts))
        }
        var schema = try Self.schemaVersion(
            try await repository.pool.send(GET(repository.keys.schema)), key: repository.keys.schema)
        if schema == nil && !options.dryRun {
            // Every migration is applied (each step above ran or had run), so the layout is this
            // build's: a lost version key is recorded again, or writers would refuse the namespace
            // (it holds data) with nothing left for `migrate` to do.
            schema = try await repository.run(
                MigrationScript(keys: [repository.keys.schema], operation: .schema(version: LedgerKeys.schemaVersion)))
        }
        return Outcome(dryRun: options.dryRun, steps: steps, schemaVersion: schema)
    }

    private func markApplied(_ migration: any Migration, counts: [String: Int]) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let record = Record(name: migration.name, appliedAt: ISO8601Instant.format(Date()), counts: counts)
        _ = try await repository.run(
            MigrationScript(
                keys: [repository.keys.migrations, repository.keys.migrationState(migration.version)],
                operation: .applied(
                    version: migration.version, record: String(decoding: try encoder.encode(record), as: UTF8.self))))
    }

    /// The JSON kept per applied version.
    struct Record: Codable {
        var name: String
        var appliedAt: String
        var counts: [String: Int]

        enum CodingKeys: String, CodingKey {
            case name, counts
            case appliedAt = "applied_at"
        }
    }

    static func decodeRecord(_ text: String) -> (appliedAt: String?, counts: [String: Int]) {
        guard let record = try? JSONDecoder().decode(Record.self, from: Data(text.utf8)) else { return (nil, [:]) }
        return (record.appliedAt, record.counts)
    }

    static func schemaVersion(_ stored: String?, key: String) throws -> Int? {
        guard let text = stored else { return nil }
        guard let version = Int(text) else {
            throw LedgerError(code: .corruptData, message: "\(key) is '\(text)', not a schema version number")
        }
        return version
    }
}
