import Foundation
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
            let pool = RedisConnectionPool(configuration: configuration, options: Self.inline)
            for index in 0..<100 {
                _ = try await pool.send(RedisCommand("SET", "inline:\(index)", "v\(index)"))
                #expect(try await pool.send(RedisCommand("GET", "inline:\(index)")).string == "v\(index)")
            }
            let statistics = pool.statistics
            // The first call connects on the queue; a reply slower than 1 ms on a loaded machine is
            // handed over. Nearly all the others are answered inline.
            #expect(statistics.answeredInline >= 150, "\(statistics)")
            #expect(statistics.answeredInline + statistics.handedOver <= 200)
            await pool.close()

            let queued = RedisConnectionPool(configuration: configuration)
            for index in 0..<20 {
                #expect(try await queued.send(RedisCommand("GET", "inline:\(index)")).string == "v\(index)")
            }
            #expect(queued.statistics.answeredInline == 0 && queued.statistics.handedOver == 0)
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
            let pool = RedisConnectionPool(configuration: server.configuration, options: Self.inline)
            _ = try await pool.send(RedisCommand("SET", "k", "before"))
            _ = try await pool.send(RedisCommand("PING"))
            #expect(pool.statistics.answeredInline >= 1)

            server.signal(SIGSTOP)
            let clock = ContinuousClock()
            let start = clock.now
            let pending = Task { try await pool.pipeline([RedisCommand("GET", "k"), RedisCommand("INCR", "n"), RedisCommand("PING")]) }
            // The caller stops waiting inline after ~1 ms and awaits the queue: visible long before
            // the server resumes (without the budget it would wait on its thread until SIGCONT).
            while pool.statistics.handedOver == 0 && clock.now - start < .seconds(5) {
                try await Task.sleep(for: .milliseconds(5))
            }
            let handedOverAfter = clock.now - start
            #expect(pool.statistics.handedOver == 1)
            #expect(handedOverAfter < .seconds(2), "handed over after \(handedOverAfter)")
            try await Task.sleep(for: .milliseconds(100))
            server.signal(SIGCONT)

            let replies = try await pending.value
            #expect(replies == [.bulk(Array("before".utf8)), .integer(1), .status("PONG")])
            for index in 0..<20 {
                #expect(try await pool.send(RedisCommand("ECHO", "after-\(index)")).string == "after-\(index)")
            }
            await pool.close()
        }
    }
}
