import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Synchronization
import Testing

/// ``RedisRoutedPipeline`` on the process's shared 3-master cluster: each test writes keys of its
/// own hash tags and moves only the slot of a tag of its own.
@Suite("Routed pipeline on a cluster")
struct RoutedPipelineClusterTests {
    /// A unique hash tag on each master, with the master's port.
    static func tagsOnEveryMaster(_ cluster: RedisTestCluster) async throws -> [(tag: String, port: Int)] {
        let prefix = "lanes-\(UUID().uuidString.prefix(8))-"
        return try await cluster.topology().filter { $0.role == .master && !$0.slots.isEmpty }.map { node in
            (try #require(node.hashTag(prefix: prefix)), node.port)
        }
    }

    /// `calls` of `cmdstat_<command>` in a node's `INFO commandstats`.
    static func calls(of command: String, on port: Int, _ cluster: RedisTestCluster) async throws -> Int {
        let info = try #require(try await cluster.send(RedisCommand("INFO", "commandstats"), to: port).string)
        let prefix = "cmdstat_\(command):calls="
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix(prefix) }) else {
            return 0
        }
        return Int(line.dropFirst(prefix.count).prefix { $0.isNumber }) ?? 0
    }

    static func nodeCommands(_ metrics: TestMetrics, port: Int) -> Int {
        metrics.counterValue("tokenledger_redis_pipeline_commands_total", [("node", "127.0.0.1:\(port)")])
    }

    static let rerouted = "tokenledger_redis_pipeline_rerouted_commands_total"

    /// One group: a counter's HINCRBY and a script reading it back. Another test may flush a
    /// master's scripts meanwhile: a NOSCRIPT (the script never ran) loads it and resends just that call.
    static func group(
        _ pipeline: RedisRoutedPipeline, key: String, script: RedisScript, cluster: RedisTestCluster, port: Int,
        viaEnqueue: Bool
    ) async throws -> [RedisReply] {
        let commands = [RedisCommand("HINCRBY", key, "n", 1), RedisCommand("EVALSHA", script.sha1, 1, key, "n")]
        let slot = HashSlot.slot(for: key)
        var replies: [RedisReply]
        if viaEnqueue {
            let (results, delivery) = AsyncStream.makeStream(of: Result<[RedisReply], RedisError>.self)
            await pipeline.enqueue(slot: slot, deadline: .now + .seconds(60)) {
                commands
            } completion: { result in
                delivery.yield(result)
                delivery.finish()
            }
            var received: Result<[RedisReply], RedisError>?
            for await result in results { received = result }
            replies = try #require(received).get()
        } else {
            replies = try await pipeline.send(commands, slot: slot, deadline: .now + .seconds(60))
        }
        if case .error(let error) = replies[1], error.serverCode == "NOSCRIPT" {
            _ = try await cluster.send(RedisCommand("SCRIPT", "LOAD", script.source), to: port)
            replies[1] = try await pipeline.send([commands[1]], slot: slot, deadline: .now + .seconds(60))[0]
        }
        return replies
    }

    @Test("groups from 32 tasks on keys of all three masters: every reply in order, each master sent its own share")
    func splitsByNode() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tags = try await Self.tagsOnEveryMaster(cluster)
        #expect(tags.count == 3)
        let script = RedisScript(source: "return redis.call('HGET', KEYS[1], ARGV[1]) -- lanes \(UUID())")
        for (_, port) in tags { _ = try await cluster.send(RedisCommand("SCRIPT", "LOAD", script.source), to: port) }
        var before: [Int: Int] = [:]
        for (_, port) in tags { before[port] = try await Self.calls(of: "hincrby", on: port, cluster) }
        let metrics = TestMetrics()
        // One seed: the other masters come from the map.
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(tags[0].port)"))
        let pipeline = RedisRoutedPipeline(pool: pool, options: .init(connections: 2), metrics: metrics)
        let tasks = 32
        let steps = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    let (tag, port) = tags[task % tags.count]
                    let key = "{\(tag)}:task\(task)"
                    for step in 1...steps {
                        let replies = try await Self.group(
                            pipeline, key: key, script: script, cluster: cluster, port: port,
                            viaEnqueue: task % 2 == 1)
                        guard replies == [.integer(Int64(step)), .bulk(Array(String(step).utf8))] else {
                            throw RedisTestServerError(message: "task \(task) step \(step): \(replies)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(pool.resolvedMode == .cluster)
        // Each master's lanes carried exactly the groups of its keys, and none needed the pool.
        for (index, (_, port)) in tags.enumerated() {
            let tasksHere = (0..<tasks).filter { $0 % tags.count == index }.count
            #expect(Self.nodeCommands(metrics, port: port) >= tasksHere * steps * 2)
            let calls = try await Self.calls(of: "hincrby", on: port, cluster)
            #expect(calls - before[port]! >= tasksHere * steps, "master \(port) ran \(calls - before[port]!) HINCRBY")
        }
        #expect(metrics.counterValue(Self.rerouted) == 0)
        #expect(metrics.pipelineBatches < tasks * steps, "no coalescing happened")
        pipeline.shutdown()
        await pipeline.waitUntilStopped()
        await pool.close()
    }

    @Test("a slot that moves while groups use it: every group succeeds, counts exact, later groups reach the new owner")
    func followsAMovedSlot() async throws {
        // A private cluster: two MIGRATEs in opposite directions at once block both nodes until
        // MIGRATE's timeout, so this migration stays clear of other tests' migrations.
        var options = RedisTestCluster.Options()
        options.replicasPerMaster = 0
        try await withRedisCluster(options) { cluster in try await Self.followsAMovedSlot(cluster) }
    }

    static func followsAMovedSlot(_ cluster: RedisTestCluster) async throws {
        let tag = "lanes-move-\(UUID().uuidString)"
        let slot = HashSlot.slot(for: tag)
        let source = try await cluster.masterOwning(slot: slot).port
        let target = try #require(
            try await cluster.topology().first { $0.role == .master && !$0.slots.isEmpty && $0.port != source }
        ).port
        let keys = (0..<4).map { "{\(tag)}:k\($0)" }
        func increment(_ pipeline: RedisRoutedPipeline) async throws -> [RedisReply] {
            let replies = try await pipeline.send(
                keys.map { RedisCommand("HINCRBY", $0, "n", 1) }, slot: slot, deadline: .now + .seconds(60))
            guard replies.allSatisfy({ $0.int != nil }) else {
                throw RedisTestServerError(message: "a group failed: \(replies)")
            }
            return replies
        }
        // `busy` writes while the slot moves (its groups meet ASK, then MOVED); `idle` learns the
        // map before the move and sends nothing until after it.
        let busyPool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        let busy = RedisRoutedPipeline(pool: busyPool, metrics: TestMetrics())
        let idleMetrics = TestMetrics()
        let idlePool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        let idle = RedisRoutedPipeline(pool: idlePool, metrics: idleMetrics)
        _ = try await increment(idle)
        #expect(Self.nodeCommands(idleMetrics, port: source) == keys.count)

        let writers = 8
        let steps = 150
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<writers {
                group.addTask { for _ in 0..<steps { _ = try await increment(busy) } }
            }
            group.addTask { try await cluster.migrate(slot: slot, to: target) }
            try await group.waitForAll()
        }
        #expect(try await cluster.masterOwning(slot: slot).port == target)
        // The idle pipeline's map still says the source: its group meets MOVED there and is
        // finished through the pool, each command once.
        _ = try await increment(idle)
        #expect(idleMetrics.counterValue(Self.rerouted) == keys.count)
        let total = 1 + writers * steps + 1
        for key in keys {
            // Exact: no increment lost, none applied twice.
            #expect(try await cluster.send(RedisCommand("HGET", key, "n"), to: target).string == "\(total)")
        }
        // The pool's map now says the target: later groups go to its lanes, none to the source's.
        let sourceBefore = Self.nodeCommands(idleMetrics, port: source)
        let targetBefore = Self.nodeCommands(idleMetrics, port: target)
        for _ in 0..<50 { _ = try await increment(idle) }
        #expect(Self.nodeCommands(idleMetrics, port: source) == sourceBefore)
        #expect(Self.nodeCommands(idleMetrics, port: target) == targetBefore + 50 * keys.count)
        #expect(idleMetrics.counterValue(Self.rerouted) == keys.count)
        for key in keys {
            #expect(try await cluster.send(RedisCommand("HGET", key, "n"), to: target).string == "\(total + 50)")
        }
        for pipeline in [busy, idle] {
            pipeline.shutdown()
            await pipeline.waitUntilStopped()
        }
        await busyPool.close()
        await idlePool.close()
    }

    @Test("groups that ask for replica acknowledgement get their node's WAIT count, by send and by enqueue")
    func replicaWait() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tags = try await Self.tagsOnEveryMaster(cluster)
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        let pipeline = RedisRoutedPipeline(pool: pool)
        let wait = RedisReplicaWait(replicas: 1, timeout: .seconds(5))
        for (tag, port) in tags {
            let key = "{\(tag)}:waited"
            let slot = HashSlot.slot(for: key)
            // Each master has one replica: the count is 1 once it has the writes.
            let sent = try await pipeline.send(
                [RedisCommand("INCR", key)], slot: slot, deadline: .now + .seconds(30), wait: wait)
            #expect(sent.replies == [.integer(1)] && sent.acknowledgedReplicas == 1, "master \(port): \(sent)")
            let (results, delivery) = AsyncStream.makeStream(of: Result<[RedisReply], RedisError>.self)
            await pipeline.enqueue(slot: slot, deadline: .now + .seconds(30), wait: wait) {
                [RedisCommand("INCR", key)]
            } completion: { result in
                delivery.yield(result)
                delivery.finish()
            }
            var received: [RedisReply] = []
            for await result in results { received = try result.get() }
            #expect(received == [.integer(2), .integer(1)], "master \(port): \(received)")
        }
        pipeline.shutdown()
        await pipeline.waitUntilStopped()
        await pool.close()
    }

    @Test("a graceful stop of run() sends the groups queued on every node before it returns")
    func shutdownFinishesQueuedOnEveryNode() async throws {
        let cluster = try await RedisTestCluster.shared()
        let tags = try await Self.tagsOnEveryMaster(cluster)
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        let metrics = TestMetrics()
        let pipeline = RedisRoutedPipeline(pool: pool, options: .init(connections: 1), metrics: metrics)
        let succeeded = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let runner = Task { try await pipeline.run() }
        let perTag = 2_000
        for index in 0..<(perTag * tags.count) {
            let key = "{\(tags[index % tags.count].tag)}:queued"
            await pipeline.enqueue(slot: HashSlot.slot(for: key), deadline: .now + .seconds(120)) {
                [RedisCommand("INCR", key)]
            } completion: { result in
                if case .success(let replies) = result, replies[0].int != nil {
                    succeeded.add(1, ordering: .relaxed)
                } else {
                    failed.add(1, ordering: .relaxed)
                }
            }
        }
        // Cancelling run() is a graceful stop: queued groups are still sent, on every node.
        runner.cancel()
        try await runner.value
        #expect(succeeded.load(ordering: .relaxed) == perTag * tags.count)
        #expect(failed.load(ordering: .relaxed) == 0)
        for (tag, port) in tags {
            #expect(try await cluster.send(RedisCommand("GET", "{\(tag)}:queued"), to: port).string == "\(perTag)")
            #expect(Self.nodeCommands(metrics, port: port) == perTag)
        }
        // Stopped: a new group fails with poolClosed, on any node.
        let error = await #expect(throws: RedisError.self) {
            _ = try await pipeline.send(
                [RedisCommand("INCR", "{\(tags[1].tag)}:queued")], slot: HashSlot.slot(for: tags[1].tag),
                deadline: .now + .seconds(10))
        }
        #expect(error?.code == .poolClosed)
        await pool.close()
    }
}
