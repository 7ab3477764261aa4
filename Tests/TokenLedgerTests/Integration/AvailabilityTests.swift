import Foundation
import Logging
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

#if canImport(Glibc)
    import Glibc
#endif

// docs/operations.md promises: "Unavailable" means a transport failure or one of Redis's
// availability replies (LOADING, BUSY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN, READONLY); the quota
// guard then fails closed or open (counted), and the recorder spools instead of losing the event.
// Each reply below comes from a real redis-server put into that state.

/// Polls `condition` (every 20 ms) until it holds or `seconds` pass; returns whether it held.
private func availabilityEventually(seconds: Int = 90, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// The error code `command` gets from the server now (`nil`: it succeeded), on a fresh connection.
private func replyCode(_ configuration: RedisConfiguration, _ command: RedisCommand = RedisCommand("HGETALL", "probe"))
    async -> String?
{
    switch await reply(configuration, command) {
    case .success: return nil
    case .failure(let error): return error.serverCode ?? error.code.name
    }
}

/// The server's reply to `command`, on a fresh connection that is closed afterwards.
private func reply(_ configuration: RedisConfiguration, _ command: RedisCommand) async -> Result<RedisReply, RedisError>
{
    let connection: RedisConnection
    do {
        connection = try await RedisConnection.connect(configuration: configuration)
    } catch {
        return .failure(error as? RedisError ?? RedisError(code: .protocolError, message: "\(error)"))
    }
    let result: Result<RedisReply, RedisError>
    do {
        result = .success(try await connection.send(command))
    } catch {
        result = .failure(error as? RedisError ?? RedisError(code: .protocolError, message: "\(error)"))
    }
    await connection.close()
    return result
}

/// A configuration with timeouts long enough for a loaded machine and a server that is busy loading.
private func patient(_ configuration: RedisConfiguration) -> RedisConfiguration {
    var configuration = configuration
    configuration.connectTimeout = .seconds(20)
    configuration.commandTimeout = .seconds(20)
    return configuration
}

/// A logger that drops everything (the guard's warnings are asserted through metrics here).
private let quiet = Logger(label: "availability-tests") { _ in SwiftLogNoOpLogHandler() }

/// What a server answering `code` did to the guard and the recorder; the caller makes the server
/// available again and then calls ``replay()``.
private struct UnavailableRun {
    let recorder: UsageRecorder
    let repository: TokenRepository
    let spool: EventSpool
    let directory: String
    let metrics: TestMetrics

    /// Replays the spool into the now available server and checks that both spooled events landed once.
    func replay(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let result = try await recorder.flush()
        #expect(result.applied == 2 && result.remaining == 0, "\(result)", sourceLocation: sourceLocation)
        #expect(spool.status().events == 0, sourceLocation: sourceLocation)
        let usage = try await repository.usage(user: "spooled", cycle: date("2026-01-01"))
        #expect(usage.totalTokens == 10 && usage.calls == 1, sourceLocation: sourceLocation)
        await recorder.shutdown()
        await repository.pool.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs the promises against a server that answers `code` to a write: the error keeps the code and
/// counts as unavailable; the recorder spools (a server error, not a timeout: the bound is long);
/// fail-closed refuses the call without running it, fail-open runs it and spools its usage; every
/// decision is counted.
private func expectUnavailable(
    _ code: String, configuration: RedisConfiguration, sourceLocation: SourceLocation = #_sourceLocation
) async throws -> UnavailableRun {
    let pool = RedisConnectionPool(
        configuration: patient(configuration), options: .init(maximumConnections: 4, waitTimeout: .seconds(30)))
    let repository = try TokenRepository(
        pool: pool, configuration: try LedgerConfiguration(namespace: uniqueNamespace("avail"), settingsCacheTTL: .zero)
    )

    await #expect(sourceLocation: sourceLocation) {
        _ = try await repository.record(
            user: "direct", callID: "d1", usage: UsageRecord(inputTokens: 1, outputTokens: 1), cycle: date("2026-01-01")
        )
    } throws: { error in
        guard let error = error as? RedisError else { return false }
        return error.serverCode == code && QuotaGuard.meansUnavailable(error)
    }

    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-avail-\(UUID().uuidString)")
        .path
    let spool = try EventSpool(directory: directory)
    let metrics = TestMetrics()
    let recorder = UsageRecorder(
        repository: repository, spool: spool, options: .init(recordTimeout: .seconds(60), replaysInBackground: false),
        metrics: LedgerMetrics(factory: metrics), logger: quiet)
    let outcome = await recorder.record(
        user: "spooled", callID: "s1", usage: UsageRecord(inputTokens: 7, outputTokens: 3), cycle: date("2026-01-01"))
    guard case .spooled = outcome else {
        Issue.record("a \(code) reply should spool the event, got \(outcome)", sourceLocation: sourceLocation)
        return UnavailableRun(
            recorder: recorder, repository: repository, spool: spool, directory: directory, metrics: metrics)
    }
    #expect(spool.status().events == 1, sourceLocation: sourceLocation)
    #expect(
        metrics.counterTotal(label: "tokenledger_redis_errors_total", dimensions: [("code", "server")]) == 1,
        "the event was spooled because of the \(code) reply, not a timeout", sourceLocation: sourceLocation)

    let messages = [ChatMessage(role: "user", content: "hello")]
    let ran = Locked(0)
    let closed = QuotaGuard(recorder: recorder, counting: .heuristic, whenUnavailable: .failClosed, logger: quiet)
    await #expect(sourceLocation: sourceLocation) {
        _ = try await closed.run(
            context: LLMCallContext(runID: "closed-1", user: "guarded"), messages: messages, maxOutputTokens: 10
        ) {
            ran.withLock { $0 += 1 }
            return ("ran", UsageRecord(inputTokens: 1, outputTokens: 1))
        }
    } throws: { error in
        guard let error = error as? QuotaUnavailableError, let underlying = error.underlying as? RedisError else {
            return false
        }
        return underlying.serverCode == code
    }
    #expect(ran.withLock { $0 } == 0, "fail-closed must not call the model", sourceLocation: sourceLocation)

    let open = QuotaGuard(recorder: recorder, counting: .heuristic, whenUnavailable: .failOpen, logger: quiet)
    let answer = try await open.run(
        context: LLMCallContext(runID: "open-1", user: "guarded"), messages: messages, maxOutputTokens: 10
    ) {
        ran.withLock { $0 += 1 }
        return ("ran", UsageRecord(inputTokens: 2, outputTokens: 2))
    }
    #expect(answer == "ran" && ran.withLock { $0 } == 1, sourceLocation: sourceLocation)
    #expect(spool.status().events == 2, "the fail-open call's usage is spooled", sourceLocation: sourceLocation)
    #expect(
        metrics.counterTotal(label: "tokenledger_quota_decisions_total", dimensions: [("decision", "fail_closed")])
            == 1,
        sourceLocation: sourceLocation)
    #expect(
        metrics.counterTotal(label: "tokenledger_quota_decisions_total", dimensions: [("decision", "fail_open")]) == 1,
        sourceLocation: sourceLocation)
    #expect(
        metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "spooled")]) == 2,
        sourceLocation: sourceLocation)
    return UnavailableRun(
        recorder: recorder, repository: repository, spool: spool, directory: directory, metrics: metrics)
}

