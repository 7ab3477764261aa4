import ArgumentParser
import Foundation
import RedisClient
import TokenLedger

extension APIKeyRole: ExpressibleByArgument {}

/// `tokenledger key`: the API keys of `tokenledger serve` (create, list, revoke).
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Create, list or revoke the API keys of tokenledger serve.",
        discussion: """
            A key's secret is printed once by key create and stored only as a SHA-256 hash. Roles: app \
            (record, check, reserve, settle, release, extract), read (usage and reports), admin (everything). \
            Rotate a key by creating a new one, moving its users to it, then revoking the old one.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create an API key and print its secret (shown once).",
            discussion: #"""
                Prints {"name","role","secret"} (and "default_user" when given). The secret is not stored and \
                cannot be shown again. --default-user U (app keys): the proxy routes book a call that names \
                no user to U (docs/proxy.md).
                """#)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Option(help: "What the key may do: app, read or admin.") var role: APIKeyRole
        @Argument(help: "A new key name: 1-64 bytes of A-Z a-z 0-9 _ . -") var name: String
        @Option(help: "For an app key: the user of proxied calls that name none.") var defaultUser: String?

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let created = try await global.withKeyStore {
                    try await $0.create(name: name, role: role, defaultUser: defaultUser)
                }
                try formatter.print(
                    KeyCreateOutput(
                        name: created.key.name, role: created.key.role, secret: created.secret,
                        defaultUser: created.key.defaultUser))
                printError(
                    "store the secret of '\(created.key.name)' now: it is not stored and will not be shown again")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the API keys (names, roles, creation times; never a secret).",
            discussion: #"Prints {"keys":[{"created_at","name","role"}…]}, sorted by name."#)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                try formatter.print(KeyListOutput(keys: try await global.withKeyStore { try await $0.list() }))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke", abstract: "Revoke an API key: its secret stops working at once.",
            discussion: #"Prints {"name","revoked":true}; a name no key has is exit 65."#)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Argument(help: "The key's name.") var name: String

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let (revoked, namespace) = try await global.withKeyStore { store in
                    (try await store.revoke(name: name), store.keys.namespace)
                }
                guard revoked else {
                    throw CLIFailure(
                        exitCode: .dataError,
                        message:
                            "no API key named \(String(reflecting: name)) in namespace '\(namespace)'; key list shows them"
                    )
                }
                try formatter.print(KeyRevokeOutput(name: name, revoked: true))
            }
        }
    }
}

extension KeyCommand.Create: GlobalOptionsCommand {}
extension KeyCommand.List: GlobalOptionsCommand {}
extension KeyCommand.Revoke: GlobalOptionsCommand {}

extension GlobalOptions {
    /// Opens an API key store for the configured Redis and namespace, runs `body`, and closes the pool.
    func withKeyStore<T>(_ body: (APIKeyStore) async throws -> T) async throws -> T {
        try await withPool(maximumConnections: 2) { pool, configuration in
            try await body(try APIKeyStore(pool: pool, namespace: configuration.ledger.namespace))
        }
    }
}

/// `{"name","role","secret"}` (and `default_user` when set): a key just created, with its one-time secret.
struct KeyCreateOutput: CommandResult {
    var name: String
    var role: APIKeyRole
    var secret: String
    var defaultUser: String?

    enum CodingKeys: String, CodingKey {
        case name, role, secret
        case defaultUser = "default_user"
    }

    /// `name`, `role`, `secret` (and `default_user`), one per line, values left-aligned (the secret is
    /// copied whole).
    func renderTable() throws -> String {
        var rows = [["name", name], ["role", role.rawValue], ["secret", secret]]
        if let defaultUser { rows.append(["default_user", defaultUser]) }
        return leftAlignedColumns(rows)
    }
}

/// `{"keys":[{"created_at","name","role"}…]}`, sorted by name.
struct KeyListOutput: CommandResult {
    var keys: [APIKey]

    /// `name  role  created_at` and one row per key.
    func renderTable() throws -> String {
        if keys.isEmpty { return "no API keys\n" }
        return leftAlignedColumns(csvRows())
    }

    /// `name,role,created_at` and one row per key.
    func csvRows() -> [[String]] {
        guard keys.contains(where: { $0.defaultUser != nil }) else {
            return [["name", "role", "created_at"]] + keys.map { [$0.name, $0.role.rawValue, $0.createdAt] }
        }
        return [["name", "role", "created_at", "default_user"]]
            + keys.map { [$0.name, $0.role.rawValue, $0.createdAt, $0.defaultUser ?? ""] }
    }
}

/// `{"name","revoked"}`.
struct KeyRevokeOutput: CommandResult {
    var name: String
    var revoked: Bool
}

/// Rows as left-aligned columns (names and secrets read best so), each line ending in a newline.
private func leftAlignedColumns(_ rows: [[String]]) -> String {
    var widths: [Int] = []
    for row in rows {
        for (index, cell) in row.enumerated() {
            if index == widths.count { widths.append(0) }
            widths[index] = max(widths[index], cell.count)
        }
    }
    return rows.map { row in
        row.enumerated().map { index, cell in cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
    }.joined()
}
