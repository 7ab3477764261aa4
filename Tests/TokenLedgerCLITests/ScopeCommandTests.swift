import Foundation
import RedisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `body` with a private server and the environment pointing the CLI at it (namespace `cli`).
private func withScopeServer(_ body: ([String: String], Int) async throws -> Void) async throws {
    try await withRedisServer { server async throws in
        try await body(
            ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "cli"], Int(server.port))
    }
}

@Suite("CLI: teams and orgs")
struct ScopeCommandTests {
    @Test("member set/show/clear print {user,team,org}; limit, usage and quota take team:T; a denial names the scope")
    func memberAndScopes() async throws {
        try await withScopeServer { env, _ in
            let set = try await CLI.run(
                ["member", "set", "alice", "--team", "research", "--org", "acme", "--format", "json"], environment: env)
            #expect(set.status == 0, "\(set.stderr)")
            #expect(set.stdout == #"{"org":"acme","team":"research","user":"alice"}"# + "\n")
            let none = try await CLI.run(["member", "set", "alice"], environment: env)
            #expect(none.status == 64 && none.stderr.contains("--team"))
            let bad = try await CLI.run(["member", "set", "alice", "--team", "a\u{1}b"], environment: env)
            #expect(bad.status == 65 && bad.stderr.contains("team"))
            #expect(try await CLI.run(["member", "set", "bob", "--team", "research"], environment: env).status == 0)

            let limit = try await CLI.run(["limit", "set", "team:research", "100"], environment: env)
            #expect(limit.status == 0, "\(limit.stderr)")
            let got = try jsonObject(
                try await CLI.run(["limit", "get", "team:research", "--format", "json"], environment: env).stdout)
            #expect(got["limit"] as? Int == 100)
            // A user whose id starts with team: is addressed as user:team:…
            #expect(try await CLI.run(["limit", "set", "user:team:research", "7"], environment: env).status == 0)
            let plain = try jsonObject(
                try await CLI.run(["limit", "get", "user:team:research", "--format", "json"], environment: env).stdout)
            #expect(plain["limit"] as? Int == 7)

            let record = try await CLI.run(
                ["record", "bob", "--call-id", "c1", "--input", "60", "--output", "10"], environment: env)
            #expect(record.status == 0, "\(record.stderr)")
            let usage = try jsonObject(
                try await CLI.run(["usage", "team:research", "--format", "json"], environment: env).stdout)
            #expect(usage["total_tokens"] as? Int == 70 && usage["user"] as? String == "team:research")
            #expect(
                (try jsonObject(try await CLI.run(["usage", "org:acme", "--format", "json"], environment: env).stdout))[
                    "total_tokens"] as? Int == 0)

            let denied = try await CLI.run(
                ["quota", "reserve", "alice", "--call-id", "r1", "--tokens", "40", "--format", "json"], environment: env
            )
            #expect(denied.status == 1)
            let decision = try jsonObject(denied.stdout)
            #expect(decision["status"] as? String == "denied" && decision["denied_scope"] as? String == "team:research")
            #expect(denied.stderr.contains("team:research"))
            let aliceUsage = try jsonObject(
                try await CLI.run(["usage", "alice", "--format", "json"], environment: env).stdout)
            #expect(aliceUsage["reserved"] as? Int == 0)  // the user's hold was given back

            let cleared = try await CLI.run(["member", "clear", "alice", "--format", "json"], environment: env)
            #expect(cleared.stdout == #"{"org":null,"team":null,"user":"alice"}"# + "\n")
            let admitted = try await CLI.run(
                ["quota", "reserve", "alice", "--call-id", "r2", "--tokens", "40", "--format", "json"], environment: env
            )
            #expect(admitted.status == 0, "\(admitted.stderr)")
        }
    }

    @Test("CLIs SIGKILLed during multi-scope reservations leave only leases that expire: no hold, nothing booked")
    func killedReservations() async throws {
        try await withScopeServer { env, port in
            #expect(
                try await CLI.run(["member", "set", "k", "--team", "t", "--org", "o"], environment: env).status == 0)
            func held(_ tag: String) async throws -> Int {
                let reply = try await Program.run(
                    "redis-cli", ["-p", String(port), "--raw", "GET", "cli:{\(tag)}:reserved"])
                return Int(reply.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            }
            // Many reservations at once, killed as soon as the first hold appears: processes die before,
            // between and after their steps (user, team, org).
            var running: [RunningCLI] = []
            for index in 0..<24 {
                running.append(
                    try CLI.start(
                        ["quota", "reserve", "k", "--call-id", "kill\(index)", "--tokens", "10", "--ttl", "2"],
                        environment: env))
            }
            #expect(await waitUntil(interval: .milliseconds(1)) { (try? await held("k")) ?? 0 > 0 })
            for process in running { kill(process.process.processIdentifier, SIGKILL) }
            for process in running { _ = await process.finish() }
            // After the TTL every scope's reservations are gone (any script reading them drops expired
            // leases), and nothing was booked anywhere.
            for scope in ["k", "team:t", "org:o"] {
                let gone = await waitUntil(interval: .milliseconds(200)) {
                    let result = try? await CLI.run(["usage", scope, "--format", "json"], environment: env)
                    guard let result, result.status == 0, let usage = try? jsonObject(result.stdout) else {
                        return false
                    }
                    return usage["reserved"] as? Int == 0 && usage["total_tokens"] as? Int == 0
                        && usage["calls"] as? Int == 0
                }
                #expect(gone, "\(scope) still holds a reservation or has usage")
            }
            // The next reservation reclaims the expired leases in every scope it passes (user, team, org);
            // once it is released, no lease is left in any scope's keys.
            let fresh = try await CLI.run(
                ["quota", "reserve", "k", "--call-id", "after", "--tokens", "10"], environment: env)
            #expect(fresh.status == 0, "\(fresh.stderr)")
            #expect(try await CLI.run(["quota", "release", "k", "--call-id", "after"], environment: env).status == 0)
            for tag in ["k", "team:t", "org:o"] {
                let leases = try await Program.run(
                    "redis-cli", ["-p", String(port), "--raw", "HLEN", "cli:{\(tag)}:leases"])
                #expect(leases.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(tag)")
            }
        }
    }
}
