import Foundation
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
            let pool = RedisConnectionPool(
                configuration: server.configuration, options: .init(inlineReplyWait: .milliseconds(1)))
            let repository = try TokenRepository(pool: pool, configuration: try LedgerConfiguration(namespace: "lone"))
            let recorder = UsageRecorder(repository: repository, options: .init(pipeline: .init(connections: 2)))
            for index in 0..<30 {
                let usage = UsageRecord(inputTokens: index + 1, outputTokens: 1)
                guard case .applied = await recorder.record(user: "lone-\(index % 3)", callID: "c\(index)", usage: usage) else {
                    throw LedgerError(code: .internalError, message: "event \(index) not applied")
                }
            }
            #expect(recorder.pipelineStatistics?.commands == 0)
            #expect(pool.statistics.answeredInline >= 20, "\(pool.statistics)")

            // Hold one record in flight (Redis paused): the next caller is not alone.
            let handedOverBefore = pool.statistics.handedOver
            server.signal(SIGSTOP)
            let first = Task { await recorder.record(user: "p-0", callID: "held-1", usage: UsageRecord(inputTokens: 1, outputTokens: 1)) }
            let clock = ContinuousClock()
            let start = clock.now
            while pool.statistics.handedOver == handedOverBefore && clock.now - start < .seconds(5) {
                try await Task.sleep(for: .milliseconds(5))
            }
            let second = Task { await recorder.record(user: "p-1", callID: "held-2", usage: UsageRecord(inputTokens: 1, outputTokens: 1)) }
            while recorder.pipelineStatistics?.commands == 0 && clock.now - start < .seconds(5) {
                try await Task.sleep(for: .milliseconds(5))
            }
            server.signal(SIGCONT)
            #expect((recorder.pipelineStatistics?.commands ?? 0) > 0)
            for outcome in [await first.value, await second.value] {
                guard case .applied = outcome else {
                    Issue.record("not applied: \(outcome)")
                    continue
                }
            }
            #expect(try await repository.usage(user: "lone-0").calls == 10)
            await recorder.shutdown()
            await pool.close()
        }
    }
}
