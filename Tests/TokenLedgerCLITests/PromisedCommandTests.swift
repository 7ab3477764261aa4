import Foundation
import RedisTestSupport
import Testing

// CLI behaviours README.md and docs/operations.md promise, each run as a child process against a
// private redis-server: record --response FILE, quota reserve --ttl, usage --at, rollover's
// "locked": true, migrate's exit 69 under a held lock, and a unix:///path?db=N connection.

/// `redis-cli` against the server (TCP, or the unix socket with `socket`), one reply per line.
private func redisCLI(_ server: RedisTestServer, _ arguments: [String], socket: Bool = false, database: Int = 0)
    async throws -> String
{
    let target = socket ? ["-s", server.unixSocketPath ?? ""] : ["-p", String(server.port)]
    let result = try await Program.run("redis-cli", target + ["-n", String(database)] + arguments)
    #expect(result.status == 0, "redis-cli \(arguments): \(result.stderr)")
    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The server's clock in milliseconds (`TIME`).
private func serverMilliseconds(_ server: RedisTestServer) async throws -> Int {
    let parts = try await redisCLI(server, ["TIME"]).split(separator: "\n").compactMap { Int($0) }
    try #require(parts.count == 2)
    return parts[0] * 1000 + parts[1] / 1000
}

/// Runs `body` with a private server (TCP and a unix socket) and the environment pointing the CLI at it.
private func withPromisedServer(_ body: (RedisTestServer, [String: String]) async throws -> Void) async throws {
    var options = RedisTestServer.Options()
    options.unixSocket = true
    try await withRedisServer(options) { server async throws in
        try await body(server, ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "cli"])
    }
}

@Suite("Promised CLI behaviours: --response FILE, --ttl, --at, locks, unix socket databases")
struct PromisedCommandTests {
    static let openAIBody =
        #"{"model":"gpt-4o-2024-08-06","usage":{"prompt_tokens":2350,"completion_tokens":860,"total_tokens":3210,"prompt_tokens_details":{"cached_tokens":1920},"completion_tokens_details":{"reasoning_tokens":640}}}"#

    @Test(
        "record --response FILE reads a provider response from a real file; a missing file is exit 65 naming it, nothing written"
    )
    func recordResponseFile() async throws {
        try await withPromisedServer { _, env in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "response-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("response.json")
            try Data(Self.openAIBody.utf8).write(to: file)

            let result = try await CLI.run(
                ["record", "eve", "--response", file.path, "--call-id", "r1", "--cycle", "2026-01-01"], environment: env
            )
            #expect(result.status == 0, "\(result.stderr)")
            // gpt-4o-2024-08-06 → gpt-4o (2.5 / cached 1.25 / 10): 430 × 2.5 + 1,920 × 1.25 + 860 × 10 =
            // 12,075 USD per million tokens.
            #expect(
                result.stdout
                    == #"{"applied":true,"cost_usd":"0.012075000","cycle":"2026-01-01","total_tokens":3210,"user":"eve"}"#
                    + "\n")
            let usage = try jsonObject(
                try await CLI.run(["usage", "eve", "--cycle", "2026-01-01", "--format", "json"], environment: env)
                    .stdout)
            #expect(usage["input_tokens"] as? Int == 2350 && usage["output_tokens"] as? Int == 860)
            #expect(usage["cached_input_tokens"] as? Int == 1920 && usage["reasoning_tokens"] as? Int == 640)
            #expect(
                (usage["models"] as? [String: Any])?.keys.sorted() == ["gpt-4o-2024-08-06"],
                "the model is read from the response")

