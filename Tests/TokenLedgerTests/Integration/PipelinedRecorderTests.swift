import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

#if canImport(Glibc)
    import Glibc
#endif

private func event(_ index: Int, users: Int) -> (user: String, callID: String, usage: UsageRecord) {
    (
        "p-\(index % users)", "pipe-\(index)",
        UsageRecord(inputTokens: index % 89 + 1, outputTokens: index % 13, cachedInputTokens: index % 3 == 0 ? 1 : nil)
    )
}

/// Checks every user's totals: in the cycle of `testInstant`, or (`since`) over the cycles from that
/// instant to now, for records made now.
private func expectTotals(_ repository: TokenRepository, events: Int, users: Int, since start: Date? = nil) async throws
{
    var expected: [String: (Int, Int, Int, Int)] = [:]
    for index in 0..<events {
        let e = event(index, users: users)
        let old = expected[e.user] ?? (0, 0, 0, 0)
        expected[e.user] = (
            old.0 + e.usage.inputTokens, old.1 + e.usage.outputTokens, old.2 + 1,
            old.3 + (e.usage.cachedInputTokens ?? 0)
        )
    }
    for (user, totals) in expected {
        let usage: UsageTotals
        if let start {
            usage = try await usageSince(start, user: user, in: repository)
        } else {
            let read = try await repository.usage(user: user, at: testInstant)
            usage = UsageTotals(
                inputTokens: read.inputTokens, outputTokens: read.outputTokens, totalTokens: read.totalTokens,
                calls: read.calls,
                cachedInputTokens: read.cachedInputTokens, reasoningTokens: read.reasoningTokens)
        }
        #expect(
            usage.inputTokens == totals.0 && usage.outputTokens == totals.1 && usage.calls == totals.2
                && usage.cachedInputTokens == totals.3, "\(user)")
    }
}

