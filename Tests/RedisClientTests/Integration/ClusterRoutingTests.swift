import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

/// The routing pool against the process's shared 3-master cluster: each test writes keys of its
/// own (unique hash tags) and changes no slot.
@Suite("Cluster routing")
struct ClusterRoutingTests {
    /// A unique hash tag on each master, with the master's port.
    static func tagsOnEveryMaster(_ cluster: RedisTestCluster) async throws -> [(tag: String, port: Int)] {
        let prefix = "route-\(UUID().uuidString.prefix(8))-"
        return try await cluster.topology().filter { $0.role == .master && !$0.slots.isEmpty }.map { node in
            (try #require(node.hashTag(prefix: prefix)), node.port)
        }
    }

    @Test("typed commands reach the master of their keys' slot on every master, from one seed URL")
    func typedCommandsOnEveryMaster() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tags = try await Self.tagsOnEveryMaster(cluster)
        #expect(tags.count == 3)
        let metrics = TestMetrics()
        // One seed only: the rest of the cluster comes from its map.
        let pool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(cluster.ports[1])"), metrics: metrics)
        #expect(try await pool.mode() == .cluster)
        for (tag, port) in tags {
            try await pool.send(SET("{\(tag)}:k", value: "v-\(port)"))
            #expect(try await pool.send(GET("{\(tag)}:k")) == "v-\(port)")
            // The key is on that master itself.
            #expect(try await cluster.send(RedisCommand("GET", "{\(tag)}:k"), to: port).string == "v-\(port)")
        }
        // An untyped command goes to the first master and follows MOVED.
        for (tag, port) in tags {
            #expect(try await pool.send(RedisCommand("GET", "{\(tag)}:k")).string == "v-\(port)")
        }
        let topology = try #require(try await pool.clusterTopology())
        #expect(topology.masters.count == 3)
        // Per-node commands reach exactly that node.
        for master in topology.masters {
            let info = try await pool.send(INFO("server"), to: master.endpoint)
            #expect(info["tcp_port"] == "\(master.port)")
        }
        #expect(metrics.counterValue("tokenledger_redis_cluster_topology_refreshes_total", [("outcome", "ok")]) == 1)
        #expect(metrics.gaugeValue("tokenledger_redis_cluster_nodes") == 6)
        await pool.close()
    }

