import Foundation
import RedisTestSupport
import Testing

@Suite("CLI: rate limits")
struct RateCommandTests {
    @Test("rate set/get/clear print the scope's limits; quota reserve exits 1 on a rate denial with retry_after_ms")
    func rateCommands() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "cli"]
            let set = try await CLI.run(["rate", "set", "alice", "--tpm", "100", "--format", "json"], environment: env)
            #expect(set.status == 0, "\(set.stderr)")
            #expect(
                set.stdout
                    == #"{"default_rpm":null,"default_tpm":null,"effective_rpm":null,"effective_tpm":100,"rpm":null,"scope":"user:alice","tpm":100}"#
                    + "\n")
            #expect(try await CLI.run(["rate", "set", "team:t", "--rpm", "5"], environment: env).status == 0)
            let team = try jsonObject(
                try await CLI.run(["rate", "get", "team:t", "--format", "json"], environment: env).stdout)
            #expect(team["rpm"] as? Int == 5 && team["tpm"] is NSNull && team["scope"] as? String == "team:t")
            let table = try await CLI.run(["rate", "get", "alice"], environment: env)
            #expect(table.stdout == "user:alice: 100 tokens per minute, no requests limit\n")

            // Bad input: the field is named, nothing is stored.
            let zero = try await CLI.run(["rate", "set", "alice", "--tpm", "0"], environment: env)
            #expect(zero.status == 65 && zero.stderr.contains("tpm"))
            let neither = try await CLI.run(["rate", "set", "alice"], environment: env)
            #expect(neither.status == 64 && neither.stderr.contains("--tpm"))
            let kept = try jsonObject(
                try await CLI.run(["rate", "get", "alice", "--format", "json"], environment: env).stdout)
            #expect(kept["tpm"] as? Int == 100)

            let admitted = try await CLI.run(
                ["quota", "reserve", "alice", "--call-id", "a", "--tokens", "80", "--format", "json"], environment: env)
            #expect(admitted.status == 0, "\(admitted.stderr)")
            let denied = try await CLI.run(
                ["quota", "reserve", "alice", "--call-id", "b", "--tokens", "30", "--format", "json"], environment: env)
            #expect(denied.status == 1)
            let decision = try jsonObject(denied.stdout)
            #expect(decision["status"] as? String == "denied" && decision["denied_by"] as? String == "tpm")
            #expect(decision["denied_scope"] as? String == "user:alice" && decision["tpm"] as? Int == 100)
            #expect(decision["window_tokens"] as? Int == 80)
            let retry = try #require(decision["retry_after_ms"] as? Int)
            #expect(retry > 0 && retry <= 60_000)
            #expect(denied.stderr.contains("rate limit (tpm)") && denied.stderr.contains("retry after"))
            let check = try await CLI.run(
                ["quota", "check", "alice", "--tokens", "30", "--format", "json"], environment: env)
            #expect(try check.status == 1 && jsonObject(check.stdout)["retry_after_ms"] is Int)

            let cleared = try await CLI.run(["rate", "clear", "alice", "--format", "json"], environment: env)
            #expect(try cleared.status == 0 && jsonObject(cleared.stdout)["tpm"] is NSNull)
            let after = try await CLI.run(
                ["quota", "reserve", "alice", "--call-id", "b", "--tokens", "30", "--format", "json"], environment: env)
            #expect(after.status == 0, "\(after.stderr)")

            let defaults = try await CLI.run(
                ["rate", "set", "--default", "--rpm", "9", "--format", "json"], environment: env)
            #expect(try defaults.status == 0 && jsonObject(defaults.stdout)["tpm"] is NSNull)
            let bob = try jsonObject(
                try await CLI.run(["rate", "get", "bob", "--format", "json"], environment: env).stdout)
            #expect(bob["default_rpm"] as? Int == 9 && bob["effective_rpm"] as? Int == 9 && bob["rpm"] is NSNull)
            #expect(try await CLI.run(["rate", "clear", "--default"], environment: env).status == 0)
        }
    }
}
