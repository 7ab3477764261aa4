import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// The namespace wipe `tokenledger demo` runs first, against a real server.
@Suite("NamespaceWipe")
struct NamespaceWipeTests {
    @Test("wipes every key of a demo namespace in several SCAN steps, and no key of any other namespace")
    func wipes() async throws {
        try await withPool { pool async throws in
            let namespace = uniqueNamespace("demo")
            let demo = try TokenRepository(pool: pool, configuration: try LedgerConfiguration(namespace: namespace))
            // Namespaces that must survive: one whose name extends the demo's, and an application's.
            let longer = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: namespace + "x"))
            let application = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: uniqueNamespace("tl")))
            for repository in [demo, longer, application] {
                for user in ["alice", "bob", "carol"] {
                    try await repository.setLimit(user: user, tokens: 1_000)
                    _ = try await repository.record(
                        user: user, callID: "c-\(user)", usage: UsageRecord(inputTokens: 3, outputTokens: 4))
                }
            }
            _ = try await pool.send(RedisCommand("SET", namespace + ":not-ours-but-in-the-namespace", "x"))
            let before = try await keys(pool, namespace)
            let others = try await keys(pool, namespace + "x") + keys(pool, application.keys.namespace)
            #expect(before.count > 6, "\(before)")

            let deleted = try await NamespaceWipe(repository: demo).run(batchSize: 3)
            #expect(deleted == before.count)
            #expect(try await keys(pool, namespace).isEmpty)
            #expect(try await keys(pool, namespace + "x") + keys(pool, application.keys.namespace) == others)
            #expect(try await longer.usage(user: "alice").totalTokens == 7)

            // The demo's namespace works again from nothing, and wiping nothing deletes nothing.
            #expect(try await demo.usage(user: "alice").totalTokens == 0)
            #expect(try await NamespaceWipe(repository: demo).run() == 0)
        }
    }

    @Test("a namespace that does not start with demo is refused before anything is deleted")
    func refusesOtherNamespaces() async throws {
        try await withPool { pool async throws in
            for name in [uniqueNamespace("tl"), uniqueNamespace("Demo"), uniqueNamespace("x-demo")] {
                let repository = try TokenRepository(
                    pool: pool, configuration: try LedgerConfiguration(namespace: name))
                _ = try await repository.record(
                    user: "u", callID: "c", usage: UsageRecord(inputTokens: 1, outputTokens: 1))
                let before = try await keys(pool, name)
                #expect(!NamespaceWipe.isDisposable(name))
                #expect {
                    _ = try NamespaceWipe(repository: repository)
                } throws: { error in
                    guard let error = error as? ValidationError else { return false }
                    return error.code == .invalidNamespace && error.message.contains("'\(name)'")
                        && error.message.contains("'demo'")
                }
                #expect(try await keys(pool, name) == before)
            }
            #expect(NamespaceWipe.isDisposable("demo") && NamespaceWipe.isDisposable("demo-7"))
        }
    }

    /// Runs `body` with a pool on REDIS_URL or a private server, and closes it.
    private func withPool(_ body: (RedisConnectionPool) async throws -> Void) async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            do {
                try await body(pool)
                await pool.close()
            } catch {
                await pool.close()
                throw error
            }
        }
    }

    /// Every key of `namespace`, sorted.
    private func keys(_ pool: RedisConnectionPool, _ namespace: String) async throws -> [String] {
        var found: [String] = []
        var cursor = "0"
        repeat {
            let parts =
                try await pool.send(RedisCommand("SCAN", cursor, "MATCH", namespace + ":*", "COUNT", 100)).array ?? []
            cursor = parts.first?.string ?? "0"
            found += (parts.last?.array ?? []).compactMap(\.string)
        } while cursor != "0"
        return found.sorted()
    }
}
