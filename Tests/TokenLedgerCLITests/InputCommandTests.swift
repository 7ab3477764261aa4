import Foundation
import RedisTestSupport
import Testing

/// Runs `body` with a private server and the environment that points the CLI at it.
private func withInputServer(_ body: ([String: String], Int) async throws -> Void) async throws {
    try await withRedisServer { server async throws in
        try await body(["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "inp"], server.port)
    }
}

/// Runs `tokenledger` through `sh`, so arguments can hold bytes a Swift `String` cannot (invalid UTF-8):
/// `script` is a shell command line where `"$0"` is the executable.
private func runThroughShell(_ script: String, environment: [String: String]) async throws -> CLIResult {
    try await Program.run("sh", ["-c", script, CLI.executable.path], environment: environment)
}

@Suite("tokenledger: input that crashes or is silently wrong")
struct InputCommandTests {
    @Test("quota reserve --ttl 9223372036854775807 exits 65 naming ttl, not SIGILL; nothing is reserved")
    func hugeTTL() async throws {
        try await withInputServer { env, _ in
            let huge = try await CLI.run(
                ["quota", "reserve", "lu", "--tokens", "10", "--call-id", "r2", "--ttl", "9223372036854775807"],
                environment: env)
            #expect(huge.status == 65, "\(huge.stderr)")
            #expect(
                huge.stderr.contains("ttl is 9223372036854775807 s") && huge.stderr.contains("604800 s"),
                "\(huge.stderr)")
            let usage = try jsonObject(try await CLI.run(["usage", "lu", "--format", "json"], environment: env).stdout)
            #expect(usage["reserved"] as? Int == 0)
        }
    }

    @Test("quota reserve: the same call id with another amount exits 65 naming both; the same amount is held")
    func reserveConflict() async throws {
        try await withInputServer { env, _ in
            let first = try await CLI.run(
                ["quota", "reserve", "lu", "--tokens", "10", "--call-id", "r2"], environment: env)
            #expect(first.status == 0 && first.stdout.contains(#""status":"admitted""#), "\(first.stderr)")
            let same = try await CLI.run(
                ["quota", "reserve", "lu", "--tokens", "10", "--call-id", "r2"], environment: env)
            #expect(same.status == 0 && same.stdout.contains(#""status":"held""#), "\(same.stderr)")
            let other = try await CLI.run(
                ["quota", "reserve", "lu", "--tokens", "20", "--call-id", "r2"], environment: env)
            #expect(other.status == 65 && other.stdout.isEmpty, "\(other.stdout)")
            #expect(other.stderr.contains("10 tokens") && other.stderr.contains("not 20"), "\(other.stderr)")
            let usage = try jsonObject(try await CLI.run(["usage", "lu", "--format", "json"], environment: env).stdout)
            #expect(usage["reserved"] as? Int == 10)
        }
    }

    @Test("user ids of invalid UTF-8 (ff fe, fe ff) exit 65 and write nothing, instead of merging into one user")
    func invalidUTF8Arguments() async throws {
        try await withInputServer { env, _ in
            for bytes in [#"\377\376"#, #"\376\377"#] {
                let result = try await runThroughShell(
                    #"exec "$0" record "$(printf '\#(bytes)')" --input 1 --output 1 --cycle 2026-11-01"#,
                    environment: env)
                #expect(result.status == 65, "\(result.stderr)")
                #expect(result.stderr.contains("argument 2 is not valid UTF-8"), "\(result.stderr)")
                let reserve = try await runThroughShell(
                    #"exec "$0" quota reserve lu --tokens 1 --call-id "$(printf 'x\#(bytes)')""#, environment: env)
                #expect(reserve.status == 65 && reserve.stderr.contains("argument 7"), "\(reserve.stderr)")
            }
            let report = try jsonObject(
                try await CLI.run(["report", "--cycle", "2026-11-01", "--format", "json"], environment: env).stdout)
            #expect((report["users"] as? [Any])?.isEmpty == true)
            // Valid non-ASCII UTF-8 still works.
            let valid = try await CLI.run(["record", "zoë", "--input", "1", "--output", "1"], environment: env)
            #expect(valid.status == 0, "\(valid.stderr)")
        }
    }

    @Test("record (and every writer) exits 65 with a sentence when the schema is newer than the binary")
    func newerSchema() async throws {
        try await withInputServer { env, port in
            let set = try await Program.run("redis-cli", ["-p", "\(port)", "SET", "inp:{global}:schema", "99"])
            #expect(set.status == 0, "\(set.stderr)")
            for arguments in [
                ["record", "lu", "--input", "1", "--output", "1"], ["limit", "set", "lu", "5"],
                ["quota", "reserve", "lu", "--tokens", "1", "--call-id", "a"], ["reset", "lu", "--yes"],
            ] {
                let result = try await CLI.run(arguments, environment: env)
                #expect(result.status == 65, "\(arguments): \(result.stderr)")
                #expect(
                    result.stderr.contains("schema version 99, newer than this build"), "\(arguments): \(result.stderr)"
                )
            }
            let keys = try await Program.run("redis-cli", ["-p", "\(port)", "--raw", "KEYS", "inp:*"])
            #expect(keys.stdout == "inp:{global}:schema\n", "\(keys.stdout)")
        }
    }

    @Test("report lists users with garbage counters on stderr and in JSON, and exits 65; usage exits 65")
    func garbageReport() async throws {
        try await withInputServer { env, port in
            for user in ["alice", "bob"] {
                let recorded = try await CLI.run(
                    ["record", user, "--input", "5", "--output", "5", "--cycle", "2026-11-01"], environment: env)
                #expect(recorded.status == 0, "\(recorded.stderr)")
            }
            _ = try await Program.run(
                "redis-cli", ["-p", "\(port)", "HSET", "inp:{bob}:cycle:2026-11-01", "output_tokens", "abc"])
            let report = try await CLI.run(["report", "--cycle", "2026-11-01", "--format", "json"], environment: env)
            #expect(report.status == 65, "\(report.stderr)")
            #expect(report.stderr.contains(#"user "bob" is left out of the report"#), "\(report.stderr)")
            let json = try jsonObject(report.stdout)
            let unreadable = try #require(json["unreadable"] as? [[String: String]])
            #expect(unreadable.map { $0["user"] } == ["bob"])
            #expect((json["totals"] as? [String: Any])?["total_tokens"] as? Int == 10)
            let usage = try await CLI.run(["usage", "bob", "--cycle", "2026-11-01"], environment: env)
            #expect(usage.status == 65 && usage.stderr.contains("output_tokens is 'abc'"), "\(usage.stderr)")
        }
    }

    @Test("extract, estimate and record --response refuse input over the cap (exit 65 naming it); under it they work")
    func inputCap() async throws {
        let big = String(repeating: "x", count: 5000)
        let extract = try await CLI.run(["extract", "--max-input-bytes", "1000"], stdin: big)
        #expect(extract.status == 65 && extract.stderr.contains("input cap of 1000 bytes"), "\(extract.stderr)")
        let estimate = try await CLI.run(["estimate"], environment: ["TOKENLEDGER_MAX_INPUT_BYTES": "4999"], stdin: big)
        #expect(estimate.status == 65 && estimate.stderr.contains("input cap of 4999 bytes"), "\(estimate.stderr)")
        let exact = try await CLI.run(["estimate", "--max-input-bytes", "5000"], stdin: big)
        #expect(
            exact.status == 0 && Int(exact.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) != nil,
            "\(exact.stderr)")
        let badCap = try await CLI.run(["estimate", "--max-input-bytes", "-1"], stdin: "hi")
        #expect(badCap.status == 64 && badCap.stderr.contains("--max-input-bytes"), "\(badCap.stderr)")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("response-\(UUID().uuidString).json")
            .path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let response = #"{"model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}"#
        #expect(FileManager.default.createFile(atPath: file, contents: Data(response.utf8)))
        try await withInputServer { env, _ in
            let refused = try await CLI.run(
                ["record", "lu", "--response", file, "--max-input-bytes", "20"], environment: env)
            #expect(
                refused.status == 65 && refused.stderr.contains("\(file) is larger than the input cap of 20 bytes"),
                "\(refused.stderr)")
            let refusedStdin = try await CLI.run(
                ["record", "lu", "--response", "-", "--max-input-bytes", "20"], environment: env, stdin: response)
            #expect(
                refusedStdin.status == 65 && refusedStdin.stderr.contains("standard input is larger"),
                "\(refusedStdin.stderr)")
            let recorded = try await CLI.run(
                ["record", "lu", "--response", file, "--cycle", "2026-11-01"], environment: env)
            #expect(recorded.status == 0 && recorded.stdout.contains(#""total_tokens":12"#), "\(recorded.stderr)")
        }
    }
}
