import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// The service's authentication path: lookups through a shared pipeline (not the pool), still
/// confirmed by Redis on every call, and stored records parsed once per distinct text.
@Suite("API keys: pipelined lookups and remembered parsing, against a real redis-server")
struct APIKeyStorePipelineTests {
    /// A store whose lookups go through a pipeline metered in-process, with an admin store beside it.
    struct Stores {
        var admin: APIKeyStore
        var service: APIKeyStore
        var pipeline: RedisRoutedPipeline
        var metrics: InProcessMetrics
    }

    func withStores(_ body: (Stores) async throws -> Void) async throws {
        try await withRedis { configuration async throws in
            let metrics = InProcessMetrics()
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(waitTimeout: .seconds(120)), metrics: metrics)
            let pipeline = RedisRoutedPipeline(pool: pool, metrics: metrics)
            let namespace = uniqueNamespace("pkeys")
            let stores = Stores(
                admin: try APIKeyStore(pool: pool, namespace: namespace),
                service: try APIKeyStore(pool: pool, namespace: namespace, pipeline: pipeline),
                pipeline: pipeline, metrics: metrics)
            do {
                try await body(stores)
            } catch {
                pipeline.shutdown()
                await pipeline.waitUntilStopped()
                await pool.close()
                throw error
            }
            pipeline.shutdown()
            await pipeline.waitUntilStopped()
            await pool.close()
        }
    }

    static func poolRoundTrips(_ metrics: InProcessMetrics) -> Int {
        metrics.snapshot.timings.filter {
            $0.key.label == "tokenledger_redis_round_trip_seconds" && $0.key.dimensions.contains("path=pool")
        }
        .values.reduce(0, +)
    }

    static func pipelinedCommands(_ metrics: InProcessMetrics) -> Int64 {
        metrics.snapshot.counters.filter { $0.key.label == "tokenledger_redis_pipeline_commands_total" }.values.reduce(
            0, +)
    }

    @Test("concurrent lookups go through the pipeline, not the pool, and each is answered by Redis")
    func pipelined() async throws {
        try await withStores { stores in
            let app = try await stores.admin.create(name: "app", role: .app)
            let reader = try await stores.admin.create(name: "reader", role: .read)
            let poolBefore = Self.poolRoundTrips(stores.metrics)
            let pipelinedBefore = Self.pipelinedCommands(stores.metrics)
            let results = try await withThrowingTaskGroup(of: (Int, APIKey?).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let secret =
                            index % 3 == 0 ? APIKeySecret.generate().text : index % 3 == 1 ? app.secret : reader.secret
                        return (index, try await stores.service.authenticate(secret: secret))
                    }
                }
                return try await group.reduce(into: [Int: APIKey?]()) { $0[$1.0] = $1.1 }
            }
            for (index, key) in results {
                #expect(key == (index % 3 == 0 ? nil : index % 3 == 1 ? app.key : reader.key), "\(index)")
            }
            #expect(Self.pipelinedCommands(stores.metrics) - pipelinedBefore == 200)
            #expect(Self.poolRoundTrips(stores.metrics) == poolBefore)
        }
    }

    @Test("a revoked key stops authenticating at its next pipelined lookup")
    func revoke() async throws {
        try await withStores { stores in
            let created = try await stores.admin.create(name: "leaving", role: .app)
            for _ in 0..<3 { #expect(try await stores.service.authenticate(secret: created.secret)?.name == "leaving") }
            #expect(try await stores.admin.revoke(name: "leaving"))
            #expect(try await stores.service.authenticate(secret: created.secret) == nil)
            // The name again, a new secret: the old one stays refused, the new one is the new key.
            let again = try await stores.admin.create(name: "leaving", role: .admin)
            #expect(try await stores.service.authenticate(secret: created.secret) == nil)
            #expect(try await stores.service.authenticate(secret: again.secret)?.role == .admin)
        }
    }

    @Test("a stored text read again unchanged is not decoded again; a changed or corrupt one is")
    func rememberedParsing() async throws {
        try await withStores { stores in
            let created = try await stores.admin.create(name: "svc", role: .read)
            let keyID = try #require(APIKeySecret(parsing: created.secret)).keyID
            #expect(try await stores.service.authenticate(secret: created.secret)?.role == .read)
            #expect(stores.service.records.count == 1)
            #expect(try await stores.service.authenticate(secret: created.secret)?.role == .read)
            #expect(stores.service.records.count == 1)

            // Another program rewrites the record (a new role): the new text is decoded at once.
            let original = try #require(try await stores.admin.pool.send(HGET(stores.admin.keys.apiKeys, field: keyID)))
            let promoted = original.replacingOccurrences(of: #""role":"read""#, with: #""role":"admin""#)
            #expect(promoted != original)
            _ = try await stores.admin.pool.send(RedisCommand("HSET", stores.admin.keys.apiKeys, keyID, promoted))
            #expect(try await stores.service.authenticate(secret: created.secret)?.role == .admin)

            // A corrupt text is refused, though a good one was remembered for that key id.
            _ = try await stores.admin.pool.send(RedisCommand("HSET", stores.admin.keys.apiKeys, keyID, "{\"name\":"))
            await #expect(throws: LedgerError.self) {
                _ = try await stores.service.authenticate(secret: created.secret)
            }
            // Back to the first text: decoded again, answered as the first time.
            _ = try await stores.admin.pool.send(RedisCommand("HSET", stores.admin.keys.apiKeys, keyID, original))
            #expect(try await stores.service.authenticate(secret: created.secret)?.role == .read)
            // A text that differs only in its stored hash no longer matches the secret.
            let otherHash = original.replacingOccurrences(
                of: created.secret.sha256Hex, with: String(repeating: "0", count: 64))
            #expect(otherHash != original)
            _ = try await stores.admin.pool.send(RedisCommand("HSET", stores.admin.keys.apiKeys, keyID, otherHash))
            #expect(try await stores.service.authenticate(secret: created.secret) == nil)
        }
    }

    @Test("once the pipeline is shut down, lookups take the pool")
    func afterShutdown() async throws {
        try await withStores { stores in
            let created = try await stores.admin.create(name: "svc", role: .app)
            stores.pipeline.shutdown()
            await stores.pipeline.waitUntilStopped()
            let poolBefore = Self.poolRoundTrips(stores.metrics)
            #expect(try await stores.service.authenticate(secret: created.secret)?.name == "svc")
            #expect(Self.poolRoundTrips(stores.metrics) == poolBefore + 1)
        }
    }
}

extension String {
    /// The SHA-256 of this text as the key records store it (64 lowercase hex digits).
    fileprivate var sha256Hex: String { APIKeySecret(parsing: self)?.sha256 ?? "" }
}
