import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import TokenLedger
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a lone awaited caller does with the pipelined recorder. A caller is alone only while no
/// other task of the process holds a pooled connection, so `scripts/test` runs this suite in a
/// process of its own, one test at a time (with `InlineReplyTests`).
@Suite("Recording by a lone caller", .serialized)
struct InlineRecordingTests {
    @Test("a lone awaited caller skips the pipeline and is answered on its own thread; a concurrent one uses it")
    func loneCaller() async throws {
        try await withRedisServer { server async throws in
            // Records held while Redis is paused below must not time out (there is no spool) before
            // the test resumes it, however slowly a loaded machine gets there.
            var configuration = server.configuration
            configuration.commandTimeout = .seconds(60)
            let metrics = TestMetrics()
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(inlineReplyWait: .milliseconds(500)), metrics: metrics)
            let repository = try TokenRepository(pool: pool, configuration: try LedgerConfiguration(namespace: "lone"))
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init(connections: 2)), metrics: LedgerMetrics(factory: metrics))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            for index in 0..<30 {
                let usage = UsageRecord(inputTokens: index + 1, outputTokens: 1)
                guard case .applied = await recorder.record(user: "lone-\(index % 3)", callID: "c\(index)", usage: usage, at: testInstant) else {
                    throw LedgerError(code: .unexpectedReply, message: "event \(index) not applied")
                }
            }
            #expect(metrics.pipelineCommands == 0)
            #expect(metrics.inlineAnswered >= 20, "\(metrics.inlineAnswered) answered, \(metrics.inlineHandedOver) handed over")

            // Hold one record in flight (Redis paused): the next caller is not alone. (The first
            // waits inline for its 500 ms budget, then hands over.)
            let handedOverBefore = metrics.inlineHandedOver
            try await server.pause()
            let backstop = server.resume(after: .seconds(120))
            let first = Task { await recorder.record(user: "p-0", callID: "held-1", usage: UsageRecord(inputTokens: 1, outputTokens: 1), at: testInstant) }
            #expect(await waitUntil { metrics.inlineHandedOver > handedOverBefore }, "the first record was never handed over")
            let second = Task { await recorder.record(user: "p-1", callID: "held-2", usage: UsageRecord(inputTokens: 1, outputTokens: 1), at: testInstant) }
            #expect(await waitUntil { metrics.pipelineCommands > 0 }, "the second record did not use the pipeline")
            backstop.cancel()
            server.resume()
            #expect(metrics.pipelineCommands > 0)
            for outcome in [await first.value, await second.value] {
                guard case .applied = outcome else {
                    Issue.record("not applied: \(outcome)")
                    continue
                }
            }
            #expect(try await repository.usage(user: "lone-0", at: testInstant).calls == 10)
            await recorder.shutdown()
            try await recorderRunning
            await pool.close()
        }
    }
}
