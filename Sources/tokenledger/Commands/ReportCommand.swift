import ArgumentParser
import Foundation
import TokenLedger

extension ReportSort: ExpressibleByArgument {}

/// `tokenledger report`: every user of a cycle.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Report every user's usage in a cycle (the default policy's current cycle by default)."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var time: AtOption

    @Option(help: "The cycle's start date (YYYY-MM-DD).")
    var cycle: String?

    @Option(help: "Show only the first N users after sorting.")
    var top: Int?

    @Option(help: "Sort by total, input or output tokens (largest first).")
    var sort: ReportSort = .total

    func validate() throws {
        if let top, top < 0 { throw ArgumentParser.ValidationError("--top must be 0 or more") }
    }

    func run() async throws {
        try await reportingFailures {
            let cycle = try cycleDate(self.cycle)
            let instant = try time.instant()
            let showProgress = standardErrorIsTerminal
            let report = try await global.withRepository { repository in
                try await repository.report(cycle: cycle, top: top, sort: sort, at: instant) { done, total in
                    if showProgress && total > 5000 {
                        FileHandle.standardError.write(Data("\rreading users: \(done)/\(total)".utf8))
                        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
                    }
                }
            }
            switch output.format {
            case .json:
                try printJSON(report)
            case .csv:
                printCSV(report.users)
            case .table:
                var rows = [["user", "input", "output", "total", "calls", "limit", "remaining"]]
                for usage in report.users {
                    rows.append([
                        usage.user, String(usage.inputTokens), String(usage.outputTokens), String(usage.totalTokens),
                        String(usage.calls), usage.limit.map(String.init) ?? "unlimited",
                        usage.remaining.map(String.init) ?? "-",
                    ])
                }
                let t = report.totals
                rows.append([
                    "TOTAL (\(t.users) users)", String(t.inputTokens), String(t.outputTokens), String(t.totalTokens),
                    String(t.calls), "", "",
                ])
                print("cycle \(report.cycle)")
                printTable(rows)
            }
        }
    }
}
