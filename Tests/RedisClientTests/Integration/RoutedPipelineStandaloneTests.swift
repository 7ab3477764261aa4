import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Synchronization
import Testing

/// ``RedisRoutedPipeline`` against a plain server: one ``RedisPipelineClient`` on the pool's
/// configuration, the slot ignored.
@Suite("Routed pipeline on a standalone server")
struct RoutedPipelineStandaloneTests {
    @Test("standalone and auto modes: one client, round trips and enqueue/completion as RedisPipelineClient")
    func standaloneIsOneClient() async throws {
        try await withRedis { base async throws in
            for mode in [RedisConfiguration.Mode.standalone, .auto] {
                var configuration = base
                configuration.mode = mode
                let metrics = TestMetrics()
                let pool = RedisConnectionPool(configuration: configuration)
                let pipeline = RedisRoutedPipeline(pool: pool, options: .init(connections: 2), metrics: metrics)
                let runner = Task { try await pipeline.run() }
                let key = "\(uniqueNamespace("routed")):n"
                // The slot is not the key's: a standalone server has none, and it is not looked at.
                // Long deadlines: the auto mode's first send asks the server (INFO) before it
                // queues, and beside ~700 other tests that took more than 30 s once; the deadline
                // only bounds a broken test.
                let replies = try await pipeline.send(
                    [RedisCommand("INCRBY", key, 2), RedisCommand("GET", key)], slot: 7, deadline: .now + .seconds(300))
                #expect(replies == [.integer(2), .bulk(Array("2".utf8))])
                #expect(pool.resolvedMode == .standalone)

                let (results, delivery) = AsyncStream.makeStream(of: Result<[RedisReply], RedisError>.self)
                let built = Atomic<Int>(0)
                for _ in 0..<100 {
                    await pipeline.enqueue(slot: HashSlot.slot(for: key), deadline: .now + .seconds(300)) {
                        built.add(1, ordering: .relaxed)
                        return [RedisCommand("INCR", key)]
                    } completion: { result in
                        delivery.yield(result)
                    }
                }
                var values: [Int64] = []
                for await result in results.prefix(100) { values.append(try #require(try result.get().first?.int)) }
                #expect(values.sorted() == Array(3...102))
                #expect(built.load(ordering: .relaxed) == 100)
                // One client on the server's endpoint: its metrics carry no node.
                #expect(metrics.pipelineCommands == 102)
                #expect(metrics.counterValue("tokenledger_redis_pipeline_rerouted_commands_total") == 0)

                runner.cancel()
                try await runner.value
                let error = await #expect(throws: RedisError.self) {
                    _ = try await pipeline.send([RedisCommand("GET", key)], slot: 0, deadline: .now + .seconds(5))
                }
                #expect(error?.code == .poolClosed)
                await pool.close()
            }
        }
    }

    @Test("a slot out of range is refused, naming it, before anything is queued")
    func badSlot() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let metrics = TestMetrics()
            let pipeline = RedisRoutedPipeline(pool: pool, metrics: metrics)
            for slot in [-1, HashSlot.count] {
                let error = await #expect(throws: RedisError.self) {
                    _ = try await pipeline.send([RedisCommand("PING")], slot: slot, deadline: .now + .seconds(5))
                }
                #expect(error?.code == .crossSlot && error?.category == .misuse)
                #expect(error?.message.contains("\(slot) is not a Redis Cluster hash slot") == true)
                let refused = Mutex<RedisError?>(nil)
                await pipeline.enqueue(slot: slot, deadline: .now + .seconds(5)) {
                    [RedisCommand("PING")]
                } completion: { result in
                    if case .failure(let error) = result { refused.withLock { $0 = error } }
                }
                #expect(refused.withLock { $0?.code } == .crossSlot)
            }
            #expect(metrics.pipelineCommands == 0)
            pipeline.shutdown()
            await pipeline.waitUntilStopped()
            await pool.close()
        }
    }
}
