import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

private func repository(_ server: RedisTestServer) throws -> TokenRepository {
    let pool = RedisConnectionPool(configuration: server.configuration, options: .init(maximumConnections: 4))
    return try TokenRepository(
        pool: pool, configuration: try LedgerConfiguration(namespace: uniqueNamespace("mig"), settingsCacheTTL: .zero))
}

private func hset(_ repo: TokenRepository, _ key: String, _ fields: [String: Int]) async throws {
    var arguments: [any RedisArgumentConvertible] = [key]
    for (field, value) in fields.sorted(by: { $0.key < $1.key }) {
        arguments.append(field)
        arguments.append(value)
    }
    _ = try await repo.pool.send(RedisCommand("HSET", arguments))
}

@Suite("migrations: registry, legacy import rules")
struct MigrationTests {
    @Test("migrations/ documents exactly the registered migrations, numbered NNNN-<name>.md")
    func folderMatchesRegistry() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0 != "README.md" }
            .sorted()
        let expected = MigrationRunner.migrations.map { String(format: "%04d-%@.md", $0.version, $0.name) }
        #expect(files == expected)
        #expect(MigrationRunner.migrations.map(\.version) == Array(1...MigrationRunner.migrations.count))
        let readme = try String(contentsOf: folder.appendingPathComponent("README.md"), encoding: .utf8)
        for file in expected { #expect(readme.contains("(\(file))"), "README.md does not link \(file)") }
    }

    @Test("legacy keys and hashes parse as the seed wrote them; anything else is skipped with a reason")
    func parsing() throws {
        func key(_ text: String) -> [UInt8] { Array(text.utf8) }
        let parsed = try LegacyImportMigration.parseKey(key("token_usage:org:alice:2025-11-01")).get()
        #expect(parsed.user == "org:alice" && parsed.cycle == date("2025-11-01"))
        for bad in [
            "token_usage::2025-11-01", "token_usage:a:2025-02-30", "token_usage:a:20251101", "other:a:2025-11-01",
            "token_usage:tab\tuser:2025-11-01",
        ] {
            #expect(throws: LegacyImportMigration.Skip.self) { try LegacyImportMigration.parseKey(key(bad)).get() }
        }
        #expect(throws: LegacyImportMigration.Skip.self) {
            try LegacyImportMigration.parseKey(
                [UInt8]("token_usage:".utf8) + [0xFF, 0xFE] + [UInt8](":2025-11-01".utf8)
            ).get()
        }
        func hash(_ pairs: [(String, String)]) -> RedisReply {
            .array(pairs.flatMap { [RedisReply.bulk(Array($0.0.utf8)), .bulk(Array($0.1.utf8))] })
        }
        let full = try LegacyImportMigration.parseHash(
            hash([
                ("prompt_tokens", "100"), ("completion_tokens", "20"), ("total_tokens", "120"), ("usage_limit", "5000"),
            ])
        ).get()
        #expect(
            full.input == 100 && full.output == 20 && full.limit == 5000 && full.raw == ["100", "20", "120", "5000"])
        // Totals-only (the seed's basic handler): the rest is input, so the total is kept.
        let totalOnly = try LegacyImportMigration.parseHash(hash([("total_tokens", "70"), ("usage_limit", "0")])).get()
        #expect(totalOnly.input == 70 && totalOnly.output == 0 && totalOnly.limit == nil)
        #expect(throws: LegacyImportMigration.Skip.self) {
            try LegacyImportMigration.parseHash(hash([("prompt_tokens", "-3")])).get()
        }
        #expect(throws: LegacyImportMigration.Skip.self) {
            try LegacyImportMigration.parseHash(.error(RedisError(code: .server, message: "WRONGTYPE x"))).get()
        }
    }

    @Test("import: limits (latest legacy cycle wins, a TokenLedger limit is kept), idempotence, verified deletion")
    func importRules() async throws {
        try await withRedisServer { server async throws in
            let repo = try repository(server)
            try await hset(
                repo, "token_usage:ann:2025-10-01",
                ["prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "usage_limit": 100])
            try await hset(
                repo, "token_usage:ann:2025-11-01",
                ["prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "usage_limit": 300])
            try await hset(repo, "token_usage:ben:2025-11-01", ["total_tokens": 40, "usage_limit": 900])
            try await hset(repo, "token_usage:cid:2025-11-01", ["usage_limit": 50])
            try await repo.setLimit(user: "ben", tokens: 7)
            let runner = try MigrationRunner(repository: repo)
            let options = try MigrationOptions(batchSize: 1)

            let outcome = try await runner.run(options)
            #expect(outcome.steps.map(\.action) == ["applied", "applied", "applied"] && outcome.schemaVersion == 2)
            let counts = outcome.steps[1].counts
            #expect(
                counts["imported"] == 3 && counts["limit_only"] == 1 && counts["tokens"] == 57 && counts["keys"] == 4)
            #expect(try await repo.limit(user: "ann").own == 300)
            #expect(try await repo.limit(user: "ben").own == 7)
            #expect(try await repo.limit(user: "cid").own == 50)
            #expect(try await repo.usage(user: "ben", cycle: date("2025-11-01")).totalTokens == 40)
            #expect(try await repo.report(cycle: date("2025-11-01")).users.map(\.user) == ["ben", "ann"])

            // Everything is applied: a second run changes nothing.
            let before = try await snapshot(repo)
            let again = try await runner.run(options)
            #expect(again.steps.map(\.action) == ["already_applied", "already_applied", "already_applied"])
            #expect(try await snapshot(repo) == before)

            // Even forced, the import is idempotent.
            _ = try await LegacyImportMigration().apply(
                MigrationContext(
                    repository: repo, options: options, version: 99,
                    lock: nil, progress: nil))
            #expect(try await repo.usage(user: "ann", cycle: date("2025-10-01")).totalTokens == 15)
            #expect(try await repo.limit(user: "ann").own == 300)

            // --delete-legacy later: a hash the seed wrote to after the import is kept.
            _ = try await repo.pool.send(RedisCommand("HINCRBY", "token_usage:ann:2025-11-01", "total_tokens", 5))
            let deletion = try await runner.run(try MigrationOptions(deleteLegacy: true))
            #expect(deletion.steps[1].action == "deleted_legacy")
            #expect(deletion.steps[1].counts["deleted"] == 3 && deletion.steps[1].counts["kept_changed"] == 1)
            let left = try await repo.pool.send(RedisCommand("KEYS", "token_usage:*")).array?.compactMap(\.string)
            #expect(left == ["token_usage:ann:2025-11-01"])
        }
    }

    @Test("a schema version newer than the build stops migrate; a held lock makes it busy")
    func refusals() async throws {
        try await withRedisServer { server async throws in
            let repo = try repository(server)
            let runner = try MigrationRunner(repository: repo)
            let lock = try #require(try await JobLock.acquire("migrate", repository: repo, ttl: .seconds(900)))
            await #expect(
                throws: LedgerError(
                    code: .busy,
                    message: "another migrate run holds \(repo.keys.lock("migrate")); try again when it has finished")
            ) {
                _ = try await runner.run(try MigrationOptions())
            }
            try await lock.release()
            _ = try await repo.pool.send(RedisCommand("SET", repo.keys.schema, "99"))
            do {
                _ = try await runner.run(try MigrationOptions())
                Issue.record("migrate ran on a newer schema")
            } catch let error as LedgerError {
                #expect(error.code == .newerSchema && error.message.contains("99"))
            }
            #expect(try await runner.status().migrations.map(\.status) == ["pending", "pending", "pending"])
        }
    }
}
