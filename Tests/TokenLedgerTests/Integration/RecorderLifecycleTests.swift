import Foundation
import Logging
import MetricsTestKit
import RedisClient
import RedisTestSupport
import ServiceLifecycle
import Testing
import TokenLedger

private let quiet = Logger(label: "tokenledger.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs `recorder` in a `ServiceGroup`, runs `body`, triggers a graceful shutdown and returns once
/// the group's run (and so the recorder's) has returned.
private func withServiceGroup(running recorder: UsageRecorder, _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(services: [recorder], logger: quiet)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        // A shutdown triggered before the group started would make its run() throw instead.
        #expect(await waitUntil { recorder.isRunning }, "the service group never started the recorder")
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        // Returns only when run() has returned: a recorder whose run never ends hangs the test here.
        try await tasks.waitForAll()
    }
}

/// A pool on `server` whose connects and commands give up after 300 ms (Redis is taken down in
/// these tests), a repository in `namespace`, and a fresh spool directory's path.
private func shortTimeoutSetup(
    _ server: RedisTestServer, namespace: String
) throws -> (RedisConnectionPool, TokenRepository, String) {
    var configuration = server.configuration
    configuration.connectTimeout = .milliseconds(300)
    configuration.commandTimeout = .milliseconds(300)
    let pool = RedisConnectionPool(configuration: configuration)
    let repository = try TokenRepository(pool: pool, configuration: try LedgerConfiguration(namespace: namespace))
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
    return (pool, repository, directory)
}

@Suite("The recorder's lifecycle", .serialized)
struct RecorderLifecycleTests {
    @Test("a graceful shutdown with Redis down: run() returns and the spooled event stays on disk for the next process")
    func shutdownWithRedisDown() async throws {
        try await withRedisServer { server async throws in
            let (pool, repository, directory) = try shortTimeoutSetup(server, namespace: "life-down")
            let ledger = repository.configuration
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let recorder = UsageRecorder(
                repository: repository, spool: try EventSpool(directory: directory),
                options: .init(recordTimeout: .milliseconds(500), maximumBackoff: .milliseconds(200)), logger: quiet)
            server.crash()
            try await withServiceGroup(running: recorder) {
                let outcome = await recorder.record(
                    user: "u-down", callID: "c-down", usage: UsageRecord(inputTokens: 7, outputTokens: 3),
                    at: testInstant)
                guard case .spooled = outcome else {
                    Issue.record("with Redis down the event should be spooled: \(outcome)")
                    return
                }
            }
            // run() returned (above); the event is still on disk, and the spool is unlocked.
            let next = try EventSpool(directory: directory)
            #expect(next.status().events == 1)
            try await server.restart()
            let later = UsageRecorder(
                repository: try TokenRepository(pool: pool, configuration: ledger), spool: next,
                options: .init(replaysInBackground: false), logger: quiet)
            let replay = try await later.flush()
            #expect(replay.applied == 1)
            await later.shutdown()
            let usage = try await repository.usage(user: "u-down", at: testInstant)
            #expect(usage.inputTokens == 7 && usage.outputTokens == 3 && usage.calls == 1)
            await pool.close()
        }
    }

    @Test("a graceful shutdown replays the spool once Redis is back, and run() returns")
    func shutdownReplaysSpool() async throws {
        try await withRedisServer { server async throws in
            let (pool, repository, directory) = try shortTimeoutSetup(server, namespace: "life-up")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let spool = try EventSpool(directory: directory)
            // The flusher backs off for up to a day: only the shutdown's last replay can empty the spool.
            let recorder = UsageRecorder(
                repository: repository, spool: spool,
                options: .init(
                    recordTimeout: .milliseconds(500), minimumBackoff: .seconds(86_400),
                    maximumBackoff: .seconds(86_400)),
                logger: quiet)
            server.crash()
            try await withServiceGroup(running: recorder) {
                for index in 0..<3 {
                    let outcome = await recorder.record(
                        user: "u-up", callID: "c-\(index)", usage: UsageRecord(inputTokens: 10, outputTokens: 1),
                        at: testInstant)
                    guard case .spooled = outcome else {
                        Issue.record("with Redis down the event should be spooled: \(outcome)")
                        return
                    }
                }
                try await server.restart()
            }
            #expect(spool.status().events == 0, "the shutdown should have replayed the spool")
            let usage = try await repository.usage(user: "u-up", at: testInstant)
            #expect(usage.inputTokens == 30 && usage.calls == 3)
            await pool.close()
        }
    }

    @Test(
        "fire-and-forget records queued in the pipeline when the shutdown comes are all recorded before run() returns")
    func shutdownSendsQueuedRecords() async throws {
        try await withRepository { repository async throws in
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, options: .init(pipeline: .init(connections: 1)),
                metrics: LedgerMetrics(factory: metrics), logger: quiet)
            // The pipeline's path needs the settings and the prices cached, and the new namespace's
            // schema version recorded (a writer's first check goes through the pool).
            _ = try await repository.settings()
            _ = try await repository.priceTable()
            try await repository.ensureWritableSchema()
            let total = 500
            try await withServiceGroup(running: recorder) {
                for index in 0..<total {
                    await recorder.recordInBackground(
                        user: "u-\(index % 5)", callID: "bg-\(index)",
                        usage: UsageRecord(inputTokens: 2, outputTokens: 1),
                        at: testInstant)
                }
            }
            // No wait: run() returned only after the lanes had sent everything queued.
            #expect(
                metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "applied")])
                    == Int64(total))
            var calls = 0
            for user in 0..<5 { calls += try await repository.usage(user: "u-\(user)", at: testInstant).calls }
            #expect(calls == total)
            #expect(
                metrics.timers.contains { $0.label == "tokenledger_redis_round_trip_seconds" && !$0.values.isEmpty })
        }
    }

    @Test("shutdown() stops a running recorder: run() returns, and a second run() returns at once")
    func shutdownStopsRun() async throws {
        try await withRepository { repository async throws in
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, metrics: LedgerMetrics(factory: metrics), logger: quiet)
            let outcome = await recorder.withRunning {
                await recorder.record(
                    user: "u-run", callID: "c-run", usage: UsageRecord(inputTokens: 1, outputTokens: 1), at: testInstant
                )
            }
            guard case .applied = outcome else {
                Issue.record("expected applied: \(outcome)")
                return
            }
            #expect(try metrics.expectTimer("tokenledger_record_seconds").values.count == 1)
            try await recorder.run()  // returns: a recorder runs once
        }
    }
}
