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

    @Option(help: "Seconds the run's lock lives unless extended (after every batch); a killed run blocks others this long.")
    var lockTtl = 60

    @Option(help: "Output format: table or json (sorted keys).")
    var format: OperationFormat = .table

    func run() async throws {
        try await reportingFailures {
            let options = try MigrationOptions(
                dryRun: dryRun, deleteLegacy: deleteLegacy, batchSize: batchSize, pause: .milliseconds(pauseMs),
                lockTTL: .seconds(lockTtl))
            let outcome: MigrationRunner.Outcome
            do {
                outcome = try await global.withRepository { repository in
                    let outcome = try await MigrationRunner(repository: repository).run(options) { printError($0) }
                    // The application's least-privilege user runs loaded scripts but may not load
                    // them: the administrator's migrate loads them all (changes no data).
                    if !dryRun { _ = try await Diagnostics.loadScripts(repository: repository) }
                    return outcome
                }
            } catch let error as LedgerError where error.code == .busy {
                throw CLIFailure(exitCode: .unavailable, message: error.message)
            } catch let error as LedgerError where error.code == .newerSchema || error.code == .corruptData {
                throw CLIFailure(exitCode: .dataError, message: error.message)
            }
            switch format {
            case .json:
                try printJSON(outcome)
            case .table:
                var rows = [["version", "name", "action", "counts"]]
                for step in outcome.steps {
                    rows.append([
                        String(step.migration.version), step.migration.name, step.action.replacingOccurrences(of: "_", with: " "),
                        step.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
                    ])
                }
                print(tableText(rows), terminator: "")
                print("schema version: \(outcome.schemaVersion.map(String.init) ?? "none")\(outcome.dryRun ? " (dry run: nothing written)" : "")")
            }
        }
    }
}

/// `tokenledger migrate status`.
struct MigrateStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "List the migrations, which are applied, interrupted or pending.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Output format: table or json (sorted keys).")
    var format: OperationFormat = .table

    func run() async throws {
        try await reportingFailures {
            let status = try await global.withRepository { repository in
                try await MigrationRunner(repository: repository).status()
            }
            switch format {
            case .json:
                try printJSON(status)
            case .table:
                var rows = [["version", "name", "status", "applied at", "summary"]]
                for state in status.migrations {
                    rows.append([
                        String(state.migration.version), state.migration.name,
                        state.status.replacingOccurrences(of: "_", with: " "), state.appliedAt ?? "-", state.migration.summary,
                    ])
                }
                print(tableText(rows), terminator: "")
                print(
                    "schema version: \(status.schemaVersion.map(String.init) ?? "none") (this build writes \(status.currentSchemaVersion)); "
                        + "pending: \(status.pending.isEmpty ? "none" : status.pending.map(String.init).joined(separator: ", "))")
                if !status.unknownApplied.isEmpty {
                    print("applied by a newer build: \(status.unknownApplied.map(String.init).joined(separator: ", "))")
                }
            }
        }
    }
}
