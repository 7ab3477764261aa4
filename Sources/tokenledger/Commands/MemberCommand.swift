import ArgumentParser
import TokenLedger

/// `tokenledger member`: a user's team and org, the groups its usage is booked to and admitted by.
struct MemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member",
        abstract: "Set, show or clear a user's team and org.",
        discussion: """
            Every record and settle of a user is booked to its team and org as well (idempotently per call id \
            in each), and a reservation is admitted only when the user, its team and its org all admit it. A \
            change applies to calls that start after it; a live lease keeps the groups it was taken in. Prints \
            {"org","team","user"} (null for none).
            """,
        subcommands: [Set.self, Show.self, Clear.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Put a user in a team and/or an org (at least one of --team, --org).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Option(help: "The team id (1-256 bytes of UTF-8, no control characters).") var team: String?
        @Option(help: "The org id (1-256 bytes of UTF-8, no control characters).") var org: String?
        @Argument(help: "The user id.") var user: String

        func validate() throws {
            if team == nil && org == nil {
                throw ArgumentParser.ValidationError("member set needs --team T, --org O or both")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let membership = try await global.withRepository {
                    try await $0.setMembership(user: user, team: team, org: org)
                }
                try formatter.print(membership)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a user's team and org.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Argument(help: "The user id.") var user: String

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                try formatter.print(try await global.withRepository { try await $0.membership(user: user) })
            }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear", abstract: "Take a user out of its team and org.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Argument(help: "The user id.") var user: String

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                try formatter.print(try await global.withRepository { try await $0.clearMembership(user: user) })
            }
        }
    }
}

extension Membership: CommandResult {
    /// `user: team T, org O` (`none` for a missing one).
    func renderTable() throws -> String {
        "\(user): team \(team ?? "none"), org \(org ?? "none")\n"
    }

    /// `user,team,org` and the row.
    func csvRows() throws -> [[String]] { [["user", "team", "org"], [user, team ?? "", org ?? ""]] }
}

extension MemberCommand.Set: GlobalOptionsCommand {}
extension MemberCommand.Show: GlobalOptionsCommand {}
extension MemberCommand.Clear: GlobalOptionsCommand {}
