import Foundation
import RedisTestSupport
import Testing

// The runnable snippets of Snippets/ (record, quota-guard, report), which the DocC articles show:
// each is run as the built executable against a private redis-server, its output checked, and what
// it wrote read back through `tokenledger`. A snippet that does not build or run is a defect.

/// Runs the snippet `name` (built by `swift build` beside the test binary) with `environment`.
private func runSnippet(_ name: String, environment: [String: String]) async throws -> CLIResult {
    let executable = CLI.executable.deletingLastPathComponent().appendingPathComponent(name)
    try #require(
        FileManager.default.isExecutableFile(atPath: executable.path),
        "snippet \(name) is not built at \(executable.path): run `swift build --build-tests` (it builds Snippets/)")
    return try await CLI.start([], environment: environment, executable: executable).finish()
}

/// Runs the snippet `name`, requires it to succeed, and returns its `count` lines of output.
private func snippetLines(_ name: String, count: Int, environment: [String: String]) async throws -> [String] {
    let result = try await runSnippet(name, environment: environment)
    #expect(result.status == 0, "\(name): \(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    try #require(lines.count == count, "\(name) printed: \(result.stdout)")
    return lines
}

/// Runs `body` with a private server and the environment that points snippets and the CLI at it.
private func withSnippetServer(namespace: String, _ body: ([String: String]) async throws -> Void) async throws {
    try await withRedisServer { server async throws in
        try await body(["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": namespace])
    }
}

@Suite("Snippets: each runnable example records, guards or reports against a real server")
struct SnippetTests {
    @Test("record: a handler records an OpenAI response once, though its callback came twice")
    func record() async throws {
        try await withSnippetServer(namespace: "snippet-record") { env in
            let lines = try await snippetLines("record", count: 2, environment: env)
            #expect(lines[0].hasPrefix("recorded run run-") && lines[0].contains(" for alice in cycle "))
            #expect(lines[1] == "alice: 1200 input (200 cached), 300 output, 1 calls")

            let usage = try jsonObject(
                try await CLI.run(["usage", "alice", "--format", "json"], environment: env).stdout)
            #expect(usage["input_tokens"] as? Int == 1200)
            #expect(usage["cached_input_tokens"] as? Int == 200)
            #expect(usage["output_tokens"] as? Int == 300)
            #expect(usage["calls"] as? Int == 1)
        }
    }

    @Test("quota-guard: the first call is admitted and settled, the second is denied before the model is called")
    func quotaGuard() async throws {
        try await withSnippetServer(namespace: "snippet-guard") { env in
            let lines = try await snippetLines("quota-guard", count: 2, environment: env)
            #expect(lines[0] == "answer: Usage is metered per billing cycle.")
            // The request is the prompt's count (exact or heuristic) plus 10,000 reserved output.
            let denied = try #require(lines[1].wholeMatch(of: /denied: bob asked for (\d+) tokens; used 940 of 5000/))
            #expect((Int(denied.1) ?? 0) > 10_000)

            // Only the admitted call was settled; no lease is left behind.
            let usage = try jsonObject(
                try await CLI.run(["usage", "bob", "--format", "json"], environment: env).stdout)
            #expect(usage["total_tokens"] as? Int == 940)
            #expect(usage["calls"] as? Int == 1)
            #expect(usage["reserved"] as? Int == 0)

            // A second run starts from the same usage (the snippet resets bob first).
            let again = try await runSnippet("quota-guard", environment: env)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.split(separator: "\n").first == "answer: Usage is metered per billing cycle.")
        }
    }

    @Test("report: two users' calls in January 2026, largest first, with the cycle's totals")
    func report() async throws {
        try await withSnippetServer(namespace: "snippet-report") { env in
            let result = try await runSnippet("report", environment: env)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stdout
                    == "cycle 2026-01-01: 2 users, 3300 tokens\n  carol: 2500 tokens in 1 calls\n  dave: 800 tokens in 1 calls\n"
            )
            let report = try jsonObject(
                try await CLI.run(["report", "--cycle", "2026-01-01", "--format", "json"], environment: env).stdout)
            let totals = try #require(report["totals"] as? [String: Any])
            #expect(totals["total_tokens"] as? Int == 3300)
        }
    }

    @Test("a snippet that cannot reach Redis says why on stderr and exits 1, without a trap")
    func unreachable() async throws {
        let env = ["REDIS_URL": "redis://127.0.0.1:\(try closedPort())", "TOKENLEDGER_NAMESPACE": "snippet-down"]
        for name in ["record", "quota-guard", "report"] {
            let result = try await runSnippet(name, environment: env)
            // 1, not a signal's number: a trap (an error thrown at top level) would end it by SIGILL.
            #expect(result.status == 1, "\(name): \(result.stderr)")
            #expect(result.stderr.hasPrefix("\(name): "), "\(name): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(name): \(result.stdout)")
        }
    }
}
