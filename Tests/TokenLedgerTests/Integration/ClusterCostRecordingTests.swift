import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

@Suite("Cost: recorded on a Redis Cluster")
struct ClusterCostRecordingTests {
    @Test("a record through the cluster stores its cost in the user's cycle hash, on the master of the user's slot")
    func recordStoresCost() async throws {
        let cluster = try await RedisTestCluster.shared()
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        do {
            let repository = try TokenRepository(
                pool: pool,
                configuration: try LedgerConfiguration(
                    namespace: uniqueNamespace("cluster-cost"), settingsCacheTTL: .zero))
            // The override lives in the {global} slot, the usage in the user's: two masters at most.
            let store = try PriceStore(pool: pool, namespace: repository.keys.namespace)
            try await store.set(
                model: "my-model",
                price: try ModelPrice(
                    input: try PriceRate(usdPerMillionTokens: "3", field: "input"),
                    output: try PriceRate(usdPerMillionTokens: "15", field: "output"),
                    cachedInput: try PriceRate(usdPerMillionTokens: "0.3", field: "cached_input")))
            let result = try await repository.record(
                user: "alice", callID: "c1",
                usage: UsageRecord(inputTokens: 1_000_000, outputTokens: 100_000, cachedInputTokens: 200_000),
                model: "my-model", at: testInstant)
            #expect(result.cost == .priced(Cost(nanoUSD: 3_960_000_000)))
            _ = try await repository.record(
                user: "alice", callID: "c2", usage: UsageRecord(inputTokens: 5, outputTokens: 5), model: "no-price",
                at: testInstant)
            let usage = try await repository.usage(user: "alice", at: testInstant)
            #expect(usage.money.cost == Cost(nanoUSD: 3_960_000_000) && usage.money.unpricedCalls == 1)

            let cycleKey = try repository.keys.user("alice").cycle(result.cycle)
            let owner = try await cluster.masterOwning(key: cycleKey).port
            let direct = RedisConnectionPool(configuration: try cluster.configuration(port: owner))
            let stored = try await direct.send(HMGET(cycleKey, fields: ["cost_nano", "unpriced_calls"]))
            await direct.close()
            #expect(stored == ["cost_nano": "3960000000", "unpriced_calls": "1"])
            await pool.close()
        } catch {
            await pool.close()
            throw error
        }
    }
}
