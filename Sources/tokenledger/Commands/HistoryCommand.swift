import ArgumentParser
import TokenLedger

/// `tokenledger history`: closed cycles as rollover summarized them, with the late calls that
/// amended them; readable after retention deleted the per-user counters.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show closed billing cycles: each user's summary as rollover wrote it, amended by late calls.",
        discussion: """
            Reads only the history (what `rollover` wrote), so closed cycles stay readable after retention \
            deleted their counters. json: {"cycles":[{"cycle","users":[summary…],"totals":{…},"adjustments":[…]}]} \
            (sorted keys, one line); csv: one row per user and cycle, with a header row.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: FormatOptions

    @Option(help: "Only the cycle starting on this date (YYYY-MM-DD); default every closed cycle.")
    var cycle: String?

    @Option(help: "Only this user's summaries and adjustments.")
    var user: String?

    func run() async throws {
        try await reportingFailures {
            let cycle = try cycleDate(self.cycle)
            let histories = try await global.withRepository { repository in
                try await Rollover(repository: repository).histories(cycle: cycle, user: user)
            }
            try output.formatter().print(HistoryOutput(cycles: histories))
        }
    }

    static let columns = [
        "cycle", "user", "cycle_end", "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
        "reasoning_tokens", "total_tokens", "calls", "limit", "adjustments", "cost_usd", "unpriced_calls",
    ]

    static func cells(_ summary: CycleSummary) -> [String] {
        [
            summary.cycle.description, summary.user, summary.cycleEnd.description, String(summary.inputTokens),
            String(summary.outputTokens), String(summary.cachedInputTokens), String(summary.cacheWriteTokens),
            String(summary.reasoningTokens), String(summary.totalTokens), String(summary.calls),
            summary.limit.map(String.init) ?? "", String(summary.adjustments),
            summary.money.cost?.description ?? "", String(summary.money.unpricedCalls),
        ]
    }

    static func table(_ histories: [CycleHistory]) -> String {
        if histories.isEmpty { return "no closed cycle in the history\n" }
        var text = ""
        for history in histories {
            var rows = [
                ["user", "input_tokens", "output_tokens", "total_tokens", "calls", "limit", "adjustments", "cost_usd"]
            ]
            for summary in history.users {
                rows.append([
                    summary.user, String(summary.inputTokens), String(summary.outputTokens),
                    String(summary.totalTokens),
                    String(summary.calls), summary.limit.map(String.init) ?? "unlimited", String(summary.adjustments),
                    summary.money.cost?.description ?? "-",
                ])
            }
            let totals = history.totals
            text += "cycle \(history.cycle): \(totals.users) users, \(totals.totalTokens) tokens, \(totals.calls) calls"
            text += totals.money.cost.map { ", \($0) USD" } ?? ""
            text += totals.adjustments > 0 ? ", \(totals.adjustments) late calls\n" : "\n"
            text += alignedColumns(rows)
            if !history.adjustments.isEmpty {
                var late = [["late call", "user", "at", "model", "total_tokens"]]
                for entry in history.adjustments {
                    late.append([entry.callID, entry.user, entry.at, entry.model, String(entry.totalTokens)])
                }
                text += alignedColumns(late)
            }
        }
        return text
    }
}

/// `{"cycles":[…]}`: the histories, oldest first.
struct HistoryOutput: CommandResult {
    var cycles: [CycleHistory]

    /// A table per cycle, with its late calls.
    func renderTable() throws -> String { HistoryCommand.table(cycles) }

    /// One row per user and cycle, the header first.
    func csvRows() throws -> [[String]] {
        [HistoryCommand.columns] + cycles.flatMap { history in history.users.map(HistoryCommand.cells) }
    }
}
