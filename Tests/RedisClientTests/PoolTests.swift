import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

@Suite("Connection pool")
struct PoolTests {
    @Test("200 concurrent tasks × 100 commands: every reply correct, the bound respected")
    func concurrentTasks() async throws {
        try await withRedis { configuration async throws in
            // 194 tasks wait for 6 connections; on a loaded 2-core machine a waiter can be last in
            // line for more than 30 s. The bound on open connections is what this test checks, so
            // the wait timeout is far away (waitTimeout has its own test below).
            let metrics = TestMetrics()
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 6, waitTimeout: .seconds(600)),
                metrics: metrics)
            let namespace = uniqueNamespace()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<200 {
                    group.addTask {
                        let key = "\(namespace):task:\(task)"
                        for step in 1...100 {
                            let reply = try await pool.send(RedisCommand("INCRBY", key, task))
                            guard reply == .integer(Int64(task * step)) else {
                                throw RedisTestServerError(message: "task \(task) step \(step) got \(reply)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(metrics.poolPeakOpen <= 6)
            #expect(metrics.poolPeakOpen >= 2, "the pool should have used more than one connection")
            #expect(metrics.poolWaiting == 0)
            let totals = try await pool.pipeline((0..<200).map { RedisCommand("GET", "\(namespace):task:\($0)") })
            #expect(totals == (0..<200).map { RedisReply.bulk(Array(String($0 * 100).utf8)) })
            await pool.close()
        }
    }

    @Test("a task waiting longer than the wait timeout gets poolTimeout")
    func waitTimeout() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 1, waitTimeout: .milliseconds(100)))
            try await pool.withConnection { held in
                _ = try await held.send(RedisCommand("PING"))
                await #expect {
                    _ = try await pool.send(RedisCommand("PING"))
                } throws: { error in
                    (error as? RedisError)?.code == .poolTimeout
                }
            }
            // Once returned, the connection serves the next task.
            #expect(try await pool.send(RedisCommand("PING")) == .status("PONG"))
            await pool.close()
        }
    }

    @Test("a cancelled waiter leaves the line without taking a connection")
    func cancelledWaiter() async throws {
        try await withRedis { configuration async throws in
            let metrics = TestMetrics()
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 1, waitTimeout: .seconds(30)),
                metrics: metrics)
            try await pool.withConnection { held in
                _ = try await held.send(RedisCommand("PING"))
                let waiter = Task { try await pool.send(RedisCommand("PING")) }
                #expect(await waitUntil { metrics.poolWaiting == 1 }, "the task never waited for a connection")
                waiter.cancel()
                await #expect(throws: CancellationError.self) { _ = try await waiter.value }
            }
            #expect(metrics.poolWaiting == 0)
            #expect(try await pool.send(RedisCommand("PING")) == .status("PONG"))
            await pool.close()
        }
    }

    @Test("a closed pool refuses new work")
    func closedPool() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            _ = try await pool.send(RedisCommand("PING"))
            await pool.close()
            await #expect {
                _ = try await pool.send(RedisCommand("PING"))
            } throws: { error in
                (error as? RedisError)?.code == .poolClosed
            }
        }
    }
}