@Suite("Availability replies count as Redis unavailable", .serialized)
struct AvailabilityTests {
    @Test("every availability reply is unavailable; permission, type and script errors are not")
    func classification() {
        for reply in [
            "LOADING Redis is loading the dataset in memory",
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            "TRYAGAIN Multiple keys request during rehashing of slot",
            "CLUSTERDOWN The cluster is down",
            "READONLY You can't write against a read only replica.",
        ] {
            #expect(QuotaGuard.meansUnavailable(RedisError(serverReply: reply)), "\(reply)")
        }
        for reply in [
            "NOPERM this user has no permissions to run the 'hset' command",
            "WRONGTYPE Operation against a key holding the wrong kind of value",
            "ERR user_script:1: Script attempted to access nonexistent global variable",
            "OVERFLOW the cycle total would pass 2^53 - 1 tokens",
        ] {
            #expect(!QuotaGuard.meansUnavailable(RedisError(serverReply: reply)), "\(reply)")
        }
        for code in [RedisError.Code.connectionRefused, .timeout, .connectionClosed, .poolTimeout] {
            #expect(QuotaGuard.meansUnavailable(RedisError(code: code, message: "down")), "\(code)")
        }
    }

    @Test(
        "BUSY (a script past busy-reply-threshold): guard fails closed/open, the recorder spools; after SCRIPT KILL the spool replays"
    )
    func busy() async throws {
        var options = RedisTestServer.Options()
        options.extraArguments = ["--busy-reply-threshold", "50"]
        try await withRedisServer(options) { server async throws in
            let configuration = patient(server.configuration)
            var blocking = configuration
            blocking.commandTimeout = .seconds(600)
            let runner = try await RedisConnection.connect(configuration: blocking)
            let endless = Task { try? await runner.send(RedisCommand("EVAL", "while true do end", 0)) }
            #expect(
                await availabilityEventually { await replyCode(configuration) == "BUSY" },
                "the server never became BUSY")

            let run = try await expectUnavailable("BUSY", configuration: configuration)

            let killer = try await RedisConnection.connect(configuration: configuration)
            _ = try await killer.send(RedisCommand("SCRIPT", "KILL"))
            await killer.close()
            _ = await endless.value
            await runner.close()
            #expect(await availabilityEventually { await replyCode(configuration) == nil })
            try await run.replay()
        }
    }

    @Test("READONLY (a replica): guard fails closed/open, the recorder spools; once promoted the spool replays")
    func readOnlyReplica() async throws {
        try await withRedisServer { master async throws in
            var options = RedisTestServer.Options()
            options.extraArguments = ["--replicaof", "127.0.0.1", String(master.port)]
            try await withRedisServer(options) { replica async throws in
                let configuration = patient(replica.configuration)
                // Wait for the first sync, or a read could answer LOADING while the replica loads it.
                #expect(
                    await availabilityEventually {
                        let info = try? await reply(configuration, RedisCommand("INFO", "replication")).get()
                        return info?.string?.contains("master_link_status:up") == true
                    }, "the replica never synced")
                #expect(await replyCode(configuration, RedisCommand("SET", "probe", "1")) == "READONLY")

                let run = try await expectUnavailable("READONLY", configuration: configuration)

                let admin = try await RedisConnection.connect(configuration: configuration)
                _ = try await admin.send(RedisCommand("REPLICAOF", "NO", "ONE"))
                await admin.close()
                #expect(
                    await availabilityEventually {
                        await replyCode(configuration, RedisCommand("SET", "probe", "1")) == nil
                    })
                try await run.replay()
            }
        }
    }

    @Test(
        "MASTERDOWN (a replica whose master is gone, replica-serve-stale-data no): guard and recorder treat it as unavailable"
    )
    func masterDown() async throws {
        var options = RedisTestServer.Options()
        options.extraArguments = [
            "--replicaof", "127.0.0.1", String(try closedPort()), "--replica-serve-stale-data", "no",
        ]
        try await withRedisServer(options) { replica async throws in
            let configuration = patient(replica.configuration)
            #expect(await availabilityEventually { await replyCode(configuration) == "MASTERDOWN" })

            let run = try await expectUnavailable("MASTERDOWN", configuration: configuration)

            let admin = try await RedisConnection.connect(configuration: configuration)
            _ = try await admin.send(RedisCommand("REPLICAOF", "NO", "ONE"))
            await admin.close()
            #expect(await availabilityEventually { await replyCode(configuration) == nil })
            try await run.replay()
        }
    }

    @Test(
        "LOADING (a restart loading a large dataset slowly): guard and recorder treat it as unavailable; the spool replays after"
    )
    func loading() async throws {
        var options = RedisTestServer.Options()
        // 20 ms per key while loading, and the server answers clients between keys (every 1 KiB).
        options.extraArguments = ["--key-load-delay", "20000", "--loading-process-events-interval-bytes", "1024"]
        try await withRedisServer(options) { server async throws in
            let configuration = patient(server.configuration)
            let filler = try await RedisConnection.connect(configuration: configuration)
            // 5,000 keys of 2 KB: loading them takes at least 100 s, far longer than the checks.
            _ = try await filler.send(
                RedisCommand(
                    "EVAL", "for i = 1, 5000 do redis.call('SET', 'filler:' .. i, string.rep('x', 2000)) end return 1",
                    0))
            _ = try await filler.send(RedisCommand("SAVE"))
            await filler.close()
            try await server.restart()
            #expect(
                await availabilityEventually { await replyCode(configuration) == "LOADING" },
                "the restart did not answer LOADING")

            let run = try await expectUnavailable("LOADING", configuration: configuration)

            // Finish the load quickly, then replay.
            #expect(await replyCode(configuration, RedisCommand("CONFIG", "SET", "key-load-delay", "0")) == nil)
            #expect(await availabilityEventually { await replyCode(configuration) == nil }, "the load did not finish")
            try await run.replay()
        }
    }
}
