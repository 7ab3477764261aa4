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
        @Flag(name: .customLong("default"), help: "Set the default policy instead of a user's.") var isDefault = false
        @Argument(help: "The user id (not with --default).") var user: String?
        @Option(help: "monthly, weekly or daily.") var period: String
        @Option(name: .customLong("anchor-day"), help: "monthly: day 1-31 (clamped to short months); weekly: 1-7 (Monday = 1) or a weekday name.")
        var anchorDay: String?
        @Option(help: "IANA time zone, e.g. Europe/Berlin (default UTC).") var timezone: String?

        func validate() throws {
            if isDefault == (user != nil) {
                throw ArgumentParser.ValidationError("usage: cycle set USER --period P, or cycle set --default --period P")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let policy = try BillingCyclePolicy(periodName: period, anchor: anchorDay, timeZone: timezone)
                try await global.withRepository { repository in
                    if let user {
                        try await repository.setCyclePolicy(user: user, policy: policy)
                    } else {
                        try await repository.setDefaultCyclePolicy(policy)
                    }
                }
                let cycle = policy.cycle(containing: Date())
                try printJSON(PolicyOutput(user: user, policy: policy, source: user == nil ? "default" : "user", cycle: cycle))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show a user's cycle policy and the cycle at --at.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @OptionGroup var time: AtOption
        @Argument(help: "The user id.") var user: String

        func run() async throws {
            try await reportingFailures {
                let instant = try time.instant()
                let (policy, isOverride) = try await global.withRepository { try await $0.cyclePolicy(user: user) }
                let result = PolicyOutput(
                    user: user, policy: policy, source: isOverride ? "user" : "default", cycle: policy.cycle(containing: instant))
                switch output.format {
                case .json: try printJSON(result)
                case .csv:
                    print("user,period,anchor,timezone,source,cycle,cycle_end")
                    print(
                        [csvField(user), result.period, result.anchor.map(String.init) ?? "", result.timezone, result.source,
                         result.cycle, result.cycleEnd].joined(separator: ","))
                case .table:
                    print("\(user): \(policy) (\(result.source)); current cycle \(result.cycle) until \(result.cycleEnd)")
                }
            }
        }
    }
}

/// `{"anchor","cycle","cycle_end","period","source","timezone","user"}`.
struct PolicyOutput: Encodable {
    var user: String?
    var period: String
    var anchor: Int?
    var timezone: String
    var source: String
    var cycle: String
    var cycleEnd: String

    init(user: String?, policy: BillingCyclePolicy, source: String, cycle: BillingCycle) {
        self.user = user
        self.period = policy.period.name
        self.anchor = policy.period.anchor
        self.timezone = policy.timeZoneIdentifier
        self.source = source
        self.cycle = cycle.start.description
        self.cycleEnd = cycle.end.description
    }

    enum CodingKeys: String, CodingKey {
        case user, period, anchor, timezone, source, cycle
        case cycleEnd = "cycle_end"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(user, forKey: .user)
        try c.encode(period, forKey: .period)
        try c.encode(anchor, forKey: .anchor)
        try c.encode(timezone, forKey: .timezone)
        try c.encode(source, forKey: .source)
        try c.encode(cycle, forKey: .cycle)
        try c.encode(cycleEnd, forKey: .cycleEnd)
    }
}
