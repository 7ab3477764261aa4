import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@Suite("CLI: cost recorded with each event")
struct CostCommandTests {
    @Test("issue 17's acceptance: price set, record, then usage shows cost_usd 3.960000000")
    func acceptance() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "cli"]
            let set = try await CLI.run(
                ["price", "set", "my-model", "--input", "3", "--output", "15", "--cached-input", "0.3"],
                environment: env)
            #expect(set.status == 0, "\(set.stderr)")
            let record = try await CLI.run(
                [
                    "record", "alice", "--input", "1000000", "--cached", "200000", "--output", "100000", "--model",
                    "my-model", "--format", "json",
                ], environment: env)
            #expect(record.status == 0, "\(record.stderr)")
            #expect(record.stdout.contains(#""cost_usd":"3.960000000""#), "\(record.stdout)")
            let usage = try await CLI.run(["usage", "alice", "--format", "json"], environment: env)
            #expect(usage.status == 0, "\(usage.stderr)")
            #expect(usage.stdout.contains(#""cost_usd":"3.960000000""#), "\(usage.stdout)")
            #expect(
                usage.stdout.contains(#""unpriced_calls":0"#) && usage.stdout.contains(#""reported_cost_usd":null"#))
            let table = try await CLI.run(["usage", "alice"], environment: env)
            #expect(table.stdout.contains("cost_usd") && table.stdout.contains("3.960000000"), "\(table.stdout)")
        }
    }

    @Test("record --cache-write-1h prices 1-hour writes apart; an unpriced model shows cost_usd null")
    func cacheWrite1hAndUnpriced() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "cli"]
            // claude-sonnet-4-5 (3 / 0.3 / 3.75 / 6 / 15): 512 × 3 + 15,000 × 0.3 + 1,200 × 3.75 +
            // 2,800 × 6 + 900 × 15 = 40,836 USD per million tokens.
            let record = try await CLI.run(
                [
                    "record", "bob", "--input", "19512", "--cached", "15000", "--cache-write", "4000",
                    "--cache-write-1h", "2800", "--output", "900", "--model", "claude-sonnet-4-5", "--format", "json",
                ], environment: env)
            #expect(record.status == 0, "\(record.stderr)")
            #expect(record.stdout.contains(#""cost_usd":"0.040836000""#), "\(record.stdout)")
            let bad = try await CLI.run(
                ["record", "bob", "--input", "10", "--cache-write", "1", "--cache-write-1h", "2", "--output", "1"],
                environment: env)
            #expect(bad.status == 65 && bad.stderr.contains("cache_write_1h_tokens"), "\(bad.stderr)")
            let unpriced = try await CLI.run(
                ["record", "bob", "--input", "10", "--output", "1", "--model", "my-llama", "--format", "json"],
                environment: env)
            #expect(unpriced.status == 0 && unpriced.stdout.contains(#""cost_usd":null"#), "\(unpriced.stdout)")
            let usage = try await CLI.run(["usage", "bob", "--format", "json"], environment: env)
            #expect(
                usage.stdout.contains(#""cost_usd":"0.040836000""#) && usage.stdout.contains(#""unpriced_calls":1"#))
        }
    }
}
