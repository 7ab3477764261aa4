import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

@Suite("Cluster failover")
struct ClusterFailoverTests {
    @Test("after a master dies and its replica takes over, its slots are served again through a refreshed map")
    func failover() async throws {
        let cluster = try await RedisTestCluster.start()
        do {
            try await Self.run(cluster)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    static func run(_ cluster: RedisTestCluster) async throws {
        let metrics = TestMetrics()
        let pool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: cluster.seedURL),
            options: .init(clusterRetryBudget: .seconds(5)),
            metrics: metrics)
        let masters = try await cluster.topology().filter { $0.role == .master && !$0.slots.isEmpty }
        let victim = masters[0]
        let survivor = masters[1]
        let lostTag = try #require(victim.hashTag(prefix: "fail"))
        let keptTag = try #require(survivor.hashTag(prefix: "fail"))
        let script = RedisScript(source: "return redis.call('INCR', KEYS[1])")
        // Written with WAIT: the replica has the writes before its master dies.
        let durable = try await waitUntil {
            let written = try await pool.evaluateMany(
                [RedisScriptCall(script, keys: ["{\(lostTag)}:n"], arguments: [])],
                wait: RedisReplicaWait(replicas: 1, timeout: .seconds(2)))
            return written.acknowledgedReplicas == 1
        }
        #expect(durable)
        let written = try #require(Int(try await pool.send(GET("{\(lostTag)}:n")) ?? ""))

        try await cluster.kill(node: victim.port)
        // Until the failover: a command either succeeds or fails as unavailable (never a wrong answer).
        for _ in 0..<5 {
            do {
                try await pool.send(SET("{\(keptTag)}:during", value: "1"))
            } catch let error as RedisError {
                #expect(error.category == .unavailable, "\(error)")
            }
        }
        let promoted = try await cluster.waitForFailover(of: victim.port)
        #expect(promoted.port != victim.port)

        // A read is sent once more after the lost node refreshed the map: it succeeds at once.
        #expect(try await pool.send(GET("{\(lostTag)}:n")) == "\(written)")
        #expect(try await pool.clusterTopology()?.masterFor(key: RedisKey("{\(lostTag)}:n"))?.port == promoted.port)
        #expect(
            try await pool.evaluate(script, keys: ["{\(lostTag)}:n"], arguments: []) == .integer(Int64(written + 1)))
        try await pool.send(SET("{\(keptTag)}:after", value: "1"))
        #expect(metrics.counterValue("tokenledger_redis_cluster_topology_refreshes_total", [("outcome", "ok")]) >= 2)
        await pool.close()
    }
}
