import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

#if canImport(Glibc)
    import Glibc
#endif

private func temporarySpoolDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
}

/// The deterministic workload event `index` (same rule as `TokenLedgerBenchmark loadgen`).
private func loadEvent(_ index: Int, users: Int) -> (user: String, callID: String, usage: UsageRecord) {
    ("load-\(index % users)", "load-\(index)", UsageRecord(inputTokens: index % 97 + 1, outputTokens: index % 31))
}

/// Checks every user's totals in the cycle of `testInstant`, or (`since`) over the cycles from that
/// instant to now, for records made now (by handlers, which take no instant).
private func expectExactTotals(_ repository: TokenRepository, events: Int, users: Int, since start: Date? = nil)
    async throws
{
    var expected: [String: (Int, Int, Int)] = [:]
    for index in 0..<events {
        let event = loadEvent(index, users: users)
        let old = expected[event.user] ?? (0, 0, 0)
        expected[event.user] = (old.0 + event.usage.inputTokens, old.1 + event.usage.outputTokens, old.2 + 1)
    }
    for (user, totals) in expected.sorted(by: { $0.key < $1.key }) {
        let usage: UsageTotals
        if let start {
            usage = try await usageSince(start, user: user, in: repository)
        } else {
            let read = try await repository.usage(user: user, at: testInstant)
            usage = UsageTotals(inputTokens: read.inputTokens, outputTokens: read.outputTokens, calls: read.calls)
        }
        #expect(
            usage.inputTokens == totals.0 && usage.outputTokens == totals.1 && usage.calls == totals.2,
            "\(user): \(usage.inputTokens)/\(totals.0) in, \(usage.calls)/\(totals.2) calls")
    }
}

/// Waits until the spool is empty (the recorder's flusher replays it), up to a generous bound.
private func waitForDrain(_ spool: EventSpool, recorder: UsageRecorder) async throws {
    _ = await waitUntil(timeout: .seconds(120), interval: .milliseconds(50)) { spool.status().events == 0 }
    _ = try await recorder.flush()
    #expect(spool.status().events == 0, "the spool did not drain")
}

