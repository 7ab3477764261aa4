import RedisClient
import Testing

// Reply shapes captured from a real Redis 7.0.15 cluster (3 masters + 3 replicas on 127.0.0.1:7301-7306,
// `redis-cli --cluster create … --cluster-replicas 1`), dumped with `redis-cli --no-raw` (RESP2, as
// hiredis 0.14 reads them): `CLUSTER SHARDS` and `CLUSTER SLOTS` once all replicas were online, and
// again after `shutdown nosave` of the replica on 7306 (its health turned `fail`, and CLUSTER SLOTS
// stopped listing it). Ids and offsets are the captured ones.

private let id7301 = "5cfd678a9a51c82ed230e6e6b9a3c580a5043b99"
private let id7302 = "40ce05d212d3360a0a55e204847bcca6504b9e03"
private let id7303 = "442d4b20b69f261eee2bb335f947c2a9fd8a6a02"
private let id7304 = "79546fcbf01347519df78771347a5dbce151cc8b"
private let id7305 = "711e57854e1f3733677fd85480f748f80a8dfd65"
private let id7306 = "f0ed00b49b36f5d4e282311bd9813d1ee91474e9"

private func bulk(_ text: String) -> RedisReply { .bulk(Array(text.utf8)) }

/// One node of a CLUSTER SHARDS reply: a flat array of field/value pairs, in Redis's field order.
private func shardNode(
    _ id: String, port: Int64, role: String, health: String, offset: Int64 = 56, endpoint: String = "127.0.0.1"
) -> RedisReply {
    .array([
        bulk("id"), bulk(id), bulk("port"), .integer(port), bulk("ip"), bulk("127.0.0.1"),
        bulk("endpoint"), bulk(endpoint), bulk("role"), bulk(role), bulk("replication-offset"), .integer(offset),
        bulk("health"), bulk(health),
    ])
}

/// One shard of a CLUSTER SHARDS reply: `slots` (start/end pairs), then `nodes`.
private func shard(_ slots: [Int64], _ nodes: [RedisReply]) -> RedisReply {
    .array([bulk("slots"), .array(slots.map { .integer($0) }), bulk("nodes"), .array(nodes)])
}

/// CLUSTER SHARDS after the replica on 7306 was shut down (the order is the server's).
private let shardsWithFailedReplica = RedisReply.array([
    shard(
        [5461, 10922],
        [
            shardNode(id7302, port: 7302, role: "master", health: "online"),
            shardNode(id7305, port: 7305, role: "replica", health: "online"),
        ]),
    shard(
        [0, 5460],
        [
            shardNode(id7301, port: 7301, role: "master", health: "online"),
            shardNode(id7304, port: 7304, role: "replica", health: "online"),
        ]),
    shard(
        [10923, 16383],
        [
            shardNode(id7303, port: 7303, role: "master", health: "online"),
            shardNode(id7306, port: 7306, role: "replica", health: "fail"),
        ]),
])

/// One node of a CLUSTER SLOTS range: endpoint, port, id, and Redis 7's (here empty) metadata.
private func slotsNode(_ id: String, port: Int64, endpoint: RedisReply = bulk("127.0.0.1")) -> RedisReply {
    .array([endpoint, .integer(port), bulk(id), .array([])])
}

/// CLUSTER SLOTS with all six nodes online.
private let slotsAllOnline = RedisReply.array([
    .array([.integer(0), .integer(5460), slotsNode(id7301, port: 7301), slotsNode(id7304, port: 7304)]),
    .array([.integer(5461), .integer(10922), slotsNode(id7302, port: 7302), slotsNode(id7305, port: 7305)]),
    .array([.integer(10923), .integer(16383), slotsNode(id7303, port: 7303), slotsNode(id7306, port: 7306)]),
])

@Suite("Cluster topology from CLUSTER SHARDS and CLUSTER SLOTS")
struct ClusterTopologyTests {
    @Test("CLUSTER SHARDS decodes masters, replicas, health and slot ranges")
    func shardsDecode() throws {
        let topology = try CLUSTER.SHARDS().decode(shardsWithFailedReplica)
        #expect(topology.masters.map(\.port) == [7302, 7301, 7303])
        #expect(topology.masters.allSatisfy { $0.role == .master && $0.health == .online && $0.host == "127.0.0.1" })
        #expect(topology.shards.map(\.slots) == [[5461...10922], [0...5460], [10923...16383]])
        #expect(topology.shards.map { $0.replicas.map(\.id) } == [[id7305], [id7304], [id7306]])
        let failed = try #require(topology.shards[2].replicas.first)
        #expect(failed.health == .failed && failed.role == .replica && failed.port == 7306)
        #expect(failed.replicationOffset == 56)
        #expect(topology.nodes.count == 6)
        #expect(topology.firstUncoveredSlot == nil)
        try topology.requireFullCoverage()
    }

