import ArgumentParser
import TokenLedger

/// `tokenledger reset`: zeroes a user's counters for a cycle, keeping an audit event.
struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Zero a user's counters for a cycle (the limit stays; an audit event keeps the old values).",
        discussion: "Destructive: needs --yes. A cycle with nothing recorded is left alone (\"reset\": false, exit 0)."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: JSONFormatOptions
    @Argument(help: "The user id.") var user: String
    @Option(help: "The cycle's start date (YYYY-MM-DD); default the current cycle.") var cycle: String?
    @Flag(help: "Confirm the reset.") var yes = false

    func validate() throws {
        if !yes { throw ArgumentParser.ValidationError("reset zeroes recorded usage; add --yes to confirm") }
    }

    func run() async throws {
        try await reportingFailures {
            let formatter = try format.formatter()
            let cycle = try cycleDate(self.cycle)
            let previous = try await global.withRepository { repository in
                try await repository.reset(user: user, cycle: cycle, actor: "tokenledger reset")
            }
            var output = ResetOutput(
                user: user, cycle: previous.cycle.description, previousTotalTokens: previous.totalTokens,
                previousCalls: previous.calls)
            if previous.calls == 0 && previous.totalTokens == 0 {
                // Nothing recorded (perhaps no such user): nothing is written, not even an audit event.
                output.reset = false
                printError("user '\(user)' has nothing recorded in cycle \(previous.cycle); nothing was reset")
            }
            try formatter.print(output)
        }
    }
}

/// `{"cycle","previous_calls","previous_total_tokens","reset","user"}`; `reset` is false when the
/// cycle had nothing recorded (then nothing was written).
struct ResetOutput: CommandResult {
    var reset = true
    var user: String
    var cycle: String
    var previousTotalTokens: Int
    var previousCalls: Int

    init(user: String, cycle: String, previousTotalTokens: Int, previousCalls: Int) {
        self.user = user
        self.cycle = cycle
        self.previousTotalTokens = previousTotalTokens
        self.previousCalls = previousCalls
    }

    enum CodingKeys: String, CodingKey {
        case reset, user, cycle
        case previousTotalTokens = "previous_total_tokens"
        case previousCalls = "previous_calls"
    }
}
