import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// Pipelined records send the record script and, once per user and cycle, the index script in one
/// pipeline. When the server has the first but not the second (a script flush, a restart, another
/// process that loaded only one), the record ran and must not be sent again.
@Suite("Pipelined records and missing scripts")
struct ScriptLoadTests {
    /// Leaves the server with the record script only. SCRIPT FLUSH affects every user of the
    /// server, so these tests use a private one (``withPrivateRepository``), never a shared REDIS_URL.
    static func keepOnlyRecordScript(_ repository: TokenRepository) async throws {
        _ = try await repository.pool.send(RedisCommand("SCRIPT", "FLUSH"))
        let sha = try await repository.pool.send(RedisCommand("SCRIPT", "LOAD", repository.scripts[.record].source))
        #expect(sha.string == repository.scripts[.record].sha1)
    }

    @Test("awaited: the record is applied once and reported applied; the index call is run again")
    func awaited() async throws {
        try await withPrivateRepository { repository async throws in
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init(connections: 1), loneCallerUsesPool: false),
                metrics: LedgerMetrics(factory: metrics))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            _ = try await repository.settings()
            try await Self.keepOnlyRecordScript(repository)
            let outcomes = await withTaskGroup(of: RecordOutcome.self) { group in
                for index in 0..<32 {
                    group.addTask {
                        await recorder.record(
                            user: "s\(index)", callID: "c", usage: UsageRecord(inputTokens: 10, outputTokens: 1),
                            at: testInstant)
                    }
                }
                var all: [RecordOutcome] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            for outcome in outcomes {
                guard case .applied = outcome else {
                    Issue.record("a first record must be reported applied: \(outcome)")
                    continue
                }
            }
            #expect(metrics.pipelineCommands > 0, "the pipeline was not used")
            let report = try await repository.report(at: testInstant)
            #expect(report.users.count == 32 && report.totals.totalTokens == 32 * 11)
            await recorder.shutdown()
            try await recorderRunning
        }
    }

    @Test("fire-and-forget: the record counts once as applied; the index is written")
    func background() async throws {
        try await withPrivateRepository { repository async throws in
            let metrics = TestMetrics()
            let logs = CapturedLogs()
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init(connections: 1)),
                metrics: LedgerMetrics(factory: metrics), logger: logs.logger("script-load"))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            // The pipeline's path (the one under test: NOSCRIPT met on a lane) needs the settings
            // and prices cached and the new namespace's schema version recorded; without them the
            // record is a follow-up through the pool.
            _ = try await repository.settings()
            _ = try await repository.priceTable()
            try await repository.ensureWritableSchema()
            try await Self.keepOnlyRecordScript(repository)
            #expect(await waitUntil { recorder.isRunning }, "the recorder never started")
            await recorder.recordInBackground(
                user: "bg", callID: "c", usage: UsageRecord(inputTokens: 5, outputTokens: 5), at: testInstant)
            let reported = try await waitUntil { try await !repository.report(at: testInstant).users.isEmpty }
            #expect(
                reported,
                """
                never reported; applied \(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")])), \
                failed \(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "failed")])); \
                logs: \(logs.lines.map(\.text))
                """)
            #expect(try await repository.report(at: testInstant).users.map(\.user) == ["bg"])
            #expect(try await repository.usage(user: "bg", at: testInstant).calls == 1)
            #expect(metrics.pipelineCommands > 0, "the pipeline was not used")
            #expect(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")]) == 1)
            #expect(
                metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "duplicate")]) == 0)
            await recorder.shutdown()
            try await recorderRunning
        }
    }

    @Test("a script flush met during shutdown: every fire-and-forget record still applies, none lost (no spool)")
    func flushDuringShutdown() async throws {
        try await withRedisServer { server async throws in
            let metrics = TestMetrics()
            let pool = RedisConnectionPool(configuration: server.configuration)
            // Settings cached for an hour: fire-and-forget records take the pipeline only while the
            // cache is fresh, and a recorder that never runs has no refresher (with the default
            // second, a loaded machine sent them all through the pool and the test proved nothing).
            let repository = try TokenRepository(
                pool: pool,
                configuration: try LedgerConfiguration(namespace: "flush-stop", settingsCacheTTL: .seconds(3600)))
            // Never run: its follow-ups (the NOSCRIPT resends) wait until shutdown() runs them, after
            // it has stopped the pipeline, the order of a graceful stop that meets a flush.
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init(connections: 1)),
                metrics: LedgerMetrics(factory: metrics))
            _ = await recorder.record(
                user: "warm", callID: "warm", usage: UsageRecord(inputTokens: 1, outputTokens: 0), at: testInstant)
            _ = try await repository.settings()
            #expect(repository.schemaKnownWritable && repository.cachedSettings() != nil)
            _ = try await pool.send(RedisCommand("SCRIPT", "FLUSH"))
            let commandsBefore = metrics.pipelineCommands
            let total = 200
            for index in 0..<total {
                await recorder.recordInBackground(
                    user: "f\(index % 7)", callID: "f\(index)", usage: UsageRecord(inputTokens: 3, outputTokens: 2),
                    at: testInstant)
            }
            // Every record was sent and met NOSCRIPT before the shutdown: none applied yet.
            #expect(await waitUntil(timeout: .seconds(120)) { metrics.pipelineCommands >= commandsBefore + total })
            #expect(
                metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")]) == 1)
            await recorder.shutdown()
            #expect(
                metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")])
                    == total + 1)
            #expect(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "failed")]) == 0)
            let report = try await repository.report(at: testInstant)
            #expect(report.totals.calls == total + 1 && report.totals.totalTokens == total * 5 + 1)
            await pool.close()
        }
    }
}