            let missing = directory.appendingPathComponent("absent.json").path
            let refused = try await CLI.run(
                ["record", "eve", "--response", missing, "--call-id", "r2", "--cycle", "2026-01-01"], environment: env)
            #expect(refused.status == 65, "\(refused.stderr)")
            #expect(refused.stderr.contains(missing))
            let after = try jsonObject(
                try await CLI.run(["usage", "eve", "--cycle", "2026-01-01", "--format", "json"], environment: env)
                    .stdout)
            #expect(after["calls"] as? Int == 1 && after["total_tokens"] as? Int == 3210)
        }
    }

    @Test(
        "quota reserve --ttl: the lease expires after that many seconds (quota check shows it gone); a lease without --ttl stays"
    )
    func reserveTTL() async throws {
        try await withPromisedServer { server, env in
            #expect(try await CLI.run(["limit", "set", "lu", "1000"], environment: env).status == 0)
            // The default lease (600 s) for contrast.
            let beforeLong = try await serverMilliseconds(server)
            let long = try jsonObject(
                try await CLI.run(["quota", "reserve", "lu", "--tokens", "50", "--call-id", "long"], environment: env)
                    .stdout)
            #expect(long["status"] as? String == "admitted")
            let afterLong = try await serverMilliseconds(server)

            let before = try await serverMilliseconds(server)
            let short = try await CLI.run(
                ["quota", "reserve", "lu", "--tokens", "100", "--call-id", "short", "--ttl", "2"], environment: env)
            let after = try await serverMilliseconds(server)
            #expect(short.status == 0, "\(short.stderr)")
            let reserved = try jsonObject(short.stdout)
            #expect(reserved["status"] as? String == "admitted" && reserved["reserved"] as? Int == 150)

            // The lease's expiry is the server's clock at the reservation plus exactly the ttl.
            let expiry = try #require(Int(try await redisCLI(server, ["ZSCORE", "cli:{lu}:lease-expiry", "short"])))
            #expect(
                (before + 2_000...after + 2_000).contains(expiry),
                "expiry \(expiry), reserved between \(before) and \(after)")
            let longExpiry = try #require(Int(try await redisCLI(server, ["ZSCORE", "cli:{lu}:lease-expiry", "long"])))
            // Bounded by the server's clock around that reservation, not by how long this test took.
            #expect(
                (beforeLong + 600_000...afterLong + 600_000).contains(longExpiry),
                "a lease without --ttl lives 600 s: expiry \(longExpiry), reserved between \(beforeLong) and \(afterLong)"
            )

            // Wait on what quota check shows: the short lease goes by itself, the long one stays.
            let deadline = ContinuousClock.now + .seconds(90)
            var check: [String: Any] = [:]
            while ContinuousClock.now < deadline {
                check = try jsonObject(
                    try await CLI.run(["quota", "check", "lu", "--tokens", "0"], environment: env).stdout)
                if check["reserved"] as? Int == 50 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(check["reserved"] as? Int == 50, "the 2 s lease never expired: \(check)")
            #expect(check["remaining"] as? Int == 950 && check["used"] as? Int == 0)
            let zero = try await CLI.run(
                ["quota", "reserve", "lu", "--tokens", "1", "--call-id", "bad", "--ttl", "0"], environment: env)
            #expect(zero.status == 64 && zero.stderr.contains("--ttl"), "\(zero.stderr)")
        }
    }

    @Test(
        "usage --at evaluates at that instant: the cycle containing it, with that cycle's totals; a bad --at is refused naming it"
    )
    func usageAt() async throws {
        try await withPromisedServer { _, env in
            for (cycle, input) in [("2026-01-01", "100"), ("2026-02-01", "200")] {
                let result = try await CLI.run(
                    ["record", "lu", "--input", input, "--output", "1", "--cycle", cycle, "--call-id", "c-\(cycle)"],
                    environment: env)
                #expect(result.status == 0, "\(result.stderr)")
            }
            let january = try jsonObject(
                try await CLI.run(
                    ["usage", "lu", "--at", "2026-01-31T23:59:59Z", "--format", "json"], environment: env
                ).stdout)
            #expect(january["cycle"] as? String == "2026-01-01" && january["cycle_end"] as? String == "2026-02-01")
            #expect(january["total_tokens"] as? Int == 101 && january["calls"] as? Int == 1)
            let february = try jsonObject(
                try await CLI.run(
                    ["usage", "lu", "--at", "2026-02-01T00:00:00Z", "--format", "json"], environment: env
                ).stdout)
            #expect(february["cycle"] as? String == "2026-02-01" && february["cycle_end"] as? String == "2026-03-01")
            #expect(february["total_tokens"] as? Int == 201)
            let march = try jsonObject(
                try await CLI.run(
                    ["usage", "lu", "--at", "2026-03-15T12:00:00+02:00", "--format", "json"], environment: env
                ).stdout)
            #expect(march["cycle"] as? String == "2026-03-01" && march["total_tokens"] as? Int == 0)

            let bad = try await CLI.run(["usage", "lu", "--at", "yesterday"], environment: env)
            #expect(bad.status == 65 && bad.stderr.contains("--at"), "\(bad.status) \(bad.stderr)")
        }
    }

    @Test(
        "rollover while another run holds the lock prints \"locked\": true, exits 0 and closes nothing; once released it runs"
    )
    func rolloverLocked() async throws {
        try await withPromisedServer { server, env in
            let recorded = try await CLI.run(
                ["record", "lu", "--input", "10", "--output", "5", "--cycle", "2026-01-01"], environment: env)
            #expect(recorded.status == 0, "\(recorded.stderr)")
            // Another run's lock, as JobLock takes it: SET key token NX PX ttl.
            #expect(
                try await redisCLI(server, ["SET", "cli:{global}:lock:rollover", "another-run", "NX", "PX", "600000"])
                    == "OK")

            let locked = try await CLI.run(
                ["rollover", "--now", "2026-02-02T00:30:00Z", "--format", "json"], environment: env)
            #expect(locked.status == 0, "\(locked.stderr)")
            let result = try jsonObject(locked.stdout)
            #expect(result["locked"] as? Bool == true)
            #expect((result["closed"] as? [Any])?.isEmpty == true)
            #expect(locked.stderr.contains("lock"), "\(locked.stderr)")
            #expect(
                try await redisCLI(server, ["EXISTS", "cli:{global}:history:2026-01-01"]) == "0",
                "a locked run wrote history")
            #expect(
                try await redisCLI(server, ["GET", "cli:{global}:lock:rollover"]) == "another-run",
                "the other run's lock was touched")

            _ = try await redisCLI(server, ["DEL", "cli:{global}:lock:rollover"])
            let free = try jsonObject(
                try await CLI.run(["rollover", "--now", "2026-02-02T00:30:00Z", "--format", "json"], environment: env)
                    .stdout)
            #expect(free["locked"] as? Bool == false)
            let closed = try #require(free["closed"] as? [[String: Any]])
            #expect(closed.map { $0["cycle"] as? String } == ["2026-01-01"])
            #expect(try await redisCLI(server, ["EXISTS", "cli:{global}:history:2026-01-01"]) == "1")
        }
    }

    @Test(
        "migrate while another migrate holds the lock exits 69, saying so, and applies nothing; once released it runs")
    func migrateLocked() async throws {
        try await withPromisedServer { server, env in
            #expect(
                try await redisCLI(server, ["SET", "cli:{global}:lock:migrate", "another-run", "NX", "PX", "600000"])
                    == "OK")
            let before = try await redisCLI(server, ["--scan", "--pattern", "cli:*"])

            let blocked = try await CLI.run(["migrate", "--format", "json"], environment: env)
            #expect(blocked.status == 69, "\(blocked.status) \(blocked.stderr)")
            #expect(blocked.stderr.contains("migrate") && blocked.stderr.contains("lock"), "\(blocked.stderr)")
            #expect(
                try await redisCLI(server, ["--scan", "--pattern", "cli:*"]) == before,
                "a blocked migrate wrote something")
            #expect(try await redisCLI(server, ["GET", "cli:{global}:lock:migrate"]) == "another-run")

            _ = try await redisCLI(server, ["DEL", "cli:{global}:lock:migrate"])
            let free = try await CLI.run(["migrate", "--format", "json"], environment: env)
            #expect(free.status == 0, "\(free.stderr)")
            #expect(try await redisCLI(server, ["EXISTS", "cli:{global}:migrations"]) == "1")
        }
    }

    @Test("REDIS_URL=unix:///path?db=N: the CLI writes into database N over the socket, and reads it back")
    func unixSocketDatabase() async throws {
        try await withPromisedServer { server, _ in
            let path = try #require(server.unixSocketPath)
            let env = ["REDIS_URL": "unix://\(path)?db=5", "TOKENLEDGER_NAMESPACE": "cli"]
            let recorded = try await CLI.run(
                ["record", "lu", "--input", "30", "--output", "12", "--cycle", "2026-01-01"], environment: env)
            #expect(recorded.status == 0, "\(recorded.stderr)")
            #expect(
                try await redisCLI(
                    server, ["HGET", "cli:{lu}:cycle:2026-01-01", "input_tokens"], socket: true, database: 5) == "30")
            #expect(
                try await redisCLI(server, ["EXISTS", "cli:{lu}:cycle:2026-01-01"], database: 0) == "0",
                "database 0 must stay empty")
            let usage = try jsonObject(
                try await CLI.run(["usage", "lu", "--cycle", "2026-01-01", "--format", "json"], environment: env).stdout
            )
            #expect(usage["total_tokens"] as? Int == 42)
            let other = try jsonObject(
                try await CLI.run(
                    ["usage", "lu", "--cycle", "2026-01-01", "--format", "json"],
                    environment: ["REDIS_URL": "unix://\(path)?db=6", "TOKENLEDGER_NAMESPACE": "cli"]
                ).stdout)
            #expect(other["total_tokens"] as? Int == 0, "database 6 has nothing of database 5")
        }
    }
}
