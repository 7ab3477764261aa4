import Foundation
import RedisTestSupport
import Testing

/// Runs `body` with a private server and the environment that points the CLI at it.
private func withCLIServer(_ body: ([String: String]) async throws -> Void) async throws {
    try await withRedisServer { server async throws in
        try await body(["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "cli"])
    }
}

@Suite("tokenledger record, usage, report, limit, quota, cycle, reset")
struct LedgerCommandTests {
    @Test("record prints the SPEC's JSON; a repeated call id is applied=false and counts once")
    func record() async throws {
        try await withCLIServer { env in
            let first = try await CLI.run(
                [
                    "record", "alice", "--input", "100", "--output", "20", "--cached", "40", "--model", "gpt-4o",
                    "--call-id", "c1",
                    "--cycle", "2026-01-01",
                ], environment: env)
            #expect(first.status == 0, "\(first.stderr)")
            // gpt-4o (2.5 / cached 1.25 / 10): 60 × 2.5 + 40 × 1.25 + 20 × 10 = 400 USD per million tokens.
            #expect(
                first.stdout
                    == #"{"applied":true,"cost_usd":"0.000400000","cycle":"2026-01-01","total_tokens":120,"user":"alice"}"#
                    + "\n")
            let again = try await CLI.run(
                ["record", "alice", "--input", "100", "--output", "20", "--call-id", "c1", "--cycle", "2026-01-01"],
                environment: env)
            #expect(
                again.stdout
                    == #"{"applied":false,"cost_usd":null,"cycle":"2026-01-01","total_tokens":120,"user":"alice"}"#
                    + "\n")
            let usage = try jsonObject(
                try await CLI.run(["usage", "alice", "--cycle", "2026-01-01", "--format", "json"], environment: env)
                    .stdout)
            #expect(
                Set(usage.keys) == [
                    "user", "cycle", "cycle_end", "input_tokens", "output_tokens", "cached_input_tokens",
                    "cache_write_tokens",
                    "reasoning_tokens", "total_tokens", "calls", "limit", "reserved", "remaining", "models",
                    "limit_usd",
                    "remaining_usd", "reserved_usd",
                    "cost_usd", "unpriced_calls", "reported_cost_usd",
                ])
            // The first record priced gpt-4o (400 USD per million tokens); the repeat added nothing.
            #expect(usage["cost_usd"] as? String == "0.000400000" && usage["unpriced_calls"] as? Int == 0)
            #expect(usage["cycle_end"] as? String == "2026-02-01")
            #expect(
                usage["total_tokens"] as? Int == 120 && usage["calls"] as? Int == 1
                    && usage["cached_input_tokens"] as? Int == 40)
            #expect(usage["limit"] is NSNull && usage["remaining"] is NSNull)
            let models = try #require(usage["models"] as? [String: [String: Any]])
            let gpt = try #require(models["gpt-4o"])
            #expect(
                gpt.keys.sorted() == [
                    "calls", "cost_usd", "input_tokens", "output_tokens", "total_tokens", "unpriced_calls",
                ])
            #expect(
                gpt["input_tokens"] as? Int == 100 && gpt["output_tokens"] as? Int == 20
                    && gpt["total_tokens"] as? Int == 120 && gpt["calls"] as? Int == 1)
            #expect(gpt["cost_usd"] as? String == "0.000400000" && gpt["unpriced_calls"] as? Int == 0)
        }
    }

    @Test(
        "record and quota settle (also with a spool) exit 65 naming the call id and both totals for a reused call id")
    func callConflict() async throws {
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("cli-conflict-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: spool) }
        try await withCLIServer { env in
            let first = try await CLI.run(
                ["record", "carol", "--input", "10", "--output", "5", "--call-id", "k1"], environment: env)
            #expect(first.status == 0, "\(first.stderr)")
            let spooled = env.merging(["TOKENLEDGER_SPOOL_DIR": spool.path]) { $1 }
            for environment in [env, spooled] {
                let retry = try await CLI.run(
                    ["record", "carol", "--input", "5", "--output", "10", "--call-id", "k1"], environment: environment)
                #expect(retry.status == 0 && retry.stdout.contains(#""applied":false"#), "\(retry.stderr)")
                for command in [["record", "carol"], ["quota", "settle", "carol"]] {
                    let conflict = try await CLI.run(
                        command + ["--input", "10", "--output", "6", "--call-id", "k1"], environment: environment)
                    #expect(conflict.status == 65, "\(command): \(conflict.stdout) \(conflict.stderr)")
                    #expect(conflict.stdout.isEmpty)
                    #expect(
                        conflict.stderr.contains(#""k1""#) && conflict.stderr.contains("15")
                            && conflict.stderr.contains("16"), "\(conflict.stderr)")
                }
            }
            let usage = try jsonObject(
                try await CLI.run(["usage", "carol", "--format", "json"], environment: env).stdout)
            #expect(usage["total_tokens"] as? Int == 15 && usage["calls"] as? Int == 1)
        }
    }

    @Test(
        "bad input exits 65, names what was wrong, and writes nothing",
        arguments: [
            (["record", String(repeating: "u", count: 257), "--input", "1", "--output", "1"], "257 bytes"),
            (["record", "tab\tuser", "--input", "1", "--output", "1"], "control"),
            (["record", "bob", "--input", "-5", "--output", "1"], "--input"),
            (["record", "bob", "--input", "1", "--output", "1000000000001"], "--output"),
            (["record", "bob", "--input", "1", "--output", "1", "--cycle", "2025-02-29"], "2025-02-29"),
            (["quota", "reserve", "bob", "--tokens", "-1", "--call-id", "x"], "--tokens"),
            (["limit", "set", "bob", "-3"], "limit"),
        ])
    func badInput(arguments: [String], mention: String) async throws {
        try await withCLIServer { env in
            let result = try await CLI.run(arguments, environment: env)
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains(mention), "\(result.stderr)")
            let report = try jsonObject(try await CLI.run(["report", "--format", "json"], environment: env).stdout)
            #expect((report["users"] as? [Any])?.isEmpty == true)
            let limit = try await CLI.run(["limit", "get", "bob", "--format", "json"], environment: env)
            #expect(limit.stdout.contains(#""source":"none""#))
        }
    }

    @Test("report: csv has a header and one row per user; --top and --sort work; json has cycle, users, totals")
    func report() async throws {
        try await withCLIServer { env in
            for (user, input, output) in [("ann", "10", "90"), ("bob,jr", "50", "5"), ("cat", "30", "30")] {
                let result = try await CLI.run(
                    ["record", user, "--input", input, "--output", output, "--cycle", "2026-03-01"], environment: env)
                #expect(result.status == 0, "\(result.stderr)")
            }
            let csv = try await CLI.run(["report", "--cycle", "2026-03-01", "--format", "csv"], environment: env)
            let lines = csv.stdout.split(separator: "\n").map(String.init)
            #expect(
                lines.first
                    == "user,cycle,cycle_end,input_tokens,output_tokens,cached_input_tokens,cache_write_tokens,reasoning_tokens,total_tokens,calls,limit,reserved,remaining,cost_usd,unpriced_calls,reported_cost_usd"
            )
            #expect(lines.count == 4)
            #expect(lines[1].hasPrefix("ann,2026-03-01,2026-04-01,10,90,"))
            #expect(lines[3].hasPrefix("\"bob,jr\",2026-03-01,"))
            let top = try await CLI.run(
                ["report", "--cycle", "2026-03-01", "--format", "csv", "--top", "1", "--sort", "input"],
                environment: env)
            #expect(top.stdout.split(separator: "\n").count == 2)
            #expect(top.stdout.split(separator: "\n")[1].hasPrefix("\"bob,jr\","))
            let json = try jsonObject(
                try await CLI.run(["report", "--cycle", "2026-03-01", "--format", "json"], environment: env).stdout)
            #expect(Set(json.keys) == ["cycle", "users", "totals"])
            #expect(json["cycle"] as? String == "2026-03-01")
            let totals = try #require(json["totals"] as? [String: Any])
            #expect(
                totals["total_tokens"] as? Int == 215 && totals["users"] as? Int == 3 && totals["calls"] as? Int == 3
                    && totals["unpriced_calls"] as? Int == 3)
            let users = try #require(json["users"] as? [[String: Any]])
            #expect(users.map { $0["user"] as? String } == ["ann", "cat", "bob,jr"])
            let bad = try await CLI.run(["report", "--sort", "price"], environment: env)
            #expect(bad.status == 64)
        }
    }

    @Test("60 concurrent CLI processes reserving 10 against a limit of 100: exactly 10 admitted")
    func concurrentReserveProcesses() async throws {
        try await withCLIServer { env in
            #expect(try await CLI.run(["limit", "set", "q", "100"], environment: env).status == 0)
            let running = try (0..<60).map { index in
                try CLI.start(["quota", "reserve", "q", "--tokens", "10", "--call-id", "r\(index)"], environment: env)
            }
            var results: [CLIResult] = []
            for process in running { results.append(await process.finish()) }
            let admitted = results.enumerated().filter { $0.element.status == 0 }.map { "r\($0.offset)" }
            let denied = results.filter { $0.status == 1 }
            #expect(admitted.count == 10, "\(results.filter { $0.status != 0 && $0.status != 1 }.map(\.stderr))")
            #expect(denied.count == 50)
            #expect(denied.allSatisfy { $0.stdout.contains(#""status":"denied""#) })

            let settling = try admitted.map { id in
                try CLI.start(
                    ["quota", "settle", "q", "--call-id", id, "--input", "5", "--output", "2"], environment: env)
            }
            for process in settling { #expect(await process.finish().status == 0) }
            let check = try jsonObject(
                try await CLI.run(["quota", "check", "q", "--tokens", "30"], environment: env).stdout)
            #expect(check["used"] as? Int == 70 && check["reserved"] as? Int == 0 && check["allowed"] as? Bool == true)
            #expect(
                Set(check.keys) == [
                    "allowed", "user", "cycle", "used", "reserved", "limit", "remaining", "requested", "used_usd",
                    "reserved_usd", "limit_usd", "remaining_usd", "requested_usd", "denied_by", "denied_scope", "tpm",
                    "rpm",
                    "window_tokens", "window_requests", "retry_after_ms",
                ])
            let denied31 = try await CLI.run(["quota", "check", "q", "--tokens", "31"], environment: env)
            #expect(denied31.status == 1)
            let release = try await CLI.run(["quota", "release", "q", "--call-id", "nothing"], environment: env)
            #expect(
                release.stdout == #"{"call_id":"nothing","released_tokens":0,"released_usd":"0.000000000","user":"q"}"#
                    + "\n")
        }
    }

    @Test("limit set/get/clear with a default; cycle set/show; reset needs --yes and keeps the limit")
    func limitsCyclesReset() async throws {
        try await withCLIServer { env in
            #expect(try await CLI.run(["limit", "set", "--default", "500"], environment: env).status == 0)
            #expect(
                try await CLI.run(["limit", "get", "u", "--format", "json"], environment: env).stdout
                    == #"{"limit":500,"limit_usd":null,"source":"default","usd_source":"none","user":"u"}"# + "\n")
            #expect(try await CLI.run(["limit", "set", "u", "900"], environment: env).status == 0)
            #expect(
                try await CLI.run(["limit", "get", "u", "--format", "json"], environment: env).stdout
                    == #"{"limit":900,"limit_usd":null,"source":"user","usd_source":"none","user":"u"}"# + "\n")
            #expect(try await CLI.run(["limit", "clear", "u"], environment: env).status == 0)
            #expect(
                try await CLI.run(["limit", "get", "u", "--format", "json"], environment: env).stdout.contains(
                    #""limit":500"#))

            let set = try await CLI.run(
                ["cycle", "set", "u", "--period", "monthly", "--anchor-day", "31", "--timezone", "America/New_York"],
                environment: env)
            #expect(set.status == 0, "\(set.stderr)")
            let show = try jsonObject(
                try await CLI.run(
                    ["cycle", "show", "u", "--at", "2025-02-10T12:00:00Z", "--format", "json"], environment: env
                ).stdout)
            #expect(show["cycle"] as? String == "2025-01-31" && show["cycle_end"] as? String == "2025-02-28")
            #expect(show["timezone"] as? String == "America/New_York" && show["source"] as? String == "user")
            let badZone = try await CLI.run(
                ["cycle", "set", "u", "--period", "daily", "--timezone", "Mars/Olympus"], environment: env)
            #expect(badZone.status == 65 && badZone.stderr.contains("Mars/Olympus"))

            _ = try await CLI.run(
                ["record", "u", "--input", "7", "--output", "0", "--cycle", "2025-01-31"], environment: env)
            let noYes = try await CLI.run(["reset", "u", "--cycle", "2025-01-31"], environment: env)
            #expect(noYes.status == 64 && noYes.stderr.contains("--yes"))
            let reset = try await CLI.run(["reset", "u", "--cycle", "2025-01-31", "--yes"], environment: env)
            #expect(
                reset.stdout
                    == #"{"cycle":"2025-01-31","previous_calls":1,"previous_total_tokens":7,"reset":true,"user":"u"}"#
                    + "\n")
            let after = try jsonObject(
                try await CLI.run(["usage", "u", "--cycle", "2025-01-31", "--format", "json"], environment: env).stdout)
            #expect(after["total_tokens"] as? Int == 0 && after["limit"] as? Int == 500)
        }
    }

    @Test("Redis down: read and write commands exit 69 naming the address")
    func redisDown() async throws {
        let port = try closedPort()
        let env = ["REDIS_URL": "redis://127.0.0.1:\(port)"]
        for arguments in [["usage", "a"], ["record", "a", "--input", "1", "--output", "1"], ["quota", "check", "a"]] {
            let result = try await CLI.run(arguments, environment: env)
            #expect(result.status == 69, "\(arguments)")
            #expect(result.stderr.contains("127.0.0.1:\(port)"))
        }
    }
}
