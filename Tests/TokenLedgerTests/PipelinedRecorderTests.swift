import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import TokenLedger
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func event(_ index: Int, users: Int) -> (user: String, callID: String, usage: UsageRecord) {
    ("p-\(index % users)", "pipe-\(index)", UsageRecord(inputTokens: index % 89 + 1, outputTokens: index % 13, cachedInputTokens: index % 3 == 0 ? 1 : nil))
}

private func expectTotals(_ repository: TokenRepository, events: Int, users: Int) async throws {
    var expected: [String: (Int, Int, Int, Int)] = [:]
    for index in 0..<events {
        let e = event(index, users: users)
        let old = expected[e.user] ?? (0, 0, 0, 0)
        expected[e.user] = (old.0 + e.usage.inputTokens, old.1 + e.usage.outputTokens, old.2 + 1, old.3 + (e.usage.cachedInputTokens ?? 0))
    }
    for (user, totals) in expected {
        let usage = try await repository.usage(user: user)
        #expect(usage.inputTokens == totals.0 && usage.outputTokens == totals.1 && usage.calls == totals.2 && usage.cachedInputTokens == totals.3, "\(user)")
    }
}

@Suite("Pipelined recording")
struct PipelinedRecorderTests {
    @Test("64 concurrent callers awaiting pipelined records: totals exact, replays are duplicates")
    func awaited() async throws {
        try await withRepository { repository async throws in
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init(connections: 2)), metrics: LedgerMetrics(factory: metrics))
            let total = 6400
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<64 {
                    group.addTask {
                        for index in stride(from: lane, to: total, by: 64) {
                            let e = event(index, users: 40)
                            let outcome = await recorder.record(user: e.user, callID: e.callID, usage: e.usage)
                            guard case .applied = outcome else {
                                throw LedgerError(code: .internalError, message: "event \(index) not applied: \(outcome)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await expectTotals(repository, events: total, users: 40)
            let again = await recorder.record(user: "p-0", callID: "pipe-0", usage: event(0, users: 40).usage)
            guard case .duplicate = again else { Issue.record("a replay should be a duplicate: \(again)"); return }
            // Every user is in the report (index writes went along, once per user and cycle).
            #expect(try await repository.report().users.count == 40)
            #expect(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")]) == Int64(total))
            await recorder.shutdown()
        }
    }

    @Test("fire-and-forget handler calls: onLLMEnd returns at once; everything lands; a changed policy and a script flush are handled")
    func fireAndForget() async throws {
        try await withRepository { repository async throws in
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init()), metrics: LedgerMetrics(factory: metrics))
            let handler = RedisTokenCallbackHandler(recorder: recorder, counting: .heuristic, delivery: .fireAndForget)
            // Another process changes a user's policy, and someone flushes the scripts, before the run.
            _ = try await repository.record(user: "p-1", callID: "warm", usage: UsageRecord(inputTokens: 1, outputTokens: 0), cycle: date("2020-01-01"))
            try await TokenRepository(pool: repository.pool, configuration: repository.configuration)
                .setCyclePolicy(user: "p-1", policy: try BillingCyclePolicy(period: .daily))
            _ = try await repository.pool.send(RedisCommand("SCRIPT", "FLUSH"))
            let total = 3000
            await withTaskGroup(of: Void.self) { group in
                for lane in 0..<32 {
                    group.addTask {
                        for index in stride(from: lane, to: total, by: 32) {
                            let e = event(index, users: 10)
                            await handler.onLLMEnd(response: LLMResponse(usage: e.usage), context: LLMCallContext(runID: e.callID, user: e.user))
                        }
                    }
                }
            }
            #expect(handler.statistics.queued == total)
            let deadline = ContinuousClock.now + .seconds(20)
            while metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")]) < Int64(total),
                ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "failed")]) == 0)
            #expect(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")]) == Int64(total))
            try await expectTotals(repository, events: total, users: 10)
            await recorder.shutdown()
        }
    }

    @Test("a paused Redis: pipelined records are spooled within their bound and replayed, none lost")
    func pausedWithSpool() async throws {
        try await withRedisServer { server async throws in
            let pool = RedisConnectionPool(configuration: server.configuration)
            let repository = try TokenRepository(pool: pool, configuration: try LedgerConfiguration(namespace: "pp"))
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let spool = try EventSpool(directory: directory)
            let recorder = UsageRecorder(
                repository: repository, spool: spool,
                options: .init(recordTimeout: .milliseconds(300), maximumBackoff: .milliseconds(300), pipeline: .init()))
            _ = try await repository.settings()
            server.signal(SIGSTOP)
            let clock = ContinuousClock()
            var worst = Duration.zero
            var spooled = 0
            for index in 0..<40 {
                let e = event(index, users: 4)
                let start = clock.now
                if case .spooled = await recorder.record(user: e.user, callID: e.callID, usage: e.usage) { spooled += 1 }
                worst = max(worst, clock.now - start)
            }
            server.signal(SIGCONT)
            #expect(spooled == 40)
            // A lone record takes a pooled connection; one that timed out still counts as in flight
            // until Redis answers, so the records after it go to the pipeline instead of pinning a
            // pooled connection each (which would exhaust the pool that quota checks need).
            #expect(pool.statistics.peakOpen <= 4, "\(pool.statistics)")  // 8 (all) when each pinned one
            // The bound is 300 ms (150 ms queued + 150 ms on the socket); the margin is for a loaded
            // 2-core CI machine. Without the bound a call would wait for the whole pause.
            #expect(worst < .seconds(2), "worst \(worst)")
            let deadline = ContinuousClock.now + .seconds(20)
            while spool.status().events > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            try await expectTotals(repository, events: 40, users: 4)
            await recorder.shutdown()
            await pool.close()
        }
    }
}
