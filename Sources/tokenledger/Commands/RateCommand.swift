import ArgumentParser
import TokenLedger

/// `tokenledger rate`: rate limits per scope (tokens and requests per sliding 60 s).
struct RateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate",
        abstract: "Set, show or clear rate limits: tokens (tpm) and requests (rpm) per sliding 60 s.",
        discussion: """
            SCOPE is user:U, team:T, org:O, or a plain user id. A reservation is charged its tokens when it is \
            admitted, corrected to the actual tokens at settle; a record without a reservation is charged when \
            it happens. A denial names the scope, the limit (tpm or rpm) and retry_after_ms. The defaults \
            (--default) apply to users without limits of their own, never to teams or orgs. Prints \
            {"default_rpm","default_tpm","effective_rpm","effective_tpm","rpm","scope","tpm"} (null for none).
            """,
        subcommands: [Set.self, Get.self, Clear.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a scope's rate limits, or with --default those of users without their own.",
            discussion: "At least one of --tpm, --rpm; a limit not given is left as it is.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: JSONFormatOptions
        @Flag(name: .customLong("default"), help: "Set the default rate limits instead of a scope's.")
        var isDefault = false
        @Option(help: "Tokens per sliding 60 s (1 to 10^12).") var tpm: Int?
        @Option(help: "Requests per sliding 60 s (1 to 10^12).") var rpm: Int?
        @Argument(help: "The scope: user:U, team:T, org:O or a user id (not with --default).") var scope: String?

        func validate() throws {
            if isDefault == (scope != nil) {
                throw ArgumentParser.ValidationError(
                    "usage: rate set SCOPE --tpm N --rpm N, or rate set --default --tpm N --rpm N")
            }
            if tpm == nil && rpm == nil {
                throw ArgumentParser.ValidationError("rate set needs --tpm N, --rpm N or both")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let shown = try await global.withRepository { repository in
                    guard let scope else {
                        try await repository.setDefaultRateLimit(tpm: tpm, rpm: rpm)
                        return try await RateCommand.defaults(repository)
                    }
                    return try await repository.setRateLimit(scope: try LedgerScope(naming: scope), tpm: tpm, rpm: rpm)
                }
                try formatter.print(shown)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Show a scope's rate limits and the defaults that apply to it.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Flag(name: .customLong("default"), help: "Show the default rate limits.") var isDefault = false
        @Argument(help: "The scope: user:U, team:T, org:O or a user id.") var scope: String?

        func validate() throws {
            if isDefault == (scope != nil) {
                throw ArgumentParser.ValidationError("usage: rate get SCOPE, or rate get --default")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let shown = try await global.withRepository { repository in
                    guard let scope else { return try await RateCommand.defaults(repository) }
                    return try await repository.rateLimits(scope: try LedgerScope(naming: scope))
                }
                try formatter.print(shown)
            }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear", abstract: "Remove a scope's own rate limits, or with --default the defaults.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: JSONFormatOptions
        @Flag(name: .customLong("default"), help: "Clear the default rate limits instead.") var isDefault = false
        @Argument(help: "The scope: user:U, team:T, org:O or a user id (not with --default).") var scope: String?

        func validate() throws {
            if isDefault == (scope != nil) {
                throw ArgumentParser.ValidationError("usage: rate clear SCOPE, or rate clear --default")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let shown = try await global.withRepository { repository in
                    guard let scope else {
                        try await repository.setDefaultRateLimit(tpm: nil, rpm: nil, clear: true)
                        return try await RateCommand.defaults(repository)
                    }
                    return try await repository.clearRateLimit(scope: try LedgerScope(naming: scope))
                }
                try formatter.print(shown)
            }
        }
    }

    /// The default rate limits, shown as the limits of the scope `default`.
    static func defaults(_ repository: TokenRepository) async throws -> RateLimits {
        let settings = try await repository.settings(fresh: true)
        return RateLimits(
            scope: "default", tpm: settings.defaultTPM, rpm: settings.defaultRPM, defaultTPM: nil, defaultRPM: nil)
    }
}

extension RateLimits: CommandResult {
    /// `SCOPE: N tokens and M requests per minute`, naming where each limit comes from.
    func renderTable() throws -> String {
        func shown(_ own: Int?, _ fallback: Int?, _ unit: String) -> String {
            if let own { return "\(own) \(unit) per minute" }
            if let fallback { return "\(fallback) \(unit) per minute (default)" }
            return "no \(unit) limit"
        }
        return "\(scope): \(shown(tpm, defaultTPM, "tokens")), \(shown(rpm, defaultRPM, "requests"))\n"
    }

    /// `scope,tpm,rpm,default_tpm,default_rpm` and the row.
    func csvRows() throws -> [[String]] {
        func text(_ value: Int?) -> String { value.map(String.init) ?? "" }
        return [
            ["scope", "tpm", "rpm", "default_tpm", "default_rpm"],
            [scope, text(tpm), text(rpm), text(defaultTPM), text(defaultRPM)],
        ]
    }
}

extension RateCommand.Set: GlobalOptionsCommand {}
extension RateCommand.Get: GlobalOptionsCommand {}
extension RateCommand.Clear: GlobalOptionsCommand {}
