import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The pool's opt-in inline path (``RedisConnectionPool/Options/inlineReplyWait``): a lone caller
/// waits for its replies on its own thread, for at most the budget; slower replies are read on the queue.
/// A caller is alone only while no other task of the process holds a pooled connection, so
/// `scripts/test` runs this suite in a process of its own, one test at a time.
@Suite("Inline replies for a lone caller", .serialized)
struct InlineReplyTests {
    static let inline = RedisConnectionPool.Options(inlineReplyWait: .milliseconds(1))

    @Test("a lone caller's calls are answered on its own thread when enabled; by default never")
    func loneCaller() async throws {
        try await withRedis { configuration async throws in
            // A budget no reply needs on a loaded machine (1 ms is often too short there: such a
            // reply is handed over, and which ones are is up to the scheduler).
            let metrics = TestMetrics()
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(inlineReplyWait: .seconds(2)), metrics: metrics)
            let namespace = uniqueNamespace("inline")
            for index in 0..<100 {
                _ = try await pool.send(RedisCommand("SET", "\(namespace):\(index)", "v\(index)"))
                #expect(try await pool.send(RedisCommand("GET", "\(namespace):\(index)")).string == "v\(index)")
            }
            // The first call connects on the queue; every other one is answered inline.
            #expect(metrics.inlineAnswered >= 190, "\(metrics.inlineAnswered) answered, \(metrics.inlineHandedOver) handed over")
            #expect(metrics.inlineAnswered + metrics.inlineHandedOver <= 200)
            await pool.close()

            let queuedMetrics = TestMetrics()
            let queued = RedisConnectionPool(configuration: configuration, metrics: queuedMetrics)
            for index in 0..<20 {
                #expect(try await queued.send(RedisCommand("GET", "\(namespace):\(index)")).string == "v\(index)")
            }
            #expect(queuedMetrics.inlineAnswered == 0 && queuedMetrics.inlineHandedOver == 0)
            await queued.close()
        }
    }

    @Test("overlapping callers: every reply belongs to its own command")
    func overlapping() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 4, inlineReplyWait: .milliseconds(1)))
            let key = "inline:overlap:\(UUID().uuidString)"
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<32 {
                    group.addTask {
                        for step in 1...50 {
                            let value = try await pool.send(RedisCommand("INCR", "\(key):\(task)"))
                            #expect(value.int == Int64(step), "task \(task) step \(step): \(value)")
                            if step % 10 == 0 {
                                let replies = try await pool.pipeline([
                                    RedisCommand("GET", "\(key):\(task)"), RedisCommand("ECHO", "t\(task)s\(step)"),
                                ])
                                #expect(replies[0].int == Int64(step) && replies[1].string == "t\(task)s\(step)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            await pool.close()
        }
    }

    @Test("a reply slower than the budget is read on the queue; the connection stays in step")
    func handOver() async throws {
        try await withRedisServer { server async throws in
            let metrics = TestMetrics()
            let pool = RedisConnectionPool(configuration: server.configuration, options: Self.inline, metrics: metrics)
            _ = try await pool.send(RedisCommand("SET", "k", "before"))
            // The inline path is in use: on a loaded machine a 1 ms budget can miss a reply, so
            // send until one is answered inline.
            #expect(try await waitUntil {
                _ = try await pool.send(RedisCommand("PING"))
                return metrics.inlineAnswered >= 1
            })
            let handedOverBefore = metrics.inlineHandedOver

            try await server.pause()
            let backstop = server.resume(after: .seconds(120))
            let pending = Task { try await pool.pipeline([RedisCommand("GET", "k"), RedisCommand("INCR", "n"), RedisCommand("PING")]) }
            // The caller stops waiting inline after ~1 ms and awaits the queue: the hand-over is
            // seen while the server is still stopped (without the budget the caller would wait on
            // its thread until the server resumed).
            #expect(await waitUntil { metrics.inlineHandedOver == handedOverBefore + 1 }, "no hand-over while the server was stopped")
            #expect(processState(pid: try #require(server.pid)) == "T", "the server resumed before the hand-over")
            backstop.cancel()
            server.resume()

            let replies = try await pending.value
            #expect(replies == [.bulk(Array("before".utf8)), .integer(1), .status("PONG")])
            for index in 0..<20 {
                #expect(try await pool.send(RedisCommand("ECHO", "after-\(index)")).string == "after-\(index)")
            }
            await pool.close()
        }
    }
}
