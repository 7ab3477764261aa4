import ArgumentParser
import Foundation
import TokenLedger

/// `tokenledger rollover`: the daily cron job.
struct RolloverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollover",
        abstract:
            "Close ended billing cycles into the history, apply retention and rebuild the indices (the cron job).",
        discussion: """
            Idempotent: run it daily (docker/crontab); a run after missed days catches up, and a second \
            run at the same time finds the lock taken and does nothing ("locked": true, exit 0). Counting \
            never depends on it: new cycles begin by themselves.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(
        help:
            "Evaluate at this ISO 8601 instant instead of now (e.g. 2026-03-01T00:30:00Z); at most 5 minutes past the Redis server's clock, except with --dry-run."
    )
    var now: String?

    @Flag(help: "Report what would be done; write nothing.")
    var dryRun = false

    @Option(help: "Months of per-user cycle data to keep after a cycle ends; 0 keeps everything.")
    var retentionMonths = 13

    @Option(
        help:
            "Days after a cycle ends to keep its call ids (the dedupe window); later records of it are parked. Default TOKENLEDGER_DEDUPE_WINDOW_DAYS, else 7."
    )
    var dedupeWindowDays: Int?

    @Option(help: "Keys per SCAN step and users per pipeline.")
    var batchSize = 1000

    @OptionGroup var output: FormatOptions

    func run() async throws {
        try await reportingFailures {
            let formatter = try output.formatter()
            let instant =
                try now.map { (text) throws(TokenLedger.ValidationError) in
                    try ISO8601Instant.parse(text, field: "--now")
                } ?? Date()
            let options = try RolloverOptions(
                now: instant, dryRun: dryRun, retentionMonths: retentionMonths, batchSize: batchSize,
                dedupeWindowDays: dedupeWindowDays)
            let verbose = standardErrorIsTerminal
            let result = try await global.withRepository { repository in
                try await Rollover(repository: repository).run(options) { line in
                    if verbose { printError(line) }
                }
            }
            if result.locked { printError("another rollover holds the lock; nothing done") }
            try formatter.print(result)
        }
    }

    /// The run as sentences and a table of the closed cycles.
    static func table(_ result: RolloverResult) -> String {
        var text = "rollover at \(result.now)\(result.dryRun ? " (dry run: nothing written)" : "")\n"
        if result.locked { return text + "another run holds the lock; nothing done\n" }
        text +=
            "index: \(result.scannedKeys) keys scanned, \(result.indexAdded) entries \(result.dryRun ? "missing" : "added")\n"
        if result.closed.isEmpty {
            text += "closed: no cycle ended since the last run\n"
        } else {
            var rows = [["closed cycle", "users", "total tokens"]]
            for cycle in result.closed {
                rows.append([cycle.cycle.description, String(cycle.users), String(cycle.totalTokens)])
            }
            text += alignedColumns(rows)
        }
        if result.amendedCalls > 0 {
            text +=
                "amended: \(result.amendedCalls) late calls added to the history\(result.dryRun ? " (waiting)" : "")\n"
        }
        if let cutoff = result.retentionCutoff {
            text += "retention (cycles ended on or before \(cutoff)): \(result.deletedUserCycles) user cycles, "
            text += "\(result.deletedKeys) keys deleted; \(result.droppedCycles.count) cycles dropped from the index"
            if result.keptWithoutHistory > 0 { text += "; \(result.keptWithoutHistory) kept (no summary)" }
            text += "\n"
        } else {
            text += "retention: off\n"
        }
        return text
    }
}

extension RolloverResult: CommandResult {
    func renderTable() throws -> String { RolloverCommand.table(self) }
}
