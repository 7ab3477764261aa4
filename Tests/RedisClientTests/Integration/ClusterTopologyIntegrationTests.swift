import Foundation
import RedisClient
import RedisTestSupport
import Testing

@Suite("Cluster topology against a real Redis Cluster")
struct ClusterTopologyIntegrationTests {
    @Test("CLUSTER SHARDS and CLUSTER SLOTS decode into the same full map, and it routes every key")
    func realCluster() async throws {
        // The process's shared cluster: this test only reads the map and writes keys of its own.
        let cluster = try await RedisTestCluster.shared()
        let seed = try RedisConfiguration(url: "redis://127.0.0.1:\(cluster.ports[0])")
        let connection = try await RedisConnection.connect(configuration: seed)
        #expect(try await connection.send(INFO.CLUSTER()))
        // Replicas attach asynchronously after `--cluster create` (until gossip reaches this node, a
        // replica-to-be shows as a master without slots); wait until SHARDS shows 3 masters with one
        // online replica each.
        let attached = try await waitUntil {
            let topology = try await connection.send(CLUSTER.SHARDS())
            return topology.masters.count == 3 && topology.shards.allSatisfy { $0.replicas.count == 1 }
                && topology.nodes.allSatisfy { $0.health == .online }
        }
        #expect(attached)
        let shards = try await connection.send(CLUSTER.SHARDS())
        let slots = try await connection.send(CLUSTER.SLOTS())
        try shards.requireFullCoverage()
        try slots.requireFullCoverage()
        #expect(shards.masters.count == 3 && shards.shards.allSatisfy { $0.replicas.count == 1 })
        #expect(Set(shards.masters.map(\.id)) == Set(slots.masters.map(\.id)))
        #expect(Set(shards.nodes.map(\.port)) == Set(cluster.ports))
        for slot in stride(from: 0, to: HashSlot.count, by: 97) {
            #expect(shards.masterFor(slot: slot)?.id == slots.masterFor(slot: slot)?.id)
        }
        await connection.close()

        // Each key's master (by the map) takes it; any other master answers MOVED to that master.
        for index in 0..<30 {
            let key = "{topology-\(UUID().uuidString)-\(index)}:x"
            let owner = try #require(shards.masterFor(key: RedisKey(key)))
            let ownerConnection = try await RedisConnection.connect(
                configuration: try RedisConfiguration(url: "redis://\(owner.host):\(owner.port)"))
            _ = try await ownerConnection.send(RedisCommand("SET", key, "1"))
            await ownerConnection.close()
            let other = try #require(shards.masters.first { $0.id != owner.id })
            let otherConnection = try await RedisConnection.connect(
                configuration: try RedisConfiguration(url: "redis://\(other.host):\(other.port)"))
            do {
                _ = try await otherConnection.send(RedisCommand("GET", key))
                Issue.record("GET \(key) at a master that does not own it did not answer MOVED")
            } catch let error as RedisError {
                let redirection = try #require(error.redirection, "\(error)")
                #expect(redirection.kind == .moved && redirection.slot == HashSlot.slot(for: key))
                #expect(redirection.endpoint.resolved(queriedHost: other.host) == owner.endpoint)
            }
            await otherConnection.close()
        }
    }
}
