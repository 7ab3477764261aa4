import Foundation
import RedisClient
import RedisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The test support's Redis Cluster (``RedisTestCluster``) is a real one: routing, failover,
/// resharding and teardown, checked with single-node connections (there is no cluster client yet).
@Suite("A real Redis Cluster from the test support")
struct TestClusterTests {
    /// The error `body` throws, or `nil`.
    static func error(_ body: () async throws -> Void) async -> RedisError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? RedisError
        }
    }

    @Test("the cluster comes up with 3 masters and 3 replicas, one per master, and every slot served once")
    func comesUpWhole() async throws {
        let cluster = try await RedisTestCluster.shared()
        #expect(try await RedisTestCluster.shared() === cluster, "one shared cluster per test process")
        let nodes = try await cluster.topology()
        let masters = nodes.filter { $0.role == .master }
        let replicas = nodes.filter { $0.role == .replica }
        #expect(masters.count == 3 && replicas.count == 3, "\(nodes)")
        #expect(Set(nodes.map(\.port)) == Set(cluster.ports))
        #expect(cluster.seedURL == "redis://" + cluster.ports.map { "127.0.0.1:\($0)" }.joined(separator: ","))
        for master in masters {
            #expect(!master.slots.isEmpty && !master.failed, "\(master)")
            #expect(replicas.filter { $0.masterID == master.id }.count == 1, "\(master) has one replica")
        }
        var served = [Int](repeating: 0, count: HashSlot.count)
        for range in masters.flatMap(\.slots) { for slot in range { served[slot] += 1 } }
        #expect(served.allSatisfy { $0 == 1 }, "every slot has exactly one master")
        for port in cluster.ports {
            let info = try await cluster.send(RedisCommand("CLUSTER", "INFO"), to: port).string ?? ""
            #expect(info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:6"), "\(port)")
            #expect(info.contains("cluster_size:3"), "\(port)")
        }
    }

    @Test("a key sent to a node that does not serve its slot gets MOVED naming its master; there it works")
    func movedNamesTheMaster() async throws {
        let cluster = try await RedisTestCluster.shared()
        let key = "{\(uniqueNamespace("moved"))}:k"
        let slot = HashSlot.slot(for: key)
        let owner = try await cluster.masterOwning(slot: slot)
        let nodes = try await cluster.topology()
        for node in nodes where node.port != owner.port {
            let refusal = await Self.error { _ = try await cluster.send(RedisCommand("SET", key, "v"), to: node.port) }
            #expect(refusal?.serverCode == "MOVED", "\(node)")
            #expect(
                refusal?.message.contains("\(slot) 127.0.0.1:\(owner.port)") == true, "\(String(describing: refusal))")
        }
        _ = try await cluster.send(RedisCommand("SET", key, "v"), to: owner.port)
        #expect(try await cluster.send(RedisCommand("GET", key), to: owner.port).string == "v")
        // Every master is reachable through a hash tag of its own.
        for master in nodes where master.role == .master {
            let tag = try #require(master.hashTag(prefix: uniqueNamespace("tag")))
            #expect(try await cluster.masterOwning(key: "{\(tag)}:k").port == master.port)
            _ = try await cluster.send(RedisCommand("SET", "{\(tag)}:k", 1), to: master.port)
        }
        // redis-cli reaches a node too.
        #expect(try await cluster.redisCLI(["GET", key], node: owner.port) == "v\n")
    }

    @Test("a migrated slot takes its keys along: ASK while it moves, MOVED to the new master afterwards")
    func migratesASlot() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tag = uniqueNamespace("migrate")
        let keys = (0..<250).map { "{\(tag)}:\($0)" }
        let slot = HashSlot.slot(for: keys[0])
        let source = try await cluster.masterOwning(slot: slot)
        let target = try #require(cluster.nodes.first { $0.role == .master && $0.port != source.port })
        for (index, key) in keys.enumerated() {
            _ = try await cluster.send(RedisCommand("SET", key, index), to: source.port)
        }

        try await cluster.beginMigration(slot: slot, from: source.port, to: target.port)
        #expect(try await cluster.moveKeys(slot: slot, from: source.port, to: target.port, count: 100) == 100)
        let arrived = try await cluster.send(RedisCommand("CLUSTER", "GETKEYSINSLOT", slot, 1), to: target.port)
        let moved = try #require(arrived.array?.first?.string)
        let ask = await Self.error { _ = try await cluster.send(RedisCommand("GET", moved), to: source.port) }
        #expect(ask?.serverCode == "ASK" && ask?.message.contains("\(slot) 127.0.0.1:\(target.port)") == true)
        let connection = try await RedisConnection.connect(configuration: cluster.configuration(port: target.port))
        let replies = try await connection.pipeline([RedisCommand("ASKING"), RedisCommand("GET", moved)])
        await connection.close()
        #expect(replies[1].string == String(keys.firstIndex(of: moved) ?? -1))
        while try await cluster.moveKeys(slot: slot, from: source.port, to: target.port) > 0 {}
        try await cluster.finishMigration(slot: slot, from: source.port, to: target.port)
        try await cluster.waitUntilStateOK()

        #expect(try await cluster.masterOwning(slot: slot).port == target.port)
        for (index, key) in keys.enumerated() {
            #expect(try await cluster.send(RedisCommand("GET", key), to: target.port).string == String(index))
        }
        let refusal = await Self.error { _ = try await cluster.send(RedisCommand("GET", keys[0]), to: source.port) }
        #expect(refusal?.serverCode == "MOVED" && refusal?.message.contains("127.0.0.1:\(target.port)") == true)
        // And back in one call.
        try await cluster.migrate(slot: slot, to: source.port)
        #expect(try await cluster.send(RedisCommand("CLUSTER", "COUNTKEYSINSLOT", slot), to: target.port).int == 0)
        #expect(try await cluster.send(RedisCommand("GET", keys[249]), to: source.port).string == "249")
    }

    @Test("a killed master's replica takes over with the acknowledged data; the node comes back as a replica")
    func failover() async throws {
        var pids: [Int32] = []
        var directories: [URL] = []
        try await withRedisCluster { cluster in
            pids = cluster.servers.compactMap(\.pid)
            directories = cluster.servers.map(\.directory)
            #expect(pids.count == 6)
            // Every node works in a test server directory of this process, so a crashed run's
            // nodes are reaped by the next run like single test servers.
            for pid in pids {
                let cwd = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")
                #expect(cwd.hasPrefix(RedisTestServer.directoryPrefix + "\(getpid())-"), "\(cwd)")
            }
            let victim = try #require(cluster.nodes.first { $0.role == .master })
            let tag = try #require(victim.hashTag(prefix: "failover"))
            // WAIT counts the replicas that have the calling connection's writes: SET and WAIT
            // share one connection, so the replica has the key before the master dies.
            let connection = try await RedisConnection.connect(configuration: cluster.configuration(port: victim.port))
            let replies = try await connection.pipeline([
                RedisCommand("SET", "{\(tag)}:k", "kept"), RedisCommand("WAIT", 1, 60_000),
            ])
            await connection.close()
            #expect(replies == [.status("OK"), .integer(1)])

            try await cluster.kill(node: victim.port)
            #expect(!cluster.livePorts.contains(victim.port))
            let promoted = try await cluster.waitForFailover(of: victim.port)
            let replica = try #require(cluster.nodes.first { $0.masterID == victim.id })
            #expect(promoted.port == replica.port && promoted.role == .master)
            let kept = try await cluster.send(RedisCommand("GET", "{\(tag)}:k"), to: promoted.port)
            #expect(kept.string == "kept")

            try await cluster.restart(node: victim.port)
            try await cluster.waitUntilStateOK()
            let back = try #require(try await cluster.topology().first { $0.port == victim.port })
            #expect(back.role == .replica && back.masterID == promoted.id, "\(back)")
        }
        Self.expectGone(pids: pids, directories: directories)
    }

    @Test("a cluster is torn down when the test body throws: no process alive, no directory left")
    func tornDownOnThrow() async throws {
        struct Failure: Error {}
        var pids: [Int32] = []
        var directories: [URL] = []
        await #expect(throws: Failure.self) {
            try await withRedisCluster { cluster in
                pids = cluster.servers.compactMap(\.pid)
                directories = cluster.servers.map(\.directory)
                throw Failure()
            }
        }
        #expect(pids.count == 6 && directories.count == 6)
        Self.expectGone(pids: pids, directories: directories)
    }

    /// None of `pids` is a process any more, and none of `directories` exists.
    static func expectGone(pids: [Int32], directories: [URL]) {
        for pid in pids {
            // Each node was reaped (waitpid) by the test support: its pid names no process, or a
            // new one that does not work in a node's directory.
            let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")
            #expect(cwd.map { !directories.map(\.path).contains($0) } ?? true, "pid \(pid) still runs in \(cwd ?? "")")
            #expect(processState(pid: pid) != "Z", "pid \(pid) is a zombie: nobody waited for it")
        }
        for directory in directories {
            #expect(!FileManager.default.fileExists(atPath: directory.path), "\(directory.path) is left")
        }
    }

    @Test("a CLUSTER NODES line reads as a node: role, master, slots; slots in migration are skipped")
    func parsesNodeLines() throws {
        let master = RedisTestCluster.Node.parse(
            line:
                "07c3 127.0.0.1:30004@40004,host myself,master - 0 0 1 connected 0-5460 5462 [5461->-e7d1] [77-<-e7d1]"
        )
        #expect(master?.id == "07c3" && master?.port == 30004 && master?.role == .master && master?.masterID == nil)
        #expect(master?.slots == [0...5460, 5462...5462] && master?.failed == false)
        let tag = try #require(master?.hashTag(prefix: "t"))
        #expect(master?.serves(slot: HashSlot.slot(for: tag)) == true && master?.serves(slot: 5461) == false)
        let replica = RedisTestCluster.Node.parse(line: "e7d1 127.0.0.1:30005@40005 slave,fail? 07c3 0 0 1 connected")
        #expect(replica?.role == .replica && replica?.masterID == "07c3" && replica?.failed == true)
        #expect(replica?.slots == [] && replica?.hashTag() == nil)
        #expect(RedisTestCluster.Node.parse(line: "") == nil)
        #expect(RedisTestCluster.Node.parse(line: "id not-an-address master - 0 0 1 connected") == nil)
    }

    @Test("a cluster of fewer than 3 masters is refused with a message that says why")
    func tooFewMasters() async {
        var options = RedisTestCluster.Options()
        options.masters = 2
        let error = await #expect(throws: RedisTestServerError.self) { try await RedisTestCluster.start(options) }
        #expect(error?.message.contains("at least 3 masters") == true)
    }
}
