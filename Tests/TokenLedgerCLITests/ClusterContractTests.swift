import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// The whole CLI contract against a 3-master cluster gives what it gives against one server (issue
/// 15): the same script of commands, over 200 users spread over every master, compared step by step
/// (status and JSON output, with what must differ normalized: the namespace, addresses, instants).
@Suite("tokenledger on a Redis Cluster: the same results as on one server")
struct ClusterContractTests {
    @Test("every command over 200 users on 3 masters answers as on a single server (one-node URL and multi-seed URL)")
    func contract() async throws {
        try await compare(legacy: false)
    }

    @Test("migrate imports (and --delete-legacy deletes) the token_usage:* hashes of every master")
    func legacyImport() async throws {
        // The import walks every master (one checkpointed SCAN position per master); it once walked
        // the first master only and was recorded as applied with a third of the hashes imported.
        try await compare(legacy: true)
    }

    /// Runs the contract (or its legacy-import part) on one server and on a 3+3 cluster, through one
    /// node's URL and through the multi-seed URL, and compares every step.
    private func compare(legacy: Bool) async throws {
        let single = try await withRedisServer { server async throws in
            try await ContractScript(url: "redis://127.0.0.1:\(server.port)", namespace: "cc-single", legacy: legacy)
                .run()
        }
        #expect(single.count > (legacy ? 50 : 90))
        #expect(single.allSatisfy { $0.status == 0 || $0.step.hasPrefix("expect-") }, "\(single)")
        try await withRedisCluster { cluster in
            // The users' slots are spread over every master (checked, not assumed).
            let masters = try await cluster.topology().filter { $0.role == .master }.map(\.port)
            // (The legacy users matter by their token_usage keys, so only in the legacy run.)
            let populations =
                [ContractScript.users, ContractScript.sample] + (legacy ? [ContractScript.legacyUsers] : [])
            for population in populations {
                var perMaster: [Int: Int] = [:]
                for user in population {
                    let key =
                        legacy && population == ContractScript.legacyUsers
                        ? "token_usage:\(user):2026-02-01" : "cc:{\(user)}:profile"
                    perMaster[try await cluster.masterOwning(key: key).port, default: 0] += 1
                }
                #expect(Set(perMaster.keys) == Set(masters), "\(population.count) users per master: \(perMaster)")
            }

            for (url, namespace) in [
                ("redis://127.0.0.1:\(cluster.ports[1])", "cc-anode1"), (cluster.seedURL, "cc-seeds1"),
            ] {
                let clustered = try await ContractScript(url: url, namespace: namespace, legacy: legacy).run()
                #expect(clustered.count == single.count)
                for (expected, actual) in zip(single, clustered) {
                    #expect(
                        expected == actual,
                        "\(url): step \(expected.step) differs:\n single: \(expected.status) \(expected.output)\n cluster: \(actual.status) \(actual.output)"
                    )
                }
                if !legacy {
                    // Every user is listed: the report read every node.
                    let report = try #require(clustered.first { $0.step == "report-json" })
                    let rows = try JSONSerialization.jsonObject(with: Data(report.output.utf8)) as? [String: Any]
                    #expect((rows?["users"] as? [Any])?.count == 200, "\(report.output.prefix(300))")
                }
            }
        }
    }
}

/// One run of the contract: the steps in order, each with its exit status and normalized output.
struct ContractScript {
    /// 200 users; their hash tags (the ids) fall on every master of a 3-master cluster.
    static let users = (0..<200).map { String(format: "user%03d", $0) }
    /// Six users whose per-user commands run one by one (two per master on the test cluster, as
    /// far as CRC16 of `userNNN` goes; the test counts the spread of all 200).
    static let sample = ["user000", "user001", "user002", "user013", "user042", "user199"]
    /// Legacy (`token_usage:*`) users the import finds on every master: their keys have no hash
    /// tag, so the slot is CRC16 of the whole key (`token_usage:legacyN:…` would put all 24 on two
    /// masters; `legacy-N-user` spreads them 6/8/10 over the three slot ranges).
    static let legacyUsers = (0..<24).map { "legacy-\($0)-user" }

    let url: String
    /// The same length in every run, so that byte counts (the spool's) compare.
    let namespace: String
    /// Whether to run the legacy import's part instead of the rest.
    let legacy: Bool

    struct Step: Equatable, CustomStringConvertible {
        var step: String
        var status: Int32
        var output: String
        var description: String { "\(step): \(status) \(output.prefix(200))" }
    }

