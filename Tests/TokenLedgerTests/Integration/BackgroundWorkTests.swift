import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// Background work belongs to a task that is awaited (no task nobody awaits), and every figure is a
/// metric under a documented name.
@Suite("Structured background work; one metrics surface")
struct BackgroundWorkTests {
    @Test("stale settings: a running recorder's loop refreshes them; without one nothing refreshes behind the caller")
    func settingsRefresh() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let ledger = try LedgerConfiguration(
                namespace: uniqueNamespace("refresh"), settingsCacheTTL: .milliseconds(1))
            let repository = try TokenRepository(pool: pool, configuration: ledger)
            // Another process changes the settings (a repository's own writes drop its cache).
            let administrator = try TokenRepository(pool: pool, configuration: ledger)
            try await administrator.setDefaultLimit(100)
            #expect(try await repository.settings().defaultLimit == 100)
            // No recorder runs: nobody refreshes in the background, so stale settings are not
            // handed out (the caller reads them again) and no refresh starts.
            #expect(
                await waitUntil { repository.cachedSettings() == nil },
                "stale settings were handed out with no refresh loop")
            #expect(!repository.settingsRefresher.isAttached)

            let recorder = UsageRecorder(repository: repository, options: .init(replaysInBackground: false))
            try await recorder.withRunning {
                #expect(
                    await waitUntil { repository.settingsRefresher.isAttached }, "run() did not start the refresh loop")
                try await administrator.setDefaultLimit(200)
                // Stale settings are handed out (never waiting) while run()'s loop re-reads them.
                #expect(
                    await waitUntil { repository.cachedSettings()?.defaultLimit == 200 },
                    "the settings were never refreshed")
            }
            #expect(!repository.settingsRefresher.isAttached, "the refresh loop outlived run()")
            await pool.close()
        }
    }

    @Test(
        "a deadline that passes cancels the operation, which ends; a quicker operation wins; the caller's cancellation does not reach it"
    )
    func deadline() async throws {
        let cancelled = Locked(false)
        let late = await withDeadline(.milliseconds(50)) { () async throws -> Int in
            do {
                try await Task.sleep(for: .seconds(600))
            } catch {
                cancelled.withLock { $0 = true }
                throw error
            }
            return 1
        }
        guard case .timedOut = late else {
            Issue.record("expected a timeout: \(late)")
            return
        }
        #expect(await waitUntil { cancelled.withLock { $0 } }, "the abandoned operation was never cancelled")

        // A deadline a day away does not hold the caller once the operation has answered.
        guard case .value(42) = await withDeadline(.seconds(86_400), { 42 }) else {
            Issue.record("the operation's value was not returned")
            return
        }

        // As before: a cancelled caller still gets the operation's outcome, and the operation is
        // not cancelled with it.
        let released = Locked(false)
        let caller = Task {
            await withDeadline(.seconds(600)) { () async throws -> Bool in
                _ = await waitUntil { released.withLock { $0 } }
                return Task.isCancelled
            }
        }
        caller.cancel()
        released.withLock { $0 = true }
        guard case .value(let operationCancelled) = await caller.value else {
            Issue.record("the cancelled caller did not get the operation's value")
            return
        }
        #expect(!operationCancelled)
    }

    @Test("pool, pipeline, recorder and handlers emit every figure under a name docs/operations.md documents")
    func documentedMetricNames() async throws {
        let metrics = TestMetrics()
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 1, inlineReplyWait: .seconds(2)),
                metrics: metrics)
            let repository = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: uniqueNamespace("names")),
                metrics: LedgerMetrics(factory: metrics))
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init(connections: 1), loneCallerUsesPool: false),
                metrics: LedgerMetrics(factory: metrics))
            await recorder.withRunning {
                let handler = DetailedRedisTokenCallbackHandler(recorder: recorder, counting: .heuristic)
                let context = LLMCallContext(runID: "names-1", user: "names")
                try? await handler.onLLMStart(
                    messages: [ChatMessage(role: "user", content: "how many tokens?")], context: context)
                #expect(metrics.meterValue("tokenledger_handler_calls_in_flight") == 1)
                // Nothing reported: the handler estimates, and the record goes through the pipeline.
                await handler.onLLMEnd(response: LLMResponse(), context: context)
                await handler.onLLMError(CancellationError(), context: LLMCallContext(runID: "names-2", user: "names"))
            }
            await pool.close()
        }
        #expect(metrics.handlerCalls("recorded") == 1 && metrics.handlerCalls("error") == 1)
        #expect(metrics.counterValue("tokenledger_handler_estimated_total") == 1)
        #expect(metrics.meterValue("tokenledger_handler_calls_in_flight") == 0)
        #expect(metrics.pipelineBatches >= 1 && metrics.pipelineCommands >= 1)
        #expect(metrics.poolPeakOpen == 1 && metrics.poolOpen == 0 && metrics.poolWaiting == 0)  // closed

        let emitted = Set(
            metrics.counters.map(\.label) + metrics.recorders.map(\.label) + metrics.meters.map(\.label)
                + metrics.timers.map(\.label))
        let documented = try Self.documentedMetricNames()
        #expect(
            emitted.subtracting(documented).isEmpty, "undocumented metrics: \(emitted.subtracting(documented).sorted())"
        )
        for name in [
            "tokenledger_handler_calls_total", "tokenledger_handler_estimated_total",
            "tokenledger_handler_calls_in_flight",
            "tokenledger_redis_pipeline_batches_total", "tokenledger_redis_pipeline_commands_total",
            "tokenledger_redis_pool_connections", "tokenledger_redis_pool_waiting",
            "tokenledger_redis_inline_replies_total",
            "tokenledger_records_total", "tokenledger_record_seconds", "tokenledger_redis_round_trip_seconds",
        ] {
            #expect(emitted.contains(name), "\(name) was not emitted")
            #expect(documented.contains(name), "\(name) is not in docs/operations.md")
        }
    }

    /// The metric names in the table of docs/operations.md's Metrics section.
    static func documentedMetricNames() throws -> Set<String> {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/operations.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let section =
            text.components(separatedBy: "## Metrics\n").dropFirst().first?.components(separatedBy: "\n## ").first ?? ""
        return Set(
            section.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("| `tokenledger_") else { return nil }
                return line.split(separator: "`")[1].description
            })
    }
}
