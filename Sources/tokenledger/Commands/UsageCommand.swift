import ArgumentParser
import TokenLedger

/// `tokenledger usage`: one user's usage in a cycle.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Show one user's (or team's, org's) usage in a cycle (the current one by default).",
        discussion: """
            USER may name a scope: team:T or org:O (the usage booked to the group, in the group's cycle), or \
            user:U for a user whose id starts with team:, org: or user:.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var time: AtOption

    @Argument(help: "The user id, or team:T / org:O / user:U.")
    var user: String

    @Option(help: "The cycle's start date (YYYY-MM-DD); default the cycle containing --at.")
    var cycle: String?

    func run() async throws {
        try await reportingFailures {
            let cycle = try cycleDate(self.cycle)
            let instant = try time.instant()
            let scope = try LedgerScope(naming: user)
            let usage = try await global.withRepository { try await $0.usage(scope: scope, cycle: cycle, at: instant) }
            try output.formatter().print(usage)
        }
    }
}

extension UserUsage: CommandResult {
    /// One row per column (`unlimited` for an empty limit, `-` for a cost the cycle does not hold),
    /// then the per-model split with its cost.
    func renderTable() throws -> String {
        let unlimited: Set<String> = ["limit", "remaining"]
        var text = alignedColumns(
            zip(usageColumns, usageCells(self)).map { column, cell in
                [column, cell.isEmpty ? (unlimited.contains(column) ? "unlimited" : "-") : cell]
            })
        if !models.isEmpty {
            var rows = [["model", "input_tokens", "output_tokens", "total_tokens", "calls", "cost_usd"]]
            for (model, entry) in models.sorted(by: { $0.key < $1.key }) {
                rows.append([
                    model.isEmpty ? "(none)" : model, String(entry.inputTokens), String(entry.outputTokens),
                    String(entry.totalTokens), String(entry.calls), entry.cost?.description ?? "-",
                ])
            }
            text += "\n" + alignedColumns(rows)
        }
        return text
    }

    /// The header and the usage's row.
    func csvRows() throws -> [[String]] { [usageColumns, usageCells(self)] }
}