    @Test("CLUSTER SLOTS decodes the same map (failed replicas are not listed there)")
    func slotsDecode() throws {
        let topology = try CLUSTER.SLOTS().decode(slotsAllOnline)
        #expect(topology.masters.map(\.id) == [id7301, id7302, id7303])
        #expect(topology.shards.map { $0.replicas.map(\.port) } == [[7304], [7305], [7306]])
        #expect(topology.nodes.allSatisfy { $0.health == .online })
        try topology.requireFullCoverage()
        let fromShards = try CLUSTER.SHARDS().decode(shardsWithFailedReplica)
        for slot in [0, 5460, 5461, 10922, 10923, 16383] {
            #expect(topology.masterFor(slot: slot)?.id == fromShards.masterFor(slot: slot)?.id)
        }
    }

    @Test("CLUSTER SLOTS merges a master listed for several ranges and honours an unknown endpoint")
    func slotsMergeAndUnknownEndpoint() throws {
        let reply = RedisReply.array([
            .array([.integer(0), .integer(99), slotsNode(id7301, port: 7301, endpoint: bulk("?"))]),
            .array([.integer(100), .integer(16283), slotsNode(id7302, port: 7302)]),
            .array([.integer(16284), .integer(16383), slotsNode(id7301, port: 7301, endpoint: bulk("?"))]),
        ])
        let topology = try CLUSTER.SLOTS(queriedHost: "10.0.0.9").decode(reply)
        #expect(topology.shards.count == 2)
        #expect(topology.shards[0].slots == [0...99, 16284...16383])
        #expect(topology.shards[0].master.host == "10.0.0.9")
        #expect(topology.shards[0].slotCount == 200)
        #expect(topology.masterFor(slot: 16383)?.id == id7301)
        #expect(throws: RedisError.self) { try CLUSTER.SLOTS().decode(reply) }
    }

    @Test("masterFor(slot:) agrees with HashSlot for known keys")
    func masterForKnownKeys() throws {
        let topology = try CLUSTER.SHARDS().decode(shardsWithFailedReplica)
        // CRC16("123456789") == 0x31C3 == 12739 (the Redis Cluster spec's test vector): 7303's range.
        #expect(HashSlot.slot(for: "{123456789}:usage") == 12739)
        #expect(topology.masterFor(key: "{123456789}:usage")?.port == 7303)
        // `redis-cli -p 7301 cluster keyslot "{user}:x"` answered 5474, and `GET` there said
        // `MOVED 5474 127.0.0.1:7302`.
        #expect(HashSlot.slot(for: "{user}:x") == 5474)
        #expect(topology.masterFor(key: "{user}:x")?.port == 7302)
        // `SET foo bar` at 7301 answered `MOVED 12182 127.0.0.1:7303`.
        #expect(topology.masterFor(slot: HashSlot.slot(for: "foo"))?.port == 7303)
        #expect(topology.masterFor(slot: 0)?.port == 7301)
        #expect(topology.masterFor(slot: 16383)?.port == 7303)
        #expect(topology.masterFor(slot: -1) == nil && topology.masterFor(slot: 16384) == nil)
        #expect(topology.shardIndex(forSlot: 5461) == 0)
    }

    @Test("A shard without replicas and a master without slots decode")
    func replicaLessAndSlotless() throws {
        let reply = RedisReply.array([
            shard([0, 16383], [shardNode(id7301, port: 7301, role: "master", health: "online")]),
            shard([], [shardNode(id7302, port: 7302, role: "master", health: "online", offset: 0)]),
        ])
        let topology = try CLUSTER.SHARDS().decode(reply)
        #expect(topology.shards.map(\.replicas.count) == [0, 0])
        #expect(topology.shards[1].slots.isEmpty)
        #expect(topology.masterFor(slot: 9000)?.port == 7301)
        try topology.requireFullCoverage()
    }

