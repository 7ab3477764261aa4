import ArgumentParser
import Foundation
import TokenLedger

/// The `tokenledger` admin CLI.
@main
struct TokenLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenledger",
        abstract: "Meter LLM token usage per user and billing cycle in Redis.",
        discussion: """
            Redis is found through --redis, else REDIS_URL (redis://[user:password@]host:port/db or \
            unix:///path), default redis://127.0.0.1:6379. REDIS_PASSWORD overrides the URL's password.
            Exit codes: 0 ok, 1 quota denied, 64 usage error, 65 bad input data, 69 Redis unavailable, \
            70 internal error.
            """,
        version: TokenLedgerVersion.current,
        subcommands: [
            RecordCommand.self, UsageCommand.self, ReportCommand.self, LimitCommand.self, QuotaCommand.self,
            CycleCommand.self, ResetCommand.self, ExtractCommand.self, EstimateCommand.self, SpoolCommand.self, DemoCommand.self,
            RolloverCommand.self, HistoryCommand.self, MigrateCommand.self, DoctorCommand.self, LoadgenCommand.self,
        ]
    )

    /// Refuses arguments that are not valid UTF-8 (exit 65) before ArgumentParser would repair them
    /// into U+FFFD, then runs the command.
    static func main() async {
        if let problem = invalidUTF8Argument() {
            printError(problem)
            Foundation.exit(ExitStatus.dataError.rawValue)
        }
        await main(nil)
    }
}
