import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

/// MOVED, ASK and TRYAGAIN through the routing pool. Each test moves the slot of a hash tag of its
/// own on the shared cluster (no other test's keys live there) and leaves the cluster whole.
@Suite("Cluster redirections")
struct ClusterRedirectionTests {
    /// A unique tag, its slot, the master serving it and another master.
    static func slotToMove(_ cluster: RedisTestCluster) async throws -> (
        tag: String, slot: Int, source: Int, target: Int
    ) {
        let tag = "move-\(UUID().uuidString)"
        let slot = HashSlot.slot(for: tag)
        let source = try await cluster.masterOwning(slot: slot).port
        let target = try #require(
            try await cluster.topology().first { $0.role == .master && !$0.slots.isEmpty && $0.port != source }
        ).port
        return (tag, slot, source, target)
    }

    @Test("after a slot moved, reads, writes and scripts through the old map follow MOVED and refresh once")
    func movedRefreshesTheMap() async throws {
        let cluster = try await RedisTestCluster.shared()
        let (tag, slot, _, target) = try await Self.slotToMove(cluster)
        let metrics = TestMetrics()
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL), metrics: metrics)
        let keys = (0..<5).map { "{\(tag)}:k\($0)" }
        _ = try await pool.pipeline(keys.map { SET($0, value: "before") })
        let refreshes = "tokenledger_redis_cluster_topology_refreshes_total"
        #expect(metrics.counterValue(refreshes, [("outcome", "ok")]) == 1)

        try await cluster.migrate(slot: slot, to: target)

        // The pool's map still says the old master: each command is moved, the map read once more.
        #expect(try await pool.pipeline(keys.map { GET($0) }) == keys.map { _ in "before" })
        #expect(metrics.counterValue("tokenledger_redis_cluster_redirections_total", [("kind", "moved")]) == 5)
        #expect(metrics.counterValue(refreshes, [("outcome", "ok")]) == 2)
        try await pool.send(SET(keys[0], value: "after"))
        let script = RedisScript(source: "return redis.call('APPEND', KEYS[1], ARGV[1])")
        #expect(try await pool.evaluate(script, keys: [keys[0]], arguments: ["!"]) == .integer(6))
        #expect(try await cluster.send(RedisCommand("GET", keys[0]), to: target).string == "after!")
        // The new map routes directly: no further redirection or refresh.
        #expect(metrics.counterValue("tokenledger_redis_cluster_redirections_total", [("kind", "moved")]) == 5)
        #expect(metrics.counterValue(refreshes, [("outcome", "ok")]) == 2)
        await pool.close()
    }

    @Test("while a slot migrates, commands on moved keys succeed through ASKING and the map is kept")
    func askDuringMigration() async throws {
        let cluster = try await RedisTestCluster.shared()
        let (tag, slot, source, target) = try await Self.slotToMove(cluster)
        let metrics = TestMetrics()
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL), metrics: metrics)
        let keys = (0..<6).map { "{\(tag)}:k\($0)" }
        _ = try await pool.pipeline(keys.map { SET($0, value: $0) })
        let script = RedisScript(source: "return redis.call('GET', KEYS[1]) -- ask \(UUID())")

        try await cluster.beginMigration(slot: slot, from: source, to: target)
        let left = try await cluster.moveKeys(slot: slot, from: source, to: target, count: 3)
        #expect(left > 0)
        // Some keys are on the target now, the rest on the source: every read gets its own value.
        #expect(try await pool.pipeline(keys.map { GET($0) }) == keys)
        // A script on a moved key (the target never saw it: NOSCRIPT after ASKING, loaded, run once).
        let replies = try await pool.evaluateMany(keys.map { RedisScriptCall(script, keys: [$0], arguments: []) })
        #expect(replies.map(\.string) == keys)
        let asks = metrics.counterValue("tokenledger_redis_cluster_redirections_total", [("kind", "ask")])
        #expect(asks >= 2)
        #expect(metrics.counterValue("tokenledger_redis_cluster_redirections_total", [("kind", "moved")]) == 0)
        #expect(metrics.counterValue("tokenledger_redis_cluster_topology_refreshes_total", [("outcome", "ok")]) == 1)
        #expect(try await pool.clusterTopology()?.masterFor(slot: slot)?.port == source)

        while try await cluster.moveKeys(slot: slot, from: source, to: target) > 0 {}
        try await cluster.finishMigration(slot: slot, from: source, to: target)
        try await cluster.waitUntilStateOK()
        #expect(try await pool.pipeline(keys.map { GET($0) }) == keys)
        #expect(try await pool.clusterTopology()?.masterFor(slot: slot)?.port == target)
        await pool.close()
    }

    @Test("a multi-key script on keys split by a migration is retried after TRYAGAIN until the slot settles")
    func tryAgainIsRetried() async throws {
        let cluster = try await RedisTestCluster.shared()
        let (tag, slot, source, target) = try await Self.slotToMove(cluster)
        let metrics = TestMetrics()
        let pool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: cluster.seedURL),
            options: .init(clusterRetryBudget: .seconds(300)), metrics: metrics)
        let keys = (0..<4).map { "{\(tag)}:k\($0)" }
        _ = try await pool.pipeline(keys.map { SET($0, value: "1") })
        let script = RedisScript(
            source: "local n = 0 for i, k in ipairs(KEYS) do n = n + redis.call('INCR', k) end return n")

        try await cluster.beginMigration(slot: slot, from: source, to: target)
        _ = try await cluster.moveKeys(slot: slot, from: source, to: target, count: 2)
        let retries = "tokenledger_redis_cluster_retries_total"
        let call = Task { try await pool.evaluate(script, keys: keys, arguments: []) }
        let retried = await waitUntil { metrics.counterValue(retries, [("code", "TRYAGAIN")]) >= 1 }
        #expect(retried)
        while try await cluster.moveKeys(slot: slot, from: source, to: target) > 0 {}
        try await cluster.finishMigration(slot: slot, from: source, to: target)
        // Each key incremented exactly once: 2 + 2 + 2 + 2.
        #expect(try await call.value == .integer(8))
        for key in keys { #expect(try await cluster.send(RedisCommand("GET", key), to: target).string == "2") }
        await pool.close()
    }
}