    @Test("concurrent first callers share one mode probe and one map reading")
    func singleFlight() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tags = try await Self.tagsOnEveryMaster(cluster)
        let metrics = TestMetrics()
        // 40 callers, 8 connections per node: wait as long as a loaded machine needs for a free one.
        let pool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: cluster.seedURL), options: .init(waitTimeout: .seconds(120)),
            metrics: metrics)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    let key = "{\(tags[index % 3].tag)}:flight\(index)"
                    try await pool.send(SET(key, value: "\(index)"))
                    guard try await pool.send(GET(key)) == "\(index)" else {
                        throw RedisTestServerError(message: "wrong value for \(key)")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(metrics.counterValue("tokenledger_redis_cluster_topology_refreshes_total", [("outcome", "ok")]) == 1)
        #expect(metrics.counterValue("tokenledger_redis_cluster_redirections_total", [("kind", "moved")]) == 0)
        await pool.close()
    }

    @Test("a pipeline mixing nodes returns its replies in the caller's order")
    func pipelineAcrossNodes() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tags = try await Self.tagsOnEveryMaster(cluster)
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        var sets: [SET] = []
        var expected: [String?] = []
        for index in 0..<30 {
            let tag = tags[index % tags.count].tag
            sets.append(SET("{\(tag)}:p\(index)", value: "\(index)"))
            expected.append("\(index)")
        }
        _ = try await pool.pipeline(sets)
        // Interleaved nodes and a missing key, read back in one pipeline.
        var gets = (0..<30).reversed().map { GET("{\(tags[$0 % tags.count].tag)}:p\($0)") }
        gets.insert(GET("{\(tags[1].tag)}:missing"), at: 7)
        var want: [String?] = expected.reversed()
        want.insert(nil, at: 7)
        #expect(try await pool.pipeline(gets) == want)
        // Untyped commands in one pipeline also come back in order, following MOVED.
        let raw = try await pool.pipeline((0..<30).map { RedisCommand("GET", "{\(tags[$0 % tags.count].tag)}:p\($0)") })
        #expect(raw.map(\.string) == expected)
        await pool.close()
    }

    @Test("evaluateMany splits script calls by node, and a node that lost its scripts loads them again")
    func scriptsAcrossNodes() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tags = try await Self.tagsOnEveryMaster(cluster)
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        let script = RedisScript(source: "return redis.call('INCRBY', KEYS[1], ARGV[1]) -- \(UUID())")
        let calls = (0..<12).map { index in
            RedisScriptCall(script, keys: ["{\(tags[index % 3].tag)}:n\(index % 4)"], arguments: [index])
        }
        let first = try await pool.evaluateMany(calls)
        var totals: [String: Int64] = [:]
        var want: [RedisReply] = []
        for index in 0..<12 {
            let key = "{\(tags[index % 3].tag)}:n\(index % 4)"
            totals[key, default: 0] += Int64(index)
            want.append(.integer(totals[key]!))
        }
        #expect(first == want)
        // One master forgets every script: its calls meet NOSCRIPT, load, and run once.
        _ = try await cluster.send(RedisCommand("SCRIPT", "FLUSH"), to: tags[1].port)
        let second = try await pool.evaluateMany(calls)
        want = []
        for index in 0..<12 {
            let key = "{\(tags[index % 3].tag)}:n\(index % 4)"
            totals[key, default: 0] += Int64(index)
            want.append(.integer(totals[key]!))
        }
        #expect(second == want)
        let single = try await pool.evaluate(script, keys: ["{\(tags[2].tag)}:single"], arguments: [5])
        #expect(single == .integer(5))
        await pool.close()
    }

    @Test("keys of one command in different slots are refused before sending, naming the command")
    func crossSlotIsDetected() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tags = try await Self.tagsOnEveryMaster(cluster)
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        let error = await #expect(throws: RedisError.self) {
            _ = try await pool.send(DEL(["{\(tags[0].tag)}:a", "{\(tags[1].tag)}:b"]))
        }
        #expect(error?.code == .crossSlot && error?.category == .misuse && error?.command == "DEL")
        #expect(error?.message.contains("hash tag") == true)
        let script = RedisScript(source: "return 1")
        let scriptError = await #expect(throws: RedisError.self) {
            _ = try await pool.evaluateMany([
                RedisScriptCall(script, keys: ["{\(tags[0].tag)}:a"], arguments: []),
                RedisScriptCall(script, keys: ["{\(tags[0].tag)}:a", "{\(tags[2].tag)}:c"], arguments: []),
            ])
        }
        #expect(scriptError?.code == .crossSlot && scriptError?.command == "EVALSHA")
        // Nothing was sent: the first call's key was not touched either way, and the pool still works.
        #expect(try await pool.send(GET("{\(tags[0].tag)}:a")) == nil)
        await pool.close()
    }

    @Test("a scan walks every master: each key found exactly once")
    func scanEveryMaster() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tags = try await Self.tagsOnEveryMaster(cluster)
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        let prefix = "scan-\(UUID().uuidString.prefix(8))"
        var keys: Set<String> = []
        for index in 0..<90 {
            let tag = tags[index % 3].tag
            keys.insert("\(prefix){\(tag)}:\(index)")
        }
        _ = try await pool.pipeline(keys.map { SET($0, value: "1") })
        var found: [String] = []
        for try await key in pool.scan(match: "\(prefix)*", count: 7) {
            found.append(String(decoding: key, as: UTF8.self))
        }
        #expect(found.count == keys.count)
        #expect(Set(found) == keys)
        // SSCAN routes by its key.
        let set = "{\(tags[2].tag)}:set"
        _ = try await pool.send(RedisCommand("SADD", set, "a", "b", "c"))
        var members: [String] = []
        for try await member in pool.sscan(set) { members.append(String(decoding: member, as: UTF8.self)) }
        #expect(members.sorted() == ["a", "b", "c"])
        await pool.close()
    }

    @Test("evaluateMany with WAIT reports the replicas that acknowledged, the fewest over the nodes used")
    func waitForReplicas() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tags = try await Self.tagsOnEveryMaster(cluster)
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        let script = RedisScript(source: "return redis.call('INCR', KEYS[1])")
        let calls = tags.map { RedisScriptCall(script, keys: ["{\($0.tag)}:durable"], arguments: []) }
        // Replicas attach asynchronously after the cluster is created: wait until all three ack.
        // Other tests move slots of the shared cluster meanwhile: a call may answer an error in its
        // place (a TRYAGAIN past the retry budget, on a loaded machine); the next round runs it again.
        var last: (replies: [RedisReply], acknowledgedReplicas: Int) = ([], -1)
        let acknowledged = try await waitUntil {
            last = try await pool.evaluateMany(calls, wait: RedisReplicaWait(replicas: 1, timeout: .seconds(2)))
            return last.acknowledgedReplicas == 1 && last.replies.allSatisfy { $0.int != nil }
        }
        #expect(acknowledged, "last replies: \(last.replies), acknowledged by \(last.acknowledgedReplicas)")
        #expect(last.replies.count == 3)
        // Asking for more replicas than exist: WAIT times out with what it got.
        let tooMany = try await pool.evaluateMany(
            calls, wait: RedisReplicaWait(replicas: 2, timeout: .milliseconds(50)))
        #expect(tooMany.acknowledgedReplicas == 1)
        await pool.close()
    }
}

