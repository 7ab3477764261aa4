import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

@Suite("Prices: overrides on a Redis Cluster")
struct ClusterPriceStoreTests {
    @Test("set, import, read and delete overrides through the cluster: one hash, on the master of the {global} slot")
    func overridesOnACluster() async throws {
        let cluster = try await RedisTestCluster.shared()
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        do {
            let store = try PriceStore(pool: pool, namespace: uniqueNamespace("cluster-prices"))
            let price = try ModelPrice(
                input: try PriceRate(usdPerMillionTokens: "3", field: "input"),
                output: try PriceRate(usdPerMillionTokens: "15", field: "output"),
                cachedInput: try PriceRate(usdPerMillionTokens: "0.3", field: "cached_input"))
            try await store.set(model: "my-model", price: price)
            let imported = try (0..<20).map { index in
                try PriceOverride(model: "imported-\(index)", price: price, updatedAt: "2026-01-01T00:00:00Z")
            }
            #expect(try await store.importOverrides(imported) == 20)
            let record = UsageRecord(inputTokens: 1_000_000, outputTokens: 100_000, cachedInputTokens: 200_000)
            #expect(try await store.table().cost(of: record, model: "my-model")?.cost.nanoUSD == 3_960_000_000)
            #expect(try await store.overrides().count == 21)
            #expect(try await store.delete(model: "imported-7"))
            #expect(try await store.overrides().count == 20)

            // Every override is a field of one hash, held by the master that owns the {global} slot.
            let owner = try await cluster.masterOwning(key: store.keys.prices).port
            let direct = RedisConnectionPool(configuration: try cluster.configuration(port: owner))
            #expect(try await direct.send(HLEN(store.keys.prices)) == 20)
            await direct.close()
            await pool.close()
        } catch {
            await pool.close()
            throw error
        }
    }
}