@Suite("Never lose a record", .serialized)
struct DurabilityTests {
    @Test(
        "Redis (AOF, appendfsync always) SIGKILLed in the middle of 20,000 records from 64 callers, back 2 s later: totals exact"
    )
    func redisKilledMidRun() async throws {
        var options = RedisTestServer.Options()
        options.appendOnly = true
        options.appendFsync = "always"
        try await withRedisServer(options) { server async throws in
            var configuration = server.configuration
            configuration.connectTimeout = .milliseconds(300)
            configuration.commandTimeout = .seconds(1)
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 16, waitTimeout: .seconds(2)))
            let repository = try TokenRepository(pool: pool, configuration: try LedgerConfiguration(namespace: "chaos"))
            let directory = temporarySpoolDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let spool = try EventSpool(directory: directory)
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, spool: spool,
                options: .init(recordTimeout: .milliseconds(500), maximumBackoff: .milliseconds(500)),
                metrics: LedgerMetrics(factory: metrics))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            let total = 20_000
            let users = 50
            let next = Locked(0)
            let lost = Locked(0)
            let killer = Task {
                // Progress, not a deadline: on a loaded machine half the run can take minutes.
                #expect(await waitUntil(timeout: .seconds(900)) { next.withLock { $0 } >= total / 2 })
                server.crash()
                // Down for 2 s: the outage the callers ride out (not a wait for anything).
                try await Task.sleep(for: .seconds(2))
                try await server.restart()
            }
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        while true {
                            let index = next.withLock { value -> Int in
                                defer { value += 1 }
                                return value
                            }
                            guard index < total else { return }
                            let event = loadEvent(index, users: users)
                            let outcome = await recorder.record(
                                user: event.user, callID: event.callID, usage: event.usage, at: testInstant)
                            if !outcome.isDurable { lost.withLock { $0 += 1 } }
                        }
                    }
                }
            }
            try await killer.value
            #expect(lost.withLock { $0 } == 0)
            try await waitForDrain(spool, recorder: recorder)
            #expect(
                metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "spooled")]) > 0,
                "the kill should have spooled events")
            try await expectExactTotals(repository, events: total, users: users)
            await recorder.shutdown()
            try await recorderRunning
            await pool.close()
        }
    }

    @Test("Redis paused (SIGSTOP): handler calls made during the pause return within their bound, nothing is lost")
    func redisPaused() async throws {
        try await withRedisServer { server async throws in
            var configuration = server.configuration
            configuration.commandTimeout = .seconds(1)
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 8, waitTimeout: .seconds(1)))
            let repository = try TokenRepository(pool: pool, configuration: try LedgerConfiguration(namespace: "pause"))
            let directory = temporarySpoolDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let spool = try EventSpool(directory: directory)
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, spool: spool,
                options: .init(recordTimeout: .milliseconds(200), maximumBackoff: .milliseconds(500)),
                metrics: LedgerMetrics(factory: metrics))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            let handler = DetailedRedisTokenCallbackHandler(recorder: recorder, counting: .heuristic)
            let users = 20
            // Calls run before, during and after the pause; each started and ended while the server
            // was stopped is counted. Without the bound such a call would wait until the server
            // resumed, so none would be counted and the pause would never end (until the backstop).
            enum Phase { case before, paused, resumed }
            let phase = Locked(Phase.before)
            let next = Locked(0)
            let endedDuringPause = Locked(0)
            let minimumEvents = 600
            let start = Date()
            let pauser = Task {
                #expect(await waitUntil { next.withLock { $0 } >= 60 })
                try await server.pause()
                phase.withLock { $0 = .paused }
                let backstop = server.resume(after: .seconds(120))
                #expect(
                    await waitUntil { endedDuringPause.withLock { $0 } >= 30 },
                    "calls made while Redis was stopped did not return (\(endedDuringPause.withLock { $0 }) did)")
                phase.withLock { $0 = .resumed }
                backstop.cancel()
                server.resume()
            }
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<30 {
                    group.addTask {
                        while true {
                            // Past the minimum, lanes keep calling until the pause is over.
                            let index: Int? = next.withLock { value in
                                guard value < minimumEvents || phase.withLock({ $0 }) != .resumed else { return nil }
                                defer { value += 1 }
                                return value
                            }
                            guard let index else { return }
                            let event = loadEvent(index, users: users)
                            let context = LLMCallContext(runID: event.callID, user: event.user)
                            let startedPaused = phase.withLock { $0 } == .paused
                            await handler.onLLMEnd(response: LLMResponse(usage: event.usage), context: context)
                            if startedPaused && phase.withLock({ $0 }) == .paused {
                                endedDuringPause.withLock { $0 += 1 }
                            }
                            // Spread the calls out.
                            try? await Task.sleep(for: .milliseconds(50))
                        }
                    }
                }
            }
            try await pauser.value
            let total = next.withLock { $0 }
            #expect(metrics.handlerCalls("spooled") > 0, "the pause should have spooled events")
            #expect(metrics.handlerCalls("failed") == 0)
            try await waitForDrain(spool, recorder: recorder)
            try await expectExactTotals(repository, events: total, users: users, since: start)
            await recorder.shutdown()
            try await recorderRunning
            await pool.close()
        }
    }

    @Test("1,000 concurrent in-flight calls through one handler with a spool: none lost, totals exact")
    func thousandInFlight() async throws {
        try await withRepository { repository async throws in
            let directory = temporarySpoolDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let spool = try EventSpool(directory: directory)
            let metrics = TestMetrics()
            let recorder = UsageRecorder(repository: repository, spool: spool, metrics: LedgerMetrics(factory: metrics))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            let handler = DetailedRedisTokenCallbackHandler(recorder: recorder, counting: .heuristic)
            let gate = Locked(0)
            let start = Date()
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        let event = loadEvent(index, users: 32)
                        let context = LLMCallContext(runID: event.callID, user: event.user)
                        try? await handler.onLLMStart(
                            messages: [ChatMessage(role: "user", content: "q\(index)")], context: context)
                        // Hold every call open until all 1,000 have started.
                        gate.withLock { $0 += 1 }
                        while gate.withLock({ $0 }) < 1000 { try? await Task.sleep(for: .milliseconds(2)) }
                        await handler.onLLMEnd(response: LLMResponse(usage: event.usage), context: context)
                    }
                }
            }
            #expect(metrics.handlerCalls("recorded") + metrics.handlerCalls("spooled") == 1000)
            #expect(metrics.handlerCalls("failed") == 0)
            #expect(metrics.meterValue("tokenledger_handler_calls_in_flight") == 0)
            // On a loaded machine some calls miss their bound and are spooled: wait until the
            // spool is replayed (a single flush can run while the writer still holds some).
            try await waitForDrain(spool, recorder: recorder)
            try await expectExactTotals(repository, events: 1000, users: 32, since: start)
            await recorder.shutdown()
            try await recorderRunning
        }
    }

    @Test("while Redis is down, fail-open lets calls run and fail-closed refuses them; both are counted")
    func failurePolicies() async throws {
        let pool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(try closedPort())"))
        let repository = try TokenRepository(pool: pool)
        let directory = temporarySpoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let metrics = TestMetrics()
        let recorder = UsageRecorder(
            repository: repository, spool: try EventSpool(directory: directory),
            options: .init(replaysInBackground: false), metrics: LedgerMetrics(factory: metrics))
        let messages = [ChatMessage(role: "user", content: "hello")]

        let open = QuotaGuard(recorder: recorder, counting: .heuristic, whenUnavailable: .failOpen)
        let answer = try await open.run(
            context: LLMCallContext(runID: "o1", user: "u"), messages: messages, maxOutputTokens: 10
        ) {
            ("ran", UsageRecord(inputTokens: 3, outputTokens: 4))
        }
        #expect(answer == "ran")
        #expect(try await open.isAllowed(user: "u", tokens: 5))
        #expect(recorder.spool?.status().events == 1, "the settled usage is spooled, not lost")

        let closed = QuotaGuard(recorder: recorder, counting: .heuristic, whenUnavailable: .failClosed)
        let ran = Locked(false)
        await #expect(throws: QuotaUnavailableError.self) {
            _ = try await closed.run(
                context: LLMCallContext(runID: "c1", user: "u"), messages: messages, maxOutputTokens: 10
            ) {
                ran.withLock { $0 = true }
                return ("ran", UsageRecord(inputTokens: 1, outputTokens: 1))
            }
        }
        #expect(!ran.withLock { $0 })
        await #expect(throws: QuotaUnavailableError.self) { _ = try await closed.isAllowed(user: "u", tokens: 5) }
        #expect(
            metrics.counterTotal(label: "tokenledger_quota_decisions_total", dimensions: [("decision", "fail_open")])
                == 2)
        #expect(
            metrics.counterTotal(label: "tokenledger_quota_decisions_total", dimensions: [("decision", "fail_closed")])
                == 2)
        #expect(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "spooled")]) == 1)
        #expect(
            metrics.counterTotal(label: "tokenledger_redis_errors_total", dimensions: [("code", "connection_refused")])
                >= 1)
        await pool.close()
    }

    @Test("a recorder replays a spool an earlier process left, on start-up; replays count once")
    func startupReplay() async throws {
        try await withRepository { repository async throws in
            let directory = temporarySpoolDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let earlier = try EventSpool(directory: directory)
            let events = (0..<50).map { index in
                let event = loadEvent(index, users: 5)
                return SpooledEvent(
                    operation: .record, user: event.user, callID: event.callID, usage: event.usage, at: testInstant,
                    namespace: repository.keys.namespace)
            }
            try earlier.append(events)
            earlier.close()  // the earlier process is gone
            // Some of them already reached Redis before the process died.
            for event in events.prefix(20) {
                _ = try await repository.record(
                    user: event.user, callID: event.callID, usage: event.usage, at: event.at)
            }
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, spool: try EventSpool(directory: directory),
                metrics: LedgerMetrics(factory: metrics))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            #expect(
                await waitUntil {
                    metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "replayed")]) >= 50
                })
            #expect(
                metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "replayed")]) == 50)
            try await expectExactTotals(repository, events: 50, users: 5)
            await recorder.shutdown()
            try await recorderRunning
        }
    }
}
