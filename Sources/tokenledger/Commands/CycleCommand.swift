import ArgumentParser
import Foundation
import TokenLedger

/// `tokenledger cycle`: billing cycle policies.
struct CycleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cycle",
        abstract: "Set or show billing cycle policies (monthly with an anchor day, weekly, daily; IANA time zone).",
        subcommands: [Set.self, Show.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a user's cycle policy, or with --default the policy for users without one.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: JSONFormatOptions
        @Flag(name: .customLong("default"), help: "Set the default policy instead of a user's.") var isDefault = false
        @Argument(help: "The user id, or team:T / org:O / user:U (not with --default).") var user: String?
        @Option(help: "monthly, weekly or daily.") var period: String
        @Option(
            name: .customLong("anchor-day"),
            help: "monthly: day 1-31 (clamped to short months); weekly: 1-7 (Monday = 1) or a weekday name.")
        var anchorDay: String?
        @Option(help: "IANA time zone, e.g. Europe/Berlin (default UTC).") var timezone: String?

        func validate() throws {
            if isDefault == (user != nil) {
                throw ArgumentParser.ValidationError(
                    "usage: cycle set USER --period P, or cycle set --default --period P")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let policy = try BillingCyclePolicy(periodName: period, anchor: anchorDay, timeZone: timezone)
                try await global.withRepository { repository in
                    if let user {
                        try await repository.setCyclePolicy(scope: try LedgerScope(naming: user), policy: policy)
                    } else {
                        try await repository.setDefaultCyclePolicy(policy)
                    }
                }
                let cycle = policy.cycle(containing: Date())
                try formatter.print(
                    PolicyOutput(user: user, policy: policy, source: user == nil ? "default" : "user", cycle: cycle))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract:
                "Show a user's cycle policy, or with --default the policy for users without one, and the cycle at --at."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @OptionGroup var time: AtOption
        @Flag(name: .customLong("default"), help: "Show the default policy instead of a user's.") var isDefault = false
        @Argument(help: "The user id, or team:T / org:O / user:U (not with --default).") var user: String?

        func validate() throws {
            if isDefault == (user != nil) {
                throw ArgumentParser.ValidationError("usage: cycle show USER, or cycle show --default")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let instant = try time.instant()
                let (policy, source) = try await global.withRepository { repository in
                    if let user {
                        let (policy, isOverride) = try await repository.cyclePolicy(
                            scope: try LedgerScope(naming: user))
                        return (policy, isOverride ? "user" : "default")
                    }
                    return (try await repository.settings(fresh: true).defaultPolicy, "default")
                }
                try formatter.print(
                    PolicyOutput(user: user, policy: policy, source: source, cycle: policy.cycle(containing: instant)))
            }
        }
    }
}

extension PolicyOutput: CommandResult {
    /// `USER: POLICY (SOURCE); current cycle C until E` (`default` names the default policy).
    func renderTable() throws -> String {
        "\(user ?? "default"): \(summary) (\(source)); current cycle \(cycle) until \(cycleEnd)\n"
    }

    /// `user,period,anchor,timezone,source,cycle,cycle_end` and the row.
    func csvRows() throws -> [[String]] {
        [
            ["user", "period", "anchor", "timezone", "source", "cycle", "cycle_end"],
            [user ?? "", period, anchor.map(String.init) ?? "", timezone, source, cycle, cycleEnd],
        ]
    }
}