@Suite("Pipelined recording")
struct PipelinedRecorderTests {
    @Test("64 concurrent callers awaiting pipelined records: totals exact, replays are duplicates")
    func awaited() async throws {
        try await withRepository { repository async throws in
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init(connections: 2)),
                metrics: LedgerMetrics(factory: metrics))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            let total = 6400
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<64 {
                    group.addTask {
                        for index in stride(from: lane, to: total, by: 64) {
                            let e = event(index, users: 40)
                            let outcome = await recorder.record(
                                user: e.user, callID: e.callID, usage: e.usage, at: testInstant)
                            guard case .applied = outcome else {
                                throw LedgerError(
                                    code: .unexpectedReply, message: "event \(index) not applied: \(outcome)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await expectTotals(repository, events: total, users: 40)
            let again = await recorder.record(
                user: "p-0", callID: "pipe-0", usage: event(0, users: 40).usage, at: testInstant)
            guard case .duplicate = again else { Issue.record("a replay should be a duplicate: \(again)"); return }
            // Every user is in the report (index writes went along, once per user and cycle).
            #expect(try await repository.report(at: testInstant).users.count == 40)
            #expect(
                metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")])
                    == Int64(total))
            await recorder.shutdown()
            try await recorderRunning
        }
    }

    @Test(
        "a fire-and-forget settle replaces the call's lease with its usage; one queued just before a shutdown still lands"
    )
    func settleInBackground() async throws {
        try await withRepository { repository async throws in
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init()), metrics: LedgerMetrics(factory: metrics))
            async let recorderRunning: Void = recorder.run()
            _ = try await repository.priceTable()  // cached: the settles are priced when queued, and pipelined
            for callID in ["bg-0", "bg-1"] {
                #expect(
                    try await repository.reserve(user: "bg-settle", callID: callID, tokens: 500).status == .admitted)
            }
            #expect(try await repository.usage(user: "bg-settle").reserved == 1000)
            await recorder.settleInBackground(
                user: "bg-settle", callID: "bg-0", usage: UsageRecord(inputTokens: 30, outputTokens: 7))
            #expect(await waitUntil { (try? await repository.usage(user: "bg-settle").counts.calls) == 1 })
            var usage = try await repository.usage(user: "bg-settle")
            #expect(usage.reserved == 500, "the settled call's lease is gone, the other's held")
            #expect(usage.counts.inputTokens == 30 && usage.counts.outputTokens == 7)
            // Queued, then the recorder stops at once: what was queued is still sent.
            await recorder.settleInBackground(
                user: "bg-settle", callID: "bg-1", usage: UsageRecord(inputTokens: 40, outputTokens: 2))
            await recorder.shutdown()
            try await recorderRunning
            usage = try await repository.usage(user: "bg-settle")
            #expect(usage.counts.calls == 2 && usage.reserved == 0)
            #expect(usage.counts.inputTokens == 70 && usage.counts.outputTokens == 9)
            #expect(
                metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")]) == 2)
        }
    }

    @Test(
        "fire-and-forget handler calls: onLLMEnd returns at once; everything lands; a changed policy and a script flush are handled"
    )
    func fireAndForget() async throws {
        // SCRIPT FLUSH affects every user of the server: a private one, never a shared REDIS_URL.
        try await withPrivateRepository { repository async throws in
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init()), metrics: LedgerMetrics(factory: metrics))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            let handler = RedisTokenCallbackHandler(recorder: recorder, counting: .heuristic, delivery: .fireAndForget)
            // Another process changes a user's policy, and someone flushes the scripts, before the run.
            _ = try await repository.record(
                user: "p-1", callID: "warm", usage: UsageRecord(inputTokens: 1, outputTokens: 0),
                cycle: date("2020-01-01"))
            try await TokenRepository(pool: repository.pool, configuration: repository.configuration)
                .setCyclePolicy(user: "p-1", policy: try BillingCyclePolicy(period: .daily))
            _ = try await repository.pool.send(RedisCommand("SCRIPT", "FLUSH"))
            let total = 3000
            let start = Date()
            await withTaskGroup(of: Void.self) { group in
                for lane in 0..<32 {
                    group.addTask {
                        for index in stride(from: lane, to: total, by: 32) {
                            let e = event(index, users: 10)
                            await handler.onLLMEnd(
                                response: LLMResponse(usage: e.usage),
                                context: LLMCallContext(runID: e.callID, user: e.user))
                        }
                    }
                }
            }
            #expect(metrics.handlerCalls("queued") == total)
            #expect(
                await waitUntil {
                    metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")])
                        + metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "failed")])
                        >= Int64(total)
                })
            #expect(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "failed")]) == 0)
            #expect(
                metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")])
                    == Int64(total))
            try await expectTotals(repository, events: total, users: 10, since: start)
            await recorder.shutdown()
            try await recorderRunning
        }
    }

    @Test(
        "after SCRIPT FLUSH, 3,000 fire-and-forget records all apply with one script reload, not a pooled call each, also while the pool is busy"
    )
    func scriptFlushReloadsOnce() async throws {
        try await withRedisServer { server async throws in
            let metrics = TestMetrics()
            // One pooled connection, which the test holds while the records meet NOSCRIPT: nothing
            // can load the script through the pool until it is released.
            let pool = RedisConnectionPool(
                configuration: server.configuration, options: .init(maximumConnections: 1, waitTimeout: .seconds(300)),
                metrics: metrics)
            let repository = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: uniqueNamespace("flush")))
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init()), metrics: LedgerMetrics(factory: metrics))
            async let recorderRunning: Void = recorder.run()
            // The settings and schema check are cached, so every record below takes the pipeline.
            _ = await recorder.record(user: "warm", callID: "warm", usage: UsageRecord(inputTokens: 1, outputTokens: 0))
            let start = Date()
            _ = try await pool.send(RedisCommand("SCRIPT", "FLUSH"))
            func pooled() -> Int {
                metrics.timers(label: "tokenledger_redis_round_trip_seconds", dimensions: [("path", "pool")]).first?
                    .values.count ?? 0
            }
            let pooledBefore = pooled()
            let commandsBefore = metrics.pipelineCommands
            let total = 3000
            let (holding, held) = AsyncStream<Void>.makeStream()
            async let holder: Bool = pool.withConnection { _ in
                held.yield()
                // Released once every record met NOSCRIPT and someone waits for the pool to load it.
                return await waitUntil(timeout: .seconds(300)) {
                    metrics.pipelineCommands >= commandsBefore + total && metrics.poolWaiting >= 1
                }
            }
            for await _ in holding { break }
            await withTaskGroup(of: Void.self) { group in
                for lane in 0..<32 {
                    group.addTask {
                        for index in stride(from: lane, to: total, by: 32) {
                            let e = event(index, users: 10)
                            await recorder.recordInBackground(user: e.user, callID: e.callID, usage: e.usage)
                        }
                    }
                }
            }
            #expect(try await holder, "every record met NOSCRIPT while the pool was held")
            let applied = await waitUntil(timeout: .seconds(300)) {
                metrics.counterValue("tokenledger_records_total", [("result", "applied")]) >= total + 1
            }
            #expect(applied, "applied \(metrics.counterValue("tokenledger_records_total", [("result", "applied")]))")
            #expect(metrics.counterValue("tokenledger_records_total", [("result", "failed")]) == 0)
            // The reload itself, the cycle index of 10 users and stragglers whose NOSCRIPT came after
            // the reload: far fewer than one pooled call per record.
            let calls = pooled() - pooledBefore
            #expect(calls < total / 10, "\(calls) pooled calls for \(total) records")
            try await expectTotals(repository, events: total, users: 10, since: start)
            await recorder.shutdown()
            try await recorderRunning
            await pool.close()
        }
    }

    @Test("a paused Redis: pipelined records are spooled within their bound and replayed, none lost")
    func pausedWithSpool() async throws {
        try await withRedisServer { server async throws in
            let poolMetrics = TestMetrics()
            let pool = RedisConnectionPool(configuration: server.configuration, metrics: poolMetrics)
            let repository = try TokenRepository(pool: pool, configuration: try LedgerConfiguration(namespace: "pp"))
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-\(UUID().uuidString)")
                .path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let spool = try EventSpool(directory: directory)
            let recorder = UsageRecorder(
                repository: repository, spool: spool,
                options: .init(recordTimeout: .milliseconds(300), maximumBackoff: .milliseconds(300), pipeline: .init())
            )
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            _ = try await repository.settings()
            _ = try await repository.priceTable()  // events are priced from the cache, never waiting
            // A first write records the new namespace's schema version while Redis answers (a writer
            // checks it once: see ensureWritableSchema); the records under test come after.
            try await repository.ensureWritableSchema()
            try await server.pause()
            // Without the bound each record would wait for Redis; the backstop resumes it after
            // two minutes, and the records would then be applied instead of spooled.
            let backstop = server.resume(after: .seconds(120))
            var spooled = 0
            for index in 0..<40 {
                let e = event(index, users: 4)
                if case .spooled = await recorder.record(
                    user: e.user, callID: e.callID, usage: e.usage, at: testInstant)
                {
                    spooled += 1
                }
            }
            // Every record returned (spooled) while the server was still stopped.
            #expect(
                processState(pid: try #require(server.pid)) == "T", "the server was resumed before the records returned"
            )
            backstop.cancel()
            server.resume()
            #expect(spooled == 40)
            // A lone record takes a pooled connection; one that timed out still counts as in flight
            // until Redis answers, so the records after it go to the pipeline instead of pinning a
            // pooled connection each (which would exhaust the pool that quota checks need).
            #expect(poolMetrics.poolPeakOpen <= 4, "peak \(poolMetrics.poolPeakOpen)")  // 8 (all) when each pinned one
            #expect(await waitUntil { spool.status().events == 0 }, "the spool was not replayed")
            try await expectTotals(repository, events: 40, users: 4)
            await recorder.shutdown()
            try await recorderRunning
            await pool.close()
        }
    }
}