@Suite("Mode detection")
struct ClusterModeDetectionTests {
    @Test("auto mode finds a plain server standalone with one INFO; standalone mode never asks")
    func standaloneServers() async throws {
        try await withRedis { configuration async throws in
            let metrics = TestMetrics()
            let pool = RedisConnectionPool(configuration: configuration, metrics: metrics)
            #expect(pool.resolvedMode == nil)
            #expect(try await pool.mode() == .standalone)
            #expect(pool.resolvedMode == .standalone)
            #expect(try await pool.clusterTopology() == nil)
            try await pool.send(SET(uniqueNamespace(), value: "1"))
            let infoCalls = try await Self.infoCalls(configuration)
            #expect(infoCalls >= 1)
            #expect(
                metrics.counterValue("tokenledger_redis_cluster_topology_refreshes_total", [("outcome", "ok")]) == 0)
            let waited = try await pool.evaluateMany(
                [RedisScriptCall(RedisScript(source: "return 7"), keys: [], arguments: [])],
                wait: RedisReplicaWait(replicas: 0, timeout: .milliseconds(10)))
            #expect(waited.replies == [.integer(7)] && waited.acknowledgedReplicas == 0)
            await pool.close()

            // Forced standalone: no INFO at all.
            let admin = try await RedisConnection.connect(configuration: configuration)
            _ = try await admin.send(RedisCommand("CONFIG", "RESETSTAT"))
            await admin.close()
            var forced = configuration
            forced.mode = .standalone
            let direct = RedisConnectionPool(configuration: forced)
            #expect(direct.resolvedMode == .standalone)
            #expect(try await direct.mode() == .standalone)
            for index in 0..<5 { try await direct.send(SET("\(uniqueNamespace()):\(index)", value: "1")) }
            #expect(try await Self.infoCalls(configuration) == 0)
            await direct.close()
        }
    }

    @Test("concurrent first callers against a plain server share one INFO")
    func oneProbe() async throws {
        try await withRedis { configuration async throws in
            let admin = try await RedisConnection.connect(configuration: configuration)
            _ = try await admin.send(RedisCommand("CONFIG", "RESETSTAT"))
            await admin.close()
            // 40 callers share 8 connections: on a loaded machine the default 5 s wait for a free
            // connection can pass, which is not what this test is about.
            let pool = RedisConnectionPool(configuration: configuration, options: .init(waitTimeout: .seconds(120)))
            let namespace = uniqueNamespace()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 { group.addTask { try await pool.send(SET("\(namespace):\(index)", value: "1")) } }
                try await group.waitForAll()
            }
            #expect(try await Self.infoCalls(configuration) == 1)
            await pool.close()
        }
    }

    @Test("a probe that fails is not remembered: the next call asks again")
    func failedProbeIsRetried() async throws {
        let server = try await RedisTestServer.start()
        let configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(server.port)")
        let pool = RedisConnectionPool(configuration: configuration)
        await server.stop()
        let error = await #expect(throws: RedisError.self) { _ = try await pool.send(GET("k")) }
        #expect(error?.isUnavailable == true)
        #expect(pool.resolvedMode == nil)
        try await server.restart()
        #expect(try await pool.send(GET("\(uniqueNamespace())")) == nil)
        #expect(pool.resolvedMode == .standalone)
        await pool.close()
        await server.stop()
    }

    /// `INFO` calls the server has counted since its last `CONFIG RESETSTAT`.
    static func infoCalls(_ configuration: RedisConfiguration) async throws -> Int {
        let connection = try await RedisConnection.connect(configuration: configuration)
        let stats = try await connection.send(INFO("commandstats"))
        await connection.close()
        guard let line = stats["cmdstat_info"] else { return 0 }
        // calls=3,usec=…
        let calls = line.split(separator: ",").first { $0.hasPrefix("calls=") }?.dropFirst(6)
        return calls.flatMap { Int($0) } ?? 0
    }
}
