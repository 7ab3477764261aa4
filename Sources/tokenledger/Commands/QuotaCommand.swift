import ArgumentParser
import TokenLedger

/// `tokenledger quota`: quota decisions and leases.
struct QuotaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Check quota and manage reservations (exit 1 when denied).",
        subcommands: [Check.self, Reserve.self, Settle.self, Release.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "May the user spend N more tokens (and their cost) now? Read-only. Exit 0 allowed, 1 denied.",
            discussion: """
                Prints {"allowed","cycle","denied_by","denied_scope","limit","limit_usd","remaining","remaining_usd",\
                "requested","requested_usd","reserved","reserved_usd","retry_after_ms","rpm","tpm","used","used_usd",\
                "user","window_requests","window_tokens"}; the user's team and org must allow it too (denied_scope \
                names the one that refused, e.g. team:T), and the rate limits (denied_by tpm or rpm, with \
                retry_after_ms: null when the request exceeds the tpm limit itself). --model prices the tokens \
                (and --max-output-tokens) as reserve does; --usd gives the cost directly.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var format: JSONFormatOptions
        @OptionGroup var time: AtOption
        @OptionGroup var cost: CostEstimateOptions
        @Argument(help: "The user id.") var user: String
        @Option(parsing: .unconditional, help: "Tokens the next call needs (default 0).") var tokens: String = "0"

        func validate() throws { try cost.validate() }

        func run() async throws {
            try await reportingFailures {
                let formatter = try format.formatter()
                let tokens = try tokenCount(tokens, "--tokens")
                let instant = try time.instant()
                let decision = try await global.withRepository { repository in
                    let (total, amount) = try await cost.estimate(tokens: tokens, repository: repository)
                    return try await repository.check(user: user, tokens: total, cost: amount, at: instant)
                }
                try formatter.print(decision)
                if let reason = decision.denialReason { printError("denied: " + reason) }
                if !decision.allowed { throw ExitCode(ExitStatus.quotaDenied.rawValue) }
            }
        }
    }

    struct Reserve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reserve",
            abstract:
                "Reserve N tokens (and their cost) for a call if the limits allow it (atomic, idempotent). Exit 1 when denied.",
            discussion: """
                status is admitted, held (already reserved with the same amounts), settled (already recorded) or \
                denied (denied_by names the limit: tokens, usd, tpm or rpm; denied_scope the scope: the user, its \
                team or its org, all of which must admit it; a rate denial gives retry_after_ms, null when the \
                request exceeds the tpm limit itself). The same call id with other amounts than its \
                live lease exits 65 (a conflict). --model M prices the estimate: --tokens N input-priced tokens \
                plus --max-output-tokens K output-priced ones (N + K tokens are reserved); a model without a \
                price is reserved by tokens only. --usd X reserves an amount of USD directly.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var format: JSONFormatOptions
        @OptionGroup var cost: CostEstimateOptions
        @Argument(help: "The user id.") var user: String
        @Option(parsing: .unconditional, help: "Tokens to reserve.") var tokens: String
        @Option(name: .customLong("call-id"), help: "The call's id.") var callID: String
        @Option(help: "Seconds before an unsettled reservation expires by itself: 1 to 604800 (7 days; default 600).")
        var ttl: Int?

        func validate() throws {
            if let ttl, ttl <= 0 { throw ArgumentParser.ValidationError("--ttl must be a positive number of seconds") }
            try cost.validate()
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try format.formatter()
                let tokens = try tokenCount(tokens, "--tokens")
                let reservation = try await global.withRepository { repository in
                    let (total, amount) = try await cost.estimate(tokens: tokens, repository: repository)
                    return try await repository.reserve(
                        user: user, callID: callID, tokens: total, cost: amount, ttl: ttl.map { .seconds($0) })
                }
                try formatter.print(
                    DecisionWithCall(
                        decision: reservation.decision, status: reservation.status.rawValue, callID: callID))
                if let reason = reservation.decision.denialReason { printError("denied: " + reason) }
                if reservation.status == .denied { throw ExitCode(ExitStatus.quotaDenied.rawValue) }
            }
        }
    }

    struct Settle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "settle",
            abstract: "Replace a call's reservation with its actual usage, exactly once.",
            discussion: """
                A repeat with the same total prints applied false. A call id already recorded with another \
                total exits 65 (a conflict): nothing changes and the lease stays.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var format: JSONFormatOptions
        @Argument(help: "The user id.") var user: String
        @Option(name: .customLong("call-id"), help: "The call's id.") var callID: String
        @Option(parsing: .unconditional, help: "Input tokens.") var input: String
        @Option(parsing: .unconditional, help: "Output tokens.") var output: String
        @Option(parsing: .unconditional, help: "Cache reads (part of --input).") var cached: String?
        @Option(name: .customLong("cache-write"), parsing: .unconditional, help: "Cache writes (part of --input).")
        var cacheWrite: String?
        @Option(parsing: .unconditional, help: "Reasoning tokens (part of --output).") var reasoning: String?
        @Option(help: "The model name.") var model: String = ""
        @Option(help: "The provider name.") var provider: String = ""

        func run() async throws {
            try await reportingFailures {
                let formatter = try format.formatter()
                let usage = UsageRecord(
                    inputTokens: try tokenCount(input, "--input"), outputTokens: try tokenCount(output, "--output"),
                    cachedInputTokens: try tokenCount(cached, "--cached"),
                    cacheWriteTokens: try tokenCount(cacheWrite, "--cache-write"),
                    reasoningTokens: try tokenCount(reasoning, "--reasoning"))
                let result = try await global.withRepository { repository in
                    try await repository.settle(
                        user: user, callID: callID, usage: usage, model: model, provider: provider)
                }
                try formatter.print(SettleOutput(result: result, callID: callID))
                noteAmendment(result)
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release", abstract: "Drop a call's reservation without recording usage.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var format: JSONFormatOptions
        @Argument(help: "The user id.") var user: String
        @Option(name: .customLong("call-id"), help: "The call's id.") var callID: String

        func run() async throws {
            try await reportingFailures {
                let formatter = try format.formatter()
                let released = try await global.withRepository {
                    try await $0.releaseLease(user: user, callID: callID)
                }
                try formatter.print(
                    ReleaseOutput(
                        user: user, callID: callID, releasedTokens: released.tokens, releasedUSD: released.cost))
            }
        }
    }
}

extension QuotaDecision: CommandResult {}

extension DecisionWithCall: CommandResult {}
extension SettleOutput: CommandResult {}
extension ReleaseOutput: CommandResult {}