    func run() async throws -> [Step] {
        var steps: [Step] = []
        let env = ["REDIS_URL": url, "TOKENLEDGER_NAMESPACE": namespace]
        func cli(_ step: String, _ arguments: [String], environment: [String: String]? = nil) async throws {
            let result = try await CLI.run(arguments, environment: environment ?? env)
            steps.append(Step(step: step, status: result.status, output: normalize(result.stdout)))
        }
        let configuration = try RedisConfiguration(url: url)
        // Many concurrent records share 8 connections: wait as long as a loaded machine needs.
        let pool = RedisConnectionPool(
            configuration: configuration, options: .init(maximumConnections: 8, waitTimeout: .seconds(120)))

        if legacy {
            steps += try await runLegacy(pool: pool, cli: cli)
            await pool.close()
            return steps
        }
        try await cli("migrate", ["migrate", "--format", "json"])
        try await cli("migrate-status", ["migrate", "status", "--format", "json"])

        // 200 users' records in bulk through the library (the CLI records one event per process).
        let repository = try TokenRepository(
            pool: pool, configuration: try LedgerConfiguration(namespace: namespace, settingsCacheTTL: .zero))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, user) in Self.users.enumerated() {
                group.addTask {
                    for call in 0..<3 {
                        _ = try await repository.record(
                            user: user, callID: "bulk-\(call)",
                            usage: UsageRecord(inputTokens: 100 + index, outputTokens: 7 * call + index % 11),
                            model: call == 2 ? "small" : "large", provider: "openai",
                            at: try ISO8601Instant.parse("2026-03-1\(call)T12:00:00Z"))
                    }
                }
                if index % 16 == 15 { try await group.next() }
            }
            try await group.waitForAll()
        }

        try await cli("limit-default", ["limit", "set", "--default", "5000"])
        try await cli("limit-default-get", ["limit", "get", "user150", "--format", "json"])
        for user in Self.sample {
            try await cli(
                "record \(user)",
                [
                    "record", user, "--input", "40", "--output", "2", "--model", "large", "--call-id", "cli-1",
                    "--cycle", "2026-03-01",
                ])
            try await cli(
                "record-again \(user)",
                [
                    "record", user, "--input", "40", "--output", "2", "--call-id", "cli-1", "--cycle", "2026-03-01",
                ])
            try await cli("limit \(user)", ["limit", "set", user, "\(1000 + user.count)"])
            try await cli("limit-get \(user)", ["limit", "get", user, "--format", "json"])
            try await cli("usage \(user)", ["usage", user, "--cycle", "2026-03-01", "--format", "json"])
            try await cli("usage-at \(user)", ["usage", user, "--at", "2026-03-20T00:00:00Z", "--format", "csv"])
            try await cli("quota-check \(user)", ["quota", "check", user, "--tokens", "100", "--format", "json"])
            try await cli(
                "quota-reserve \(user)",
                [
                    "quota", "reserve", user, "--tokens", "300", "--call-id", "q-1", "--format", "json",
                ])
            try await cli("expect-quota-denied \(user)", ["quota", "check", user, "--tokens", "999999"])
            try await cli(
                "quota-settle \(user)",
                [
                    "quota", "settle", user, "--call-id", "q-1", "--input", "20", "--output", "3", "--format", "json",
                ])
            try await cli("quota-release \(user)", ["quota", "release", user, "--call-id", "q-1", "--format", "json"])
        }
        let policyUser = Self.sample[1]
        try await cli(
            "cycle-set",
            [
                "cycle", "set", policyUser, "--period", "monthly", "--anchor-day", "15", "--timezone", "UTC",
            ])
        try await cli("cycle-show", ["cycle", "show", policyUser, "--format", "json"])
        try await cli("cycle-show-default", ["cycle", "show", "--default", "--format", "json"])
        try await cli("limit-clear", ["limit", "clear", Self.sample[2]])

        // Over the whole population: every node's users.
        try await cli("report-json", ["report", "--cycle", "2026-03-01", "--top", "1000", "--format", "json"])
        try await cli("report-csv", ["report", "--cycle", "2026-03-01", "--top", "1000", "--format", "csv"])
        try await cli("report-table", ["report", "--cycle", "2026-03-01", "--top", "1000"])
        try await cli(
            "report-top", ["report", "--cycle", "2026-03-01", "--top", "5", "--sort", "input", "--format", "json"])
        try await cli("rollover-dry", ["rollover", "--now", "2026-04-02T00:00:00Z", "--dry-run", "--format", "json"])
        try await cli("rollover", ["rollover", "--now", "2026-04-02T00:00:00Z", "--format", "json"])
        try await cli("rollover-again", ["rollover", "--now", "2026-04-02T00:00:00Z", "--format", "json"])
        try await cli("history", ["history", "--cycle", "2026-03-01", "--format", "json"])
        try await cli(
            "history-user", ["history", "--cycle", "2026-03-01", "--user", Self.sample[4], "--format", "json"])

        // Spool: events recorded while Redis is unreachable, then flushed to their masters.
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("cc-spool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let down = [
            "REDIS_URL": "redis://127.0.0.1:\(try closedPort())", "TOKENLEDGER_NAMESPACE": namespace,
            "TOKENLEDGER_SPOOL_DIR": spool,
        ]
        for user in Self.sample {
            try await cli(
                "spooled \(user)",
                [
                    "record", user, "--input", "5", "--output", "5", "--call-id", "spooled-1", "--cycle", "2026-05-01",
                ], environment: down)
        }
        try await cli("spool-status", ["spool", "status", "--format", "json"], environment: down)
        var up = env
        up["TOKENLEDGER_SPOOL_DIR"] = spool
        try await cli("spool-flush", ["spool", "flush", "--format", "json"], environment: up)
        try await cli("spool-flush-again", ["spool", "flush", "--format", "json"], environment: up)
        try await cli("spool-report", ["report", "--cycle", "2026-05-01", "--format", "json"])
        try await cli("reset", ["reset", Self.sample[3], "--cycle", "2026-05-01", "--yes", "--format", "json"])
        try await cli("reset-again", ["reset", Self.sample[3], "--cycle", "2026-05-01", "--yes", "--format", "json"])
        try await cli("reset-usage", ["usage", Self.sample[3], "--cycle", "2026-05-01", "--format", "json"])
        let doctor = try await CLI.run(["doctor", "--format", "json"], environment: env)
        steps.append(Step(step: "doctor", status: doctor.status, output: doctor.status == 0 ? "ok" : doctor.stdout))
        await pool.close()
        return steps
    }

    /// The seed's legacy hashes (outside any namespace: every master holds some on a cluster),
    /// imported by `migrate`, read, and deleted by `migrate --delete-legacy`.
    private func runLegacy(
        pool: RedisConnectionPool, cli: (String, [String], [String: String]?) async throws -> Void
    ) async throws -> [Step] {
        for (index, user) in Self.legacyUsers.enumerated() {
            // A raw command follows MOVED to the key's master.
            _ = try await pool.send(
                RedisCommand(
                    "HSET", "token_usage:\(user):2026-02-01", "prompt_tokens", 100 + index, "completion_tokens",
                    10 + index, "total_tokens", 110 + 2 * index + 5, "usage_limit", index % 3 == 0 ? 9000 : 0))
        }
        try await cli("migrate-dry-run", ["migrate", "--dry-run", "--format", "json"], nil)
        try await cli("migrate", ["migrate", "--format", "json"], nil)
        try await cli("migrate-status", ["migrate", "status", "--format", "json"], nil)
        for user in Self.legacyUsers {
            try await cli("legacy-usage \(user)", ["usage", user, "--cycle", "2026-02-01", "--format", "json"], nil)
        }
        try await cli("legacy-report", ["report", "--cycle", "2026-02-01", "--top", "100", "--format", "json"], nil)
        try await cli("migrate-delete-legacy", ["migrate", "--delete-legacy", "--format", "json"], nil)
        var left: [Step] = []
        for user in Self.legacyUsers {
            let exists = try await pool.send(EXISTS("token_usage:\(user):2026-02-01"))
            left.append(Step(step: "legacy-left \(user)", status: 0, output: "\(exists)"))
        }
        return left
    }

    /// What must differ between runs: the namespace, addresses and instants.
    func normalize(_ text: String) -> String {
        var text = text.replacingOccurrences(of: namespace, with: "NS")
        for (pattern, replacement) in [
            (#"127\.0\.0\.1:[0-9]+"#, "HOST"),
            (#"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"#, "INSTANT"),
            (#""directory":"[^"]*""#, #""directory":"SPOOL""#),
            // A spooled event holds the instant it was recorded at, whose text varies in length.
            (#""bytes":[0-9]+"#, #""bytes":N"#),
        ] {
            text = text.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return text
    }
}
