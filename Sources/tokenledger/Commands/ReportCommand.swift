import ArgumentParser
import Foundation
import TokenLedger

extension ReportSort: ExpressibleByArgument {}
extension LedgerScope.Kind: ExpressibleByArgument {}

/// `tokenledger report`: every user of a cycle.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Report every user's usage in a cycle (the default policy's current cycle by default).",
        discussion: """
            --format html writes a self-contained page (no network) with the cycle's totals, a chart of \
            the top users (--top, default 10) against their limits and the per-model split.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Output format: table, json (sorted keys), csv or html (a self-contained page).")
    var format: OutputFormat = .table

    @Option(name: .long, help: "Write the report to this file instead of stdout.")
    var output: String?
    @OptionGroup var time: AtOption

    @Option(help: "The cycle's start date (YYYY-MM-DD).")
    var cycle: String?

    @Option(help: "Show only the first N users after sorting.")
    var top: Int?

    @Option(help: "Sort by total, input or output tokens, or by cost (largest first).")
    var sort: ReportSort = .total

    @Option(help: "List users (default), teams (team) or orgs (org).")
    var scope: LedgerScope.Kind = .user

    func validate() throws {
        if let top, top < 0 { throw ArgumentParser.ValidationError("--top must be 0 or more") }
    }

    func run() async throws {
        try await reportingFailures {
            let cycle = try cycleDate(self.cycle)
            let instant = try time.instant()
            let showProgress = standardErrorIsTerminal
            // The HTML page's totals and model split cover every user; its chart shows the top ones.
            let readTop = format == .html ? nil : top
            let (report, namespace) = try await global.withRepository { repository in
                if scope != .user {
                    let report = try await repository.report(
                        scope: scope, cycle: cycle, top: readTop, sort: sort, at: instant)
                    return (report, repository.keys.namespace)
                }
                let report = try await repository.report(cycle: cycle, top: readTop, sort: sort, at: instant) {
                    done, total in
                    if showProgress && total > 5000 {
                        FileHandle.standardError.write(Data("\rreading users: \(done)/\(total)".utf8))
                        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
                    }
                }
                return (report, repository.keys.namespace)
            }
            let text =
                format == .html
                ? HTMLReport.render(report, top: top ?? 10, namespace: namespace)
                : try OutputFormatter(format).render(report)
            if let output {
                do {
                    try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
                } catch {
                    throw CLIFailure(
                        exitCode: .usage, message: "cannot write the report to \(output): \(sentence(for: error))")
                }
                printError("wrote the \(format.rawValue) report of cycle \(report.cycle) to \(output)")
            } else {
                print(text, terminator: "")
            }
            // Users whose stored data is damaged are listed (JSON `unreadable`), named on stderr, and
            // make the command fail: a report that silently left someone out would look complete.
            if !report.unreadable.isEmpty {
                for entry in report.unreadable {
                    printError("user \(String(reflecting: entry.user)) is left out of the report: \(entry.reason)")
                }
                throw CLIFailure(
                    exitCode: .dataError,
                    message:
                        "\(report.unreadable.count) user(s) of cycle \(report.cycle) have stored data that cannot be read; "
                        + "they are not in the report or its totals")
            }
        }
    }
}

extension UsageReport: CommandResult {
    /// `cycle C`, then a row per user and a TOTAL row.
    func renderTable() throws -> String {
        var rows = [["user", "input", "output", "total", "calls", "limit", "remaining", "cost_usd"]]
        for usage in users {
            rows.append([
                usage.user, String(usage.inputTokens), String(usage.outputTokens), String(usage.totalTokens),
                String(usage.calls), usage.limit.map(String.init) ?? "unlimited",
                usage.remaining.map(String.init) ?? "-", usage.money.cost?.description ?? "-",
            ])
        }
        rows.append([
            "TOTAL (\(totals.users) users)", String(totals.inputTokens), String(totals.outputTokens),
            String(totals.totalTokens), String(totals.calls), "", "", totals.money.cost?.description ?? "-",
        ])
        return "cycle \(cycle)\n" + alignedColumns(rows)
    }

    /// The usage header, then a row per user.
    func csvRows() throws -> [[String]] { [usageColumns] + users.map(usageCells) }
}
