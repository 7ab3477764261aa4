import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

@Suite("Routed pipeline failover")
struct RoutedPipelineFailoverTests {
    @Test(
        "after a master dies, its slot's groups reach the promoted replica's lanes and the dead master's client is retired"
    )
    func followsAFailover() async throws {
        try await withRedisCluster { cluster in try await Self.run(cluster) }
    }

    static func run(_ cluster: RedisTestCluster) async throws {
        let metrics = TestMetrics()
        let pool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: cluster.seedURL), options: .init(clusterRetryBudget: .seconds(5))
        )
        let pipeline = RedisRoutedPipeline(pool: pool, metrics: metrics)
        let runner = Task { try await pipeline.run() }
        let masters = try await cluster.topology().filter { $0.role == .master && !$0.slots.isEmpty }
        let victim = masters[0]
        let keys = try masters.map { "{\(try #require($0.hashTag(prefix: "lanes-fail")))}:n" }
        func increment(_ key: String) async throws -> RedisReply {
            try await pipeline.send(
                [RedisCommand("INCR", key)], slot: HashSlot.slot(for: key), deadline: .now + .seconds(30))[0]
        }
        for key in keys { #expect(try await increment(key) == .integer(1)) }
        let nodes = "tokenledger_redis_pipeline_nodes"
        #expect(metrics.gaugeValue(nodes) == 3)

        try await cluster.kill(node: victim.port)
        let promoted = try await cluster.waitForFailover(of: victim.port)
        // The lane to the dead master fails its group (unavailable: a recorder spools it) and asks
        // the pool for a new map; the slot's next groups go to the promoted replica.
        let recovered = try await waitUntil {
            do {
                return try await increment(keys[0]).int != nil
            } catch let error as RedisError {
                #expect(error.category == .unavailable, "\(error)")
                return false
            }
        }
        #expect(recovered)
        #expect(
            metrics.counterValue("tokenledger_redis_pipeline_commands_total", [("node", "127.0.0.1:\(promoted.port)")])
                >= 1)
        // The other masters' groups were never disturbed, and the dead master has no client any more.
        for key in keys.dropFirst() { #expect(try await increment(key) == .integer(2)) }
        #expect(metrics.gaugeValue(nodes) == 3)
        runner.cancel()
        try await runner.value
        await pool.close()
    }
}