    @Test("A partial map is decoded, and requireFullCoverage names the first uncovered slot")
    func partialMap() throws {
        let reply = RedisReply.array([
            shard([0, 5460], [shardNode(id7301, port: 7301, role: "master", health: "online")]),
            shard([10923, 16383], [shardNode(id7303, port: 7303, role: "master", health: "online")]),
        ])
        let topology = try CLUSTER.SHARDS().decode(reply)
        #expect(topology.firstUncoveredSlot == 5461)
        #expect(topology.coveredSlotCount == 16384 - 5462)
        #expect(topology.masterFor(slot: 6000) == nil)
        #expect {
            try topology.requireFullCoverage()
        } throws: { error in
            let error = try #require(error as? RedisError)
            return error.message.contains("slot 5461") && error.message.contains("5462 of 16384")
                && error.serverCode == "CLUSTERDOWN" && error.category == .unavailable
        }
    }

    @Test("A failed master still owns its slots until a replica takes over")
    func failedMaster() throws {
        let reply = RedisReply.array([
            shard(
                [0, 16383],
                [
                    shardNode(id7301, port: 7301, role: "master", health: "fail"),
                    shardNode(id7304, port: 7304, role: "replica", health: "online"),
                ])
        ])
        let topology = try CLUSTER.SHARDS().decode(reply)
        #expect(topology.masterFor(slot: 1)?.health == .failed)
        #expect(topology.shards[0].replicas.map(\.health) == [.online])
    }

    @Test("Contradictory or malformed replies are clear errors, never a crash")
    func malformed() {
        let overlapping = RedisReply.array([
            shard([0, 100], [shardNode(id7301, port: 7301, role: "master", health: "online")]),
            shard([100, 200], [shardNode(id7302, port: 7302, role: "master", health: "online")]),
        ])
        #expect {
            try CLUSTER.SHARDS().decode(overlapping)
        } throws: { error in
            (error as? RedisError)?.message.contains("slot 100 is claimed by both 127.0.0.1:7301 and 127.0.0.1:7302")
                == true
        }
        let outOfRange = RedisReply.array([
            shard([0, 16384], [shardNode(id7301, port: 7301, role: "master", health: "online")])
        ])
        #expect {
            try CLUSTER.SHARDS().decode(outOfRange)
        } throws: { error in
            (error as? RedisError)?.message.contains("outside 0-16383") == true
        }
        let masterless = RedisReply.array([
            shard([0, 16383], [shardNode(id7304, port: 7304, role: "replica", health: "online")])
        ])
        #expect {
            try CLUSTER.SHARDS().decode(masterless)
        } throws: { error in
            (error as? RedisError)?.message.contains("slots 0-16383 has no master") == true
        }
        let garbage: [RedisReply] = [
            .status("OK"), .array([.integer(1)]), .array([shard([0], [])]),
            .array([.array([bulk("slots"), .array([]), bulk("nodes"), .array([.array([bulk("id")])])])]),
            .array([shard([0, 1], [.array([bulk("id"), bulk("x"), bulk("port"), bulk("7301")])])]),
        ]
        for reply in garbage {
            #expect {
                try CLUSTER.SHARDS().decode(reply)
            } throws: { error in
                let error = try #require(error as? RedisError)
                return error.code == .protocolError && error.command == "CLUSTER SHARDS"
            }
            #expect(throws: RedisError.self) { try CLUSTER.SLOTS().decode(reply) }
        }
    }

    @Test("Cluster commands carry no keys, are read-only and have their wire form")
    func commandShapes() {
        #expect(CLUSTER.SHARDS().keys.isEmpty && CLUSTER.SHARDS().isReadOnly)
        #expect(CLUSTER.SLOTS().keys.isEmpty && CLUSTER.SLOTS().isReadOnly)
        #expect(CLUSTER.SHARDS().command == RedisCommand("CLUSTER", "SHARDS"))
        #expect(CLUSTER.SLOTS().command == RedisCommand("CLUSTER", "SLOTS"))
        #expect(INFO.CLUSTER().command == RedisCommand("INFO", "cluster"))
    }

    @Test("INFO cluster says whether cluster mode is on")
    func infoCluster() throws {
        // `redis-cli -p 7301 info cluster` on the captured cluster, and on a standalone server.
        #expect(try INFO.CLUSTER().decode(bulk("# Cluster\r\ncluster_enabled:1\r\n")))
        #expect(try !INFO.CLUSTER().decode(bulk("# Cluster\r\ncluster_enabled:0\r\n")))
        #expect(throws: RedisError.self) { try INFO.CLUSTER().decode(bulk("# Cluster\r\n")) }
        #expect(throws: RedisError.self) { try INFO.CLUSTER().decode(.integer(1)) }
    }
}
