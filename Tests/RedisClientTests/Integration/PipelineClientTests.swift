import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Coalescing pipeline client")
struct PipelineClientTests {
    @Test("groups from 64 concurrent tasks are coalesced into fewer pipelines, every reply in its place")
    func coalesces() async throws {
        try await withRedis { configuration async throws in
            let metrics = TestMetrics()
            let client = RedisPipelineClient(
                configuration: configuration, options: .init(connections: 2), metrics: metrics)
            let namespace = uniqueNamespace()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<64 {
                    group.addTask {
                        for step in 1...200 {
                            let key = "\(namespace):\(task)"
                            let replies = try await client.send(
                                [RedisCommand("INCRBY", key, 2), RedisCommand("GET", key)],
                                deadline: .now + .seconds(10))
                            guard replies == [.integer(Int64(2 * step)), .bulk(Array(String(2 * step).utf8))] else {
                                throw RedisTestServerError(message: "task \(task) step \(step): \(replies)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(metrics.pipelineCommands == 64 * 200 * 2)
            #expect(metrics.pipelineBatches < 64 * 200, "no coalescing happened: \(metrics.pipelineBatches) batches")
            client.shutdown()
        }
    }

    @Test("a group past its deadline fails with timeout instead of being sent; shutdown fails what is queued")
    func deadlinesAndShutdown() async throws {
        try await withRedisServer { server async throws in
            let client = RedisPipelineClient(configuration: server.configuration, options: .init(connections: 1))
            let expired = await #expect(throws: RedisError.self) {
                _ = try await client.send([RedisCommand("PING")], deadline: .now - .seconds(1))
            }
            #expect(expired?.code == .timeout)
            // It says how long it waited and whether a lane was taking groups (none yet, here).
            #expect(expired?.message.contains("queued ") == true, "\(expired?.message ?? "")")
            #expect(expired?.message.contains("no lane had taken any yet") == true, "\(expired?.message ?? "")")
            #expect(try await client.send([RedisCommand("PING")], deadline: .now + .seconds(5)) == [.status("PONG")])
            // Pause the server so the lane blocks, then shut down with groups queued behind it.
            var paused = server.configuration
            // Long enough that the first command is surely still in flight when we shut down.
            paused.commandTimeout = .seconds(5)
            let slowMetrics = TestMetrics()
            let slow = RedisPipelineClient(configuration: paused, options: .init(connections: 1), metrics: slowMetrics)
            #expect(try await slow.send([RedisCommand("PING")], deadline: .now + .seconds(5)) == [.status("PONG")])
            try await server.pause()
            let backstop = server.resume(after: .seconds(120))
            let batchesBefore = slowMetrics.pipelineBatches
            let first = Task { try await slow.send([RedisCommand("PING")], deadline: .now + .seconds(30)) }
            // The lane took the first group and waits for the stopped server's reply.
            #expect(await waitUntil { slowMetrics.pipelineBatches == batchesBefore + 1 })
            let queuedResult = Mutex<Result<[RedisReply], RedisError>?>(nil)
            let queued = slow.tryEnqueue([RedisCommand("PING")], deadline: .now + .seconds(30)) { result in
                queuedResult.withLock { $0 = result }
            }
            #expect(queued, "the second group was not queued")
            slow.shutdown()
            #expect(await waitUntil { queuedResult.withLock { $0 } != nil })
            let result = queuedResult.withLock { $0 }
            guard case .failure(let error) = result, error.code == .poolClosed else {
                Issue.record("the queued group should fail with poolClosed: \(String(describing: result))")
                return
            }
            // The group already sent times out after the command timeout (5 s) while the server is stopped.
            await #expect { _ = try await first.value } throws: { ($0 as? RedisError)?.isUnavailable == true }
            #expect(processState(pid: try #require(server.pid)) == "T")
            backstop.cancel()
            server.resume()
            client.shutdown()
        }
    }

    @Test("a full queue makes submitters wait for room (back-pressure) and nothing is lost")
    func backPressure() async throws {
        try await withRedis { configuration async throws in
            let client = RedisPipelineClient(
                configuration: configuration,
                options: .init(connections: 1, maximumBatchCommands: 4, maximumQueuedGroups: 8))
            let key = uniqueNamespace() + ":bp"
            // The deadline is far away: this test is about back-pressure, not deadlines, and on a
            // loaded 2-core machine a group can wait in the full queue for tens of seconds.
            let failures = FailureLog()
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        for _ in 0..<50 {
                            await client.enqueue([RedisCommand("INCR", key)], deadline: .now + .seconds(900)) {
                                result in
                                if case .failure(let error) = result { failures.append(error) }
                            }
                        }
                    }
                }
            }
            // Everything queued was sent; wait for the lane to finish the last batch.
            var total: Int64 = 0
            #expect(
                try await waitUntil {
                    total = try await client.send([RedisCommand("GET", key)], deadline: .now + .seconds(30))[0].int ?? 0
                    return total >= 1600
                })
            #expect(total == 1600)
            #expect(failures.errors.isEmpty, "groups failed: \(failures.errors)")
            client.shutdown()
        }
    }
}

/// The errors of groups that failed, collected from their completions (on the pipeline's lanes).
private final class FailureLog: Sendable {
    private let storage = Mutex<[RedisError]>([])
    func append(_ error: RedisError) { storage.withLock { $0.append(error) } }
    var errors: [RedisError] { storage.withLock { $0 } }
}
