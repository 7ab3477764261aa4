import ArgumentParser
import TokenLedger

/// `tokenledger limit`: token and currency limits, which persist across cycles.
struct LimitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limit",
        abstract: "Set, show or clear token and currency limits per cycle (a user's own, or the default).",
        subcommands: [Set.self, Get.self, Clear.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a user's (or a team's, an org's) limit, or with --default the limit for users without one.",
            discussion: """
                USER may name a scope: team:T or org:O (a group: without a limit of its own it is unlimited), \
                user:U for a user whose id starts with team:, org: or user:.
                limit set USER N sets the token limit; limit set USER --usd X the currency limit (USD, at most \
                nine decimals); both may be given at once.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: JSONFormatOptions
        @Flag(name: .customLong("default"), help: "Set the default limit instead of a user's.") var isDefault = false
        @Option(
            name: .customLong("usd"), parsing: .unconditional,
            help: "The currency limit per cycle in USD (e.g. 25 or 0.5; at most nine decimals).")
        var usd: String?
        @Argument(parsing: .allUnrecognized, help: "USER N, or with --default just N (N optional with --usd).")
        var values: [String] = []

        func validate() throws {
            let expected = (isDefault ? 0 : 1) + (usd == nil ? 1 : 0)
            let allowed = usd == nil ? [expected] : [expected, expected + 1]
            if !allowed.contains(values.count) {
                throw ArgumentParser.ValidationError(
                    isDefault
                        ? "usage: limit set --default N, or limit set --default --usd X [N]"
                        : "usage: limit set USER N, or limit set USER --usd X [N]")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let user = isDefault ? nil : values[0]
                let tokenText = values.count > (isDefault ? 0 : 1) ? values[values.count - 1] : nil
                // Everything is parsed before anything is stored: a bad --usd leaves the token limit alone too.
                let tokens = try tokenText.map { try Validation.parseLimit($0, field: "limit") }
                let amount = try usd.map { try Validation.parseCurrencyAmount($0, field: "--usd") }
                try await global.withRepository { repository in
                    if let user {
                        let scope = try LedgerScope(naming: user)
                        if let tokens { try await repository.setLimit(scope: scope, tokens: tokens) }
                        if let amount { try await repository.setCurrencyLimit(scope: scope, usd: amount) }
                    } else {
                        if let tokens { try await repository.setDefaultLimit(tokens) }
                        if let amount { try await repository.setDefaultCurrencyLimit(amount) }
                    }
                }
                let source = isDefault ? "default" : "user"
                var shown = LimitOutput(user: user, limit: tokens, source: tokens == nil ? "unchanged" : source)
                if let amount { shown.currency = (limit: Optional(amount), source: source) }
                try formatter.print(shown)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Show the limits that apply to a user, and where they come from.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Argument(help: "The user id, or team:T / org:O / user:U.") var user: String

        func run() async throws {
            try await reportingFailures {
                let scope = try LedgerScope(naming: user)
                let shown = try await global.withRepository { repository in
                    LimitOutput(
                        user: user, limits: try await repository.limit(scope: scope),
                        currencyLimits: try await repository.currencyLimit(scope: scope))
                }
                try output.formatter().print(shown)
            }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear",
            abstract: "Remove a user's own limits (the defaults apply again).",
            discussion: """
                Without --usd or --tokens both the token and the currency limit are cleared; --usd clears only \
                the currency limit, --tokens only the token limit.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: JSONFormatOptions
        @Flag(
            name: .customLong("default"), help: "Clear the default limits instead (users without one become unlimited)."
        )
        var isDefault = false
        @Flag(name: .customLong("usd"), help: "Clear only the currency limit.") var onlyUSD = false
        @Flag(name: .customLong("tokens"), help: "Clear only the token limit.") var onlyTokens = false
        @Argument(help: "The user id (not with --default).") var user: String?

        func validate() throws {
            if isDefault == (user != nil) {
                throw ArgumentParser.ValidationError("usage: limit clear USER, or limit clear --default")
            }
            if onlyUSD && onlyTokens {
                throw ArgumentParser.ValidationError(
                    "--usd and --tokens exclude each other (without either, both are cleared)")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let clearsTokens = !onlyUSD
                let clearsUSD = !onlyTokens
                try await global.withRepository { repository in
                    if let user {
                        let scope = try LedgerScope(naming: user)
                        if clearsTokens { try await repository.clearLimit(scope: scope) }
                        if clearsUSD { try await repository.clearCurrencyLimit(scope: scope) }
                    } else {
                        if clearsTokens { try await repository.setDefaultLimit(nil) }
                        if clearsUSD { try await repository.setDefaultCurrencyLimit(nil) }
                    }
                }
                var shown = LimitOutput(user: user, limit: nil, source: clearsTokens ? "cleared" : "unchanged")
                if clearsUSD { shown.currency = (limit: nil, source: "cleared") }
                try formatter.print(shown)
            }
        }
    }
}

extension LimitOutput: CommandResult {
    /// `USER: N tokens per cycle (SOURCE)`, or `unlimited`; then the currency limit when shown.
    func renderTable() throws -> String {
        var text = "\(user ?? "default"): \(limit.map { "\($0) tokens per cycle" } ?? "unlimited") (\(source))\n"
        if let currency {
            text += "\(user ?? "default"): \(currency.limit.map { "\($0) USD per cycle" } ?? "no currency limit") "
            text += "(\(currency.source))\n"
        }
        return text
    }

    /// `user,limit,source[,limit_usd,usd_source]` and the row.
    func csvRows() throws -> [[String]] {
        guard let currency else {
            return [["user", "limit", "source"], [user ?? "", limit.map(String.init) ?? "", source]]
        }
        return [
            ["user", "limit", "source", "limit_usd", "usd_source"],
            [user ?? "", limit.map(String.init) ?? "", source, currency.limit?.description ?? "", currency.source],
        ]
    }
}
