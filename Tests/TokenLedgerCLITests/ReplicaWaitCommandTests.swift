import Foundation
import RedisTestSupport
import Testing

@Suite("tokenledger record with TOKENLEDGER_WAIT_REPLICAS")
struct ReplicaWaitCommandTests {
    @Test("no replica: exit 69 saying the write applied and is safe to retry; with a spool: exit 0, spooled too")
    func noReplica() async throws {
        try await withRedisServer { server async throws in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "cli-wait-\(UUID().uuidString)"
            ).path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let waiting = [
                "REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "cliwait",
                "TOKENLEDGER_WAIT_REPLICAS": "1", "TOKENLEDGER_WAIT_TIMEOUT_MS": "200",
            ]
            let refused = try await CLI.run(
                ["record", "w", "--input", "10", "--output", "5", "--call-id", "a"], environment: waiting)
            #expect(refused.status == 69, "\(refused.stderr)")
            #expect(
                refused.stderr.contains(
                    "applied in Redis but was acknowledged by 0 of the 1 replicas asked for within 200 ms"),
                "\(refused.stderr)")
            #expect(refused.stderr.contains("Retrying with the same call id is safe"), "\(refused.stderr)")
            let usage = try await CLI.run(["usage", "w", "--format", "json"], environment: waiting)
            #expect(usage.stdout.contains(#""total_tokens":15"#), "applied: \(usage.stdout)")

            var spooling = waiting
            spooling["TOKENLEDGER_SPOOL_DIR"] = directory
            let spooled = try await CLI.run(
                ["record", "w", "--input", "1", "--output", "1", "--call-id", "b"], environment: spooling)
            #expect(spooled.status == 0, "\(spooled.stderr)")
            #expect(
                spooled.stdout.contains(#""applied":true"#) && spooled.stdout.contains(#""unreplicated":true"#),
                "\(spooled.stdout)")
            let status = try await CLI.run(["spool", "status", "--format", "json"], environment: spooling)
            #expect(status.stdout.contains(#""events":1"#), "\(status.stdout)")
            // Without the wait, the flush replays it as a duplicate and empties the spool.
            var plain = spooling
            plain["TOKENLEDGER_WAIT_REPLICAS"] = "0"
            let flushed = try await CLI.run(["spool", "flush"], environment: plain)
            #expect(flushed.stdout.contains(#""duplicates":1"#) && flushed.stdout.contains(#""remaining":0"#))
        }
    }

    @Test(
        "a bad TOKENLEDGER_WAIT_* value exits 64 naming the variable",
        arguments: [("TOKENLEDGER_WAIT_REPLICAS", "some"), ("TOKENLEDGER_WAIT_TIMEOUT_MS", "-5")])
    func badValue(key: String, value: String) async throws {
        let result = try await CLI.run(
            ["record", "w", "--input", "1", "--output", "1"],
            environment: ["REDIS_URL": "redis://127.0.0.1:\(try closedPort())", key: value])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains(key) && result.stderr.contains("'\(value)'"), "\(result.stderr)")
    }
}
