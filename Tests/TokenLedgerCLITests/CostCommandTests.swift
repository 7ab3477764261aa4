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

    @Test("report: totals carry cost, --sort cost orders by spend, the HTML page shows spend against USD limits")
    func reportCost() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "rc"]
            for (model, input, output) in [("dear", "10", "50"), ("cheap", "0.1", "0.4")] {
                let set = try await CLI.run(
                    ["price", "set", model, "--input", input, "--output", output], environment: env)
                #expect(set.status == 0, "\(set.stderr)")
            }
            // dan: 100,000 × 10 + 30,000 × 50 = $2.50; carol: 2,000,000 × 0.1 + 500,000 × 0.4 = $0.40
            // (more tokens, less money); erin: a model without a price.
            for call in [
                ["dan", "100000", "30000", "dear"], ["carol", "2000000", "500000", "cheap"],
                ["erin", "10", "1", "mystery"],
            ] {
                let result = try await CLI.run(
                    [
                        "record", call[0], "--input", call[1], "--output", call[2], "--model", call[3], "--cycle",
                        "2026-03-01",
                    ],
                    environment: env)
                #expect(result.status == 0, "\(result.stderr)")
            }
            func order(_ arguments: [String]) async throws -> ([String], [String: Any]) {
                let result = try await CLI.run(
                    ["report", "--cycle", "2026-03-01", "--format", "json"] + arguments, environment: env)
                #expect(result.status == 0, "\(result.stderr)")
                let report = try jsonObject(result.stdout)
                let users = try #require(report["users"] as? [[String: Any]])
                return (users.compactMap { $0["user"] as? String }, try #require(report["totals"] as? [String: Any]))
            }
            let (byTotal, totals) = try await order([])
            #expect(byTotal == ["carol", "dan", "erin"])
            #expect(totals["cost_usd"] as? String == "2.900000000", "\(totals)")
            #expect(totals["unpriced_calls"] as? Int == 1 && totals["reported_cost_usd"] is NSNull, "\(totals)")
            let (byCost, _) = try await order(["--sort", "cost"])
            #expect(byCost == ["dan", "carol", "erin"])
            let (top, topTotals) = try await order(["--sort", "cost", "--top", "1"])
            #expect(top == ["dan"] && topTotals["cost_usd"] as? String == "2.900000000", "totals cover every user")
            let table = try await CLI.run(["report", "--cycle", "2026-03-01"], environment: env)
            let totalRow = table.stdout.split(separator: "\n").first { $0.hasPrefix("TOTAL") }
            #expect(totalRow?.hasSuffix("2.900000000") == true, "\(table.stdout)")

            // dan: 13 % of his token limit but 250 % of his dollar: his bar is the dollar one, red.
            _ = try await CLI.run(["limit", "set", "dan", "1000000", "--usd", "1"], environment: env)
            _ = try await CLI.run(["limit", "set", "carol", "10000000"], environment: env)
            let html = try await CLI.run(["report", "--cycle", "2026-03-01", "--format", "html"], environment: env)
            #expect(html.status == 0, "\(html.stderr)")
            let page = html.stdout
            for text in [
                "$2.50 / $1.00 (250.0 %)", "2,500,000 / 10,000,000 (25.0 %)", "11 (unlimited)", ">$2.90<",
                "<td>2.500000000</td><td>1.000000000</td><td>250.0 %</td><td>0 (over by 1.500000000)</td>",
                "<td>0.400000000</td><td>none</td><td>-</td><td>-</td>", "data-user=\"dan\" data-limit=\"usd\"",
                "data-user=\"carol\" data-limit=\"tokens\"", "<td>2.500000000</td></tr>",
                "<td>0.000000000 (1 unpriced)</td></tr>",
            ] {
                #expect(page.contains(text), "the page lacks \(text)")
            }
            let positions = ["dan", "carol", "erin"].map { page.range(of: "data-user=\"\($0)\"")?.lowerBound }
            #expect(
                positions.allSatisfy { $0 != nil }
                    && positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        }
    }
}
