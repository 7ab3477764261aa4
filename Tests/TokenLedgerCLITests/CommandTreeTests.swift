import ArgumentParser
import Foundation
import RedisTestSupport
import Testing

@testable import tokenledger

/// One leaf command of the tree: its path and arguments that make it do its work.
private struct Sample {
    var path: [String]
    var arguments: [String]
    var stdin: String? = nil
    var usesSpool = false
    /// Whether it prints one result and exits (`serve` runs until stopped: ServeCommandTests).
    var printsResult = true
}

/// Every leaf command, in an order that runs against one namespace (demo first: it empties it).
private let samples: [Sample] = [
    Sample(path: ["demo"], arguments: ["--calls", "1"]),
    Sample(path: ["migrate", "run"], arguments: []),
    Sample(path: ["migrate", "status"], arguments: []),
    Sample(path: ["record"], arguments: ["alice", "--input", "10", "--output", "5", "--call-id", "c1"]),
    Sample(path: ["usage"], arguments: ["alice"]),
    Sample(path: ["report"], arguments: []),
    Sample(path: ["limit", "set"], arguments: ["alice", "1000"]),
    Sample(path: ["limit", "get"], arguments: ["alice"]),
    Sample(path: ["limit", "clear"], arguments: ["alice"]),
    Sample(path: ["quota", "check"], arguments: ["alice", "--tokens", "5"]),
    Sample(path: ["quota", "reserve"], arguments: ["alice", "--tokens", "5", "--call-id", "r1"]),
    Sample(path: ["quota", "settle"], arguments: ["alice", "--call-id", "r1", "--input", "3", "--output", "2"]),
    Sample(path: ["quota", "release"], arguments: ["alice", "--call-id", "r2"]),
    Sample(path: ["cycle", "set"], arguments: ["alice", "--period", "weekly"]),
    Sample(path: ["cycle", "show"], arguments: ["alice"]),
    Sample(path: ["member", "set"], arguments: ["alice", "--team", "t"]),
    Sample(path: ["member", "show"], arguments: ["alice"]),
    Sample(path: ["member", "clear"], arguments: ["alice"]),
    Sample(path: ["rate", "set"], arguments: ["alice", "--tpm", "100000"]),
    Sample(path: ["rate", "get"], arguments: ["alice"]),
    Sample(path: ["rate", "clear"], arguments: ["alice"]),
    Sample(path: ["reset"], arguments: ["alice", "--yes"]),
    Sample(
        path: ["extract"], arguments: [],
        stdin: #"{"model":"gpt-4o","usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#),
    Sample(path: ["estimate"], arguments: [], stdin: "hello world"),
    Sample(path: ["spool", "status"], arguments: [], usesSpool: true),
    Sample(path: ["spool", "flush"], arguments: [], usesSpool: true),
    Sample(path: ["spool", "parked", "list"], arguments: [], usesSpool: true),
    Sample(path: ["spool", "parked", "apply"], arguments: ["--yes"], usesSpool: true),
    Sample(path: ["spool", "parked", "drop"], arguments: ["--yes"], usesSpool: true),
    Sample(path: ["rollover"], arguments: []),
    Sample(path: ["history"], arguments: []),
    Sample(path: ["doctor"], arguments: []),
    Sample(path: ["key", "create"], arguments: ["tree-key", "--role", "app"]),
    Sample(path: ["key", "list"], arguments: []),
    Sample(path: ["key", "revoke"], arguments: ["tree-key"]),
    Sample(path: ["price", "set"], arguments: ["tree-model", "--input", "3", "--output", "15"]),
    Sample(path: ["price", "get"], arguments: ["tree-model"]),
    Sample(path: ["price", "list"], arguments: []),
    Sample(path: ["price", "delete"], arguments: ["tree-model"]),
    Sample(
        path: ["price", "import"], arguments: ["-"],
        stdin: #"{"tree-import": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}"#),
    Sample(path: ["serve"], arguments: ["--port", "0"], printsResult: false),
]

/// The paths of every leaf command under `command` (a command with subcommands is not a leaf).
private func leafPaths(_ command: any ParsableCommand.Type, prefix: [String] = []) -> [(
    [String], any ParsableCommand.Type
)] {
    let subcommands = command.configuration.subcommands
    if subcommands.isEmpty { return [(prefix, command)] }
    return subcommands.flatMap { leafPaths($0, prefix: prefix + [$0.configuration.commandName ?? ""]) }
}

@Suite("the command tree: --redis/--namespace anywhere, --format json everywhere")
struct CommandTreeTests {
    @Test("every leaf command of the tree has a sample here, so none escapes the checks below")
    func everyCommandIsSampled() {
        let tree = Set(leafPaths(TokenLedgerCommand.self).map { $0.0.joined(separator: " ") })
        let sampled = Set(samples.map { $0.path.joined(separator: " ") })
        #expect(tree == sampled)
        #expect(tree.count == samples.count)
    }

    @Test("--redis and --namespace parse before the subcommand and after its arguments, on every command")
    func globalOptionsParseAnywhere() throws {
        let url = "redis://127.0.0.1:6390/2"
        let namespace = "demo-tree"
        for (path, type) in leafPaths(TokenLedgerCommand.self) {
            let sample = try #require(samples.first { $0.path == path })
            let globals = ["--redis", url, "--namespace", namespace]
            for arguments in [
                globals + path + sample.arguments, path + sample.arguments + globals,
                ["--redis=" + url] + path.prefix(1) + ["--namespace", namespace] + path.dropFirst() + sample.arguments,
            ] {
                let parsed = try TokenLedgerCommand.parseAsRoot(TokenLedgerCommand.movingGlobalOptions(arguments))
                #expect(Swift.type(of: parsed) == type, "\(arguments)")
                let command = try #require(parsed as? any GlobalOptionsCommand, "\(path) does not take --redis")
                #expect(command.global.redis == url && command.global.namespace == namespace, "\(arguments)")
            }
        }
    }

    @Test("a user id named like a subcommand stays an argument")
    func userNamedLikeACommand() throws {
        let arguments = TokenLedgerCommand.movingGlobalOptions([
            "--namespace", "n", "usage", "report", "--redis", "redis://h",
        ])
        let parsed = try #require(try TokenLedgerCommand.parseAsRoot(arguments) as? UsageCommand)
        #expect(parsed.user == "report" && parsed.global.namespace == "n" && parsed.global.redis == "redis://h")
    }

    @Test("--format json prints one line of JSON on every command, run against a real server with the options in front")
    func formatJSONEverywhere() async throws {
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("tree-spool-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: spool) }
        try await withRedisServer { server async throws in
            let globals = ["--redis", "redis://127.0.0.1:\(server.port)", "--namespace", "demo-tree"]
            for sample in samples where sample.printsResult {
                let result = try await CLI.run(
                    globals + sample.path + sample.arguments + ["--format", "json"],
                    environment: sample.usesSpool ? ["TOKENLEDGER_SPOOL_DIR": spool] : [:], stdin: sample.stdin)
                let name = sample.path.joined(separator: " ")
                #expect(result.status == 0, "\(name): \(result.stderr)")
                let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.count == 2 && lines[1].isEmpty, "\(name) printed \(result.stdout)")
                #expect(
                    (try? JSONSerialization.jsonObject(with: Data(lines[0].utf8), options: .fragmentsAllowed)) != nil,
                    "\(name) printed \(result.stdout)")
            }
            // The options in front are the ones used: erin's call is in demo-tree, not in the default tl.
            let record = try await CLI.run(globals + ["record", "erin", "--input", "7", "--output", "1"])
            #expect(record.status == 0, "\(record.stderr)")
            let there = try jsonObject(try await CLI.run(["usage", "erin", "--format", "json"] + globals).stdout)
            let elsewhere = try jsonObject(
                try await CLI.run(["--redis", globals[1], "usage", "erin", "--format", "json"]).stdout)
            #expect(there["total_tokens"] as? Int == 8 && elsewhere["total_tokens"] as? Int == 0)
        }
    }
}
