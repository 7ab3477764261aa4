import ArgumentParser
import Foundation
import TokenLedger

/// `tokenledger migrate`: runs the versioned migrations (`migrations/`).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Run the schema migrations not yet applied (see migrations/); migrate status lists them.",
        discussion: """
            Each migration runs once per namespace and is recorded in Redis. An interrupted run resumes \
            from its checkpoint. Migration 2 imports the seed's token_usage:<user>:<date> hashes and \
            leaves them in place unless --delete-legacy is given (which also works after the import).
            """,
        subcommands: [MigrateRunCommand.self, MigrateStatusCommand.self],
        defaultSubcommand: MigrateRunCommand.self
    )
}

/// `tokenledger migrate [run]`.
struct MigrateRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the pending migrations (the default).")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Report what would be done; write nothing.")
    var dryRun = false

    @Flag(help: "Delete each legacy token_usage:* hash once its import is verified.")
    var deleteLegacy = false

    @Option(help: "Keys per SCAN step and per checkpoint.")
    var batchSize = 500

    @Option(help: "Pause this many milliseconds after each batch, to go easy on a busy server.")
    var pauseMs = 0

    @Option(
        help: "Seconds the run's lock lives unless extended (after every batch); a killed run blocks others this long.")
    var lockTtl = 60

    @OptionGroup var output: FormatOptions

    func run() async throws {
        try await reportingFailures {
            let formatter = try output.formatter()
            let options = try MigrationOptions(
                dryRun: dryRun, deleteLegacy: deleteLegacy, batchSize: batchSize, pause: .milliseconds(pauseMs),
                lockTTL: .seconds(lockTtl))
            // A held lock (busy) exits 69, a newer schema or a corrupt one 65: the exit table's statuses.
            let outcome = try await global.withRepository { repository in
                let outcome = try await MigrationRunner(repository: repository).run(options) { printError($0) }
                // The application's least-privilege user runs loaded scripts but may not load
                // them: the administrator's migrate loads them all (changes no data).
                if !dryRun { _ = try await Diagnostics.loadScripts(repository: repository) }
                return outcome
            }
            try formatter.print(outcome)
        }
    }
}

/// `tokenledger migrate status`.
struct MigrateStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "List the migrations, which are applied, interrupted or pending.")

    @OptionGroup var global: GlobalOptions

    @OptionGroup var output: FormatOptions

    func run() async throws {
        try await reportingFailures {
            let formatter = try output.formatter()
            let status = try await global.withRepository { repository in
                try await MigrationRunner(repository: repository).status()
            }
            try formatter.print(status)
        }
    }
}

extension MigrationRunner.Outcome: CommandResult {
    /// A row per migration step, then the schema version.
    func renderTable() throws -> String {
        var rows = [["version", "name", "action", "counts"]]
        for step in steps {
            rows.append([
                String(step.migration.version), step.migration.name,
                step.action.replacingOccurrences(of: "_", with: " "),
                step.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
            ])
        }
        return alignedColumns(rows)
            + "schema version: \(schemaVersion.map(String.init) ?? "none")\(dryRun ? " (dry run: nothing written)" : "")\n"
    }
}

extension MigrationRunner.Status: CommandResult {
    /// A row per migration, the schema version and what is pending.
    func renderTable() throws -> String {
        var rows = [["version", "name", "status", "applied at", "summary"]]
        for state in migrations {
            rows.append([
                String(state.migration.version), state.migration.name,
                state.status.replacingOccurrences(of: "_", with: " "), state.appliedAt ?? "-", state.migration.summary,
            ])
        }
        var text = alignedColumns(rows)
        text +=
            "schema version: \(schemaVersion.map(String.init) ?? "none") (this build writes \(currentSchemaVersion)); "
        text += "pending: \(pending.isEmpty ? "none" : pending.map(String.init).joined(separator: ", "))\n"
        if !unknownApplied.isEmpty {
            text += "applied by a newer build: \(unknownApplied.map(String.init).joined(separator: ", "))\n"
        }
        return text
    }
}
