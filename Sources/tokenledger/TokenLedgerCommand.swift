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
            unix:///path), default redis://127.0.0.1:6379. REDIS_PASSWORD overrides the URL's password. \
            Settings come from the environment, then from the JSON file of --config (or TOKENLEDGER_CONFIG_FILE).
            --redis, --namespace and --config go before or after the subcommand, on every command (commands that do \
            not use Redis accept and ignore them). Every command that prints a result takes \
            --format table|json|csv.
            Exit codes: 0 ok, 1 quota denied, 64 usage error, 65 bad input data, 69 Redis unavailable, \
            70 internal error, 77 permission denied.
            """,
        version: TokenLedgerVersion.current,
        subcommands: [
            RecordCommand.self, UsageCommand.self, ReportCommand.self, LimitCommand.self, QuotaCommand.self,
            CycleCommand.self, ResetCommand.self, ExtractCommand.self, EstimateCommand.self, SpoolCommand.self,
            DemoCommand.self,
            RolloverCommand.self, HistoryCommand.self, MigrateCommand.self, DoctorCommand.self,
            KeyCommand.self, PriceCommand.self, MemberCommand.self, RateCommand.self,
            ServeCommand.self,
        ]
    )

    /// The options every command takes, shown here so that `tokenledger --help` lists them; before
    /// parsing, ``movingGlobalOptions(_:)`` hands them to the subcommand.
    @OptionGroup var global: GlobalOptions

    /// Refuses arguments that are not valid UTF-8 (exit 65) before ArgumentParser would repair them
    /// into U+FFFD, then runs the command.
    static func main() async {
        if let problem = invalidUTF8Argument() {
            printError(problem)
            Foundation.exit(ExitStatus.dataError.rawValue)
        }
        await main(movingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
    }

    /// The global options names (`--redis URL`, `--namespace NS`, `--config FILE`, or with `=`).
    static let globalOptionNames = ["--redis", "--namespace", "--config"]

    /// `arguments` with `--redis` and `--namespace` given before (or between) the subcommand names
    /// moved right after them, so `tokenledger --redis URL report` parses as `tokenledger report --redis URL`.
    ///
    /// Only the leading run of subcommand names and global options is looked at: an argument of the
    /// command itself (a user id that happens to be named `report`) is never taken for a subcommand.
    static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        var command: any ParsableCommand.Type = TokenLedgerCommand.self
        var path: [String] = []
        var globals: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if globalOptionNames.contains(argument) {
                globals.append(contentsOf: arguments[index..<min(index + 2, arguments.count)])
                index += 2
            } else if globalOptionNames.contains(where: { argument.hasPrefix($0 + "=") }) {
                globals.append(argument)
                index += 1
            } else if let subcommand = command.configuration.subcommands.first(where: {
                $0.configuration.commandName == argument
            }) {
                path.append(argument)
                command = subcommand
                index += 1
            } else {
                break
            }
        }
        guard !globals.isEmpty, !path.isEmpty else { return arguments }
        return path + globals + arguments[min(index, arguments.count)...]
    }
}
