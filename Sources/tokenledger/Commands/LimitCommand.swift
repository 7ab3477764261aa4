import ArgumentParser
import TokenLedger

/// `tokenledger limit`: token limits, which persist across cycles.
struct LimitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limit",
        abstract: "Set, show or clear token limits per cycle (a user's own, or the default).",
        subcommands: [Set.self, Get.self, Clear.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Set a user's limit, or with --default the limit for users without one.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: JSONFormatOptions
        @Flag(name: .customLong("default"), help: "Set the default limit instead of a user's.") var isDefault = false
        @Argument(parsing: .allUnrecognized, help: "USER N, or with --default just N.") var values: [String] = []

        func validate() throws {
            if isDefault && values.count != 1 { throw ArgumentParser.ValidationError("usage: limit set --default N") }
            if !isDefault && values.count != 2 { throw ArgumentParser.ValidationError("usage: limit set USER N") }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let tokens = try Validation.parseLimit(values[values.count - 1], field: "limit")
                if isDefault {
                    try await global.withRepository { try await $0.setDefaultLimit(tokens) }
                    try formatter.print(LimitOutput(user: nil, limit: tokens, source: "default"))
                } else {
                    try await global.withRepository { try await $0.setLimit(user: values[0], tokens: tokens) }
                    try formatter.print(LimitOutput(user: values[0], limit: tokens, source: "user"))
                }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Show the limit that applies to a user, and where it comes from.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Argument(help: "The user id.") var user: String

        func run() async throws {
            try await reportingFailures {
                let limits = try await global.withRepository { try await $0.limit(user: user) }
                try output.formatter().print(LimitOutput(user: user, limits: limits))
            }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear", abstract: "Remove a user's own limit (the default applies again).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: JSONFormatOptions
        @Flag(
            name: .customLong("default"), help: "Clear the default limit instead (users without one become unlimited).")
        var isDefault = false
        @Argument(help: "The user id (not with --default).") var user: String?

        func validate() throws {
            if isDefault == (user != nil) {
                throw ArgumentParser.ValidationError("usage: limit clear USER, or limit clear --default")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                if let user {
                    try await global.withRepository { try await $0.clearLimit(user: user) }
                    try formatter.print(LimitOutput(user: user, limit: nil, source: "cleared"))
                } else {
                    try await global.withRepository { try await $0.setDefaultLimit(nil) }
                    try formatter.print(LimitOutput(user: nil, limit: nil, source: "cleared"))
                }
            }
        }
    }
}

extension LimitOutput: CommandResult {
    /// `USER: N tokens per cycle (SOURCE)`, or `unlimited`.
    func renderTable() throws -> String {
        "\(user ?? "default"): \(limit.map { "\($0) tokens per cycle" } ?? "unlimited") (\(source))\n"
    }

    /// `user,limit,source` and the row.
    func csvRows() throws -> [[String]] {
        [["user", "limit", "source"], [user ?? "", limit.map(String.init) ?? "", source]]
    }
}
