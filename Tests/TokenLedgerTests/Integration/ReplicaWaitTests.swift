import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

#if canImport(Glibc)
    import Glibc
#endif

/// A primary and one replica of it, both real `redis-server` processes.
private func withPrimaryAndReplica<T>(_ body: (RedisTestServer, RedisTestServer) async throws -> T) async throws -> T {
    try await withRedisServer { primary async throws in
        var options = RedisTestServer.Options()
        options.extraArguments = ["--replicaof", "127.0.0.1", "\(primary.port)"]
        let replica = try await RedisTestServer.start(options)
        do {
            let pool = RedisConnectionPool(configuration: primary.configuration)
            let online = await waitUntil { (try? await replicaOnline(pool)) == true }
            await pool.close()
            guard online else { throw RedisTestServerError(message: "the replica never came online") }
            let value = try await body(primary, replica)
            replica.signal(SIGCONT)
            await replica.stop()
            return value
        } catch {
            replica.signal(SIGCONT)
            await replica.stop()
            throw error
        }
    }
}

/// Resumes a stopped replica and waits until it acknowledged everything the primary wrote, so a
/// WAIT with a short timeout succeeds however loaded the machine is.
private func resume(_ replica: RedisTestServer, of primary: RedisTestServer) async throws {
    replica.signal(SIGCONT)
    let pool = RedisConnectionPool(configuration: primary.configuration)
    let caughtUp = await waitUntil {
        // A write, then WAIT on the same connection: it returns 1 once the replica has acknowledged
        // everything up to that write (so every earlier one too).
        let acknowledged = try? await pool.withConnection { connection in
            _ = try await connection.send(RedisCommand("INCR", "wait-test:resume"))
            return try await connection.send(WAIT(RedisReplicaWait(replicas: 1, timeout: .seconds(5))))
        }
        return acknowledged == 1
    }
    await pool.close()
    #expect(caughtUp, "the replica did not catch up")
}

/// Whether the primary sees one replica online (`INFO replication`).
private func replicaOnline(_ pool: RedisConnectionPool) async throws -> Bool {
    let info = try await pool.send(RedisCommand("INFO", "replication")).string ?? ""
    return info.contains("connected_slaves:1") && info.contains("state=online")
}

private func temporarySpool() throws -> (EventSpool, String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wait-spool-\(UUID().uuidString)")
        .path
    return (try EventSpool(directory: directory), directory)
}

private let usage = UsageRecord(inputTokens: 7, outputTokens: 3)

@Suite("WAIT durability: writes not acknowledged by enough replicas are spooled too")
struct ReplicaWaitTests {
    /// A repository on the primary whose records wait for one replica for at most `timeout`: 300 ms
    /// where the replica is stopped (each unacknowledged write waits that long), much longer where
    /// the test needs the acknowledgement (a running replica on a loaded machine can take more
    /// than 300 ms to acknowledge).
    private func repository(
        _ primary: RedisTestServer, wait: Bool = true, namespace: String = uniqueNamespace("wait"),
        timeout: Duration = .milliseconds(300)
    ) throws -> TokenRepository {
        try TokenRepository(
            pool: RedisConnectionPool(configuration: primary.configuration),
            configuration: try LedgerConfiguration(
                namespace: namespace, replicaWait: wait ? RedisReplicaWait(replicas: 1, timeout: timeout) : nil))
    }

    @Test("replica up: WAIT 1 acknowledges, nothing spooled; replica stopped: applied AND spooled; back: replayed once")
    func spooledUntilReplicated() async throws {
        try await withPrimaryAndReplica { primary, replica async throws in
            let namespace = uniqueNamespace("wait")
            let repository = try repository(primary, namespace: namespace)
            let patient = try self.repository(primary, namespace: namespace, timeout: .seconds(60))
            let (spool, directory) = try temporarySpool()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let metrics = TestMetrics()
            let patientRecorders = [true, false].map { lone in
                UsageRecorder(
                    repository: patient, spool: spool,
                    options: .init(
                        recordTimeout: .seconds(90), replaysInBackground: false, pipeline: .init(connections: 2),
                        loneCallerUsesPool: lone),
                    metrics: LedgerMetrics(factory: metrics))
            }
            let recorder = UsageRecorder(
                repository: repository, spool: spool,
                options: .init(
                    recordTimeout: .seconds(30), replaysInBackground: false, pipeline: .init(connections: 2),
                    loneCallerUsesPool: true),
                metrics: LedgerMetrics(factory: metrics))
            let piped = UsageRecorder(
                repository: repository, spool: spool,
                options: .init(
                    recordTimeout: .seconds(30), replaysInBackground: false, pipeline: .init(connections: 2),
                    loneCallerUsesPool: false),
                metrics: LedgerMetrics(factory: metrics))

            // Replica up: acknowledged; nothing spooled (pool path, then pipelined path).
            for (index, recorder) in patientRecorders.enumerated() {
                guard case .applied(let result) = await recorder.record(user: "u", callID: "up-\(index)", usage: usage)
                else {
                    Issue.record("not applied with the replica up")
                    continue
                }
                #expect(!result.unreplicated)
            }
            #expect(spool.status().events == 0)
            #expect(metrics.counterValue("tokenledger_records_unreplicated_total") == 0)

            // Replica stopped: still applied, flagged, and spooled (pool path, then pipelined path).
            replica.signal(SIGSTOP)
            var outcomes: [RecordOutcome] = []
            for index in 0..<3 {
                outcomes.append(await recorder.record(user: "u", callID: "pool-\(index)", usage: usage))
            }
            try await withThrowingTaskGroup(of: RecordOutcome.self) { group in
                for index in 0..<3 {
                    group.addTask { await piped.record(user: "u", callID: "pipe-\(index)", usage: usage) }
                }
                for try await outcome in group { outcomes.append(outcome) }
            }
            for outcome in outcomes {
                guard case .applied(let result) = outcome else {
                    Issue.record("expected applied, got \(outcome)")
                    continue
                }
                #expect(result.unreplicated)
            }
            #expect(spool.status().events == 6)
            #expect(metrics.counterValue("tokenledger_records_unreplicated_total") == 6)
            let applied = try await repository.usage(user: "u")
            #expect(applied.calls == 8 && applied.totalTokens == 80)

            // Still unacknowledged: a flush leaves them in the spool, also from another process
            // (a fresh connection that wrote nothing before its replays, which are duplicates).
            await #expect(throws: LedgerError.self) { try await recorder.flush() }
            #expect(spool.status().events == 6)
            let freshPool = RedisConnectionPool(configuration: primary.configuration)
            let fresh = UsageRecorder(
                repository: try TokenRepository(pool: freshPool, configuration: repository.configuration), spool: spool,
                options: .init(replaysInBackground: false))
            await #expect(throws: LedgerError.self) { try await fresh.flush() }
            #expect(spool.status().events == 6)
            await fresh.shutdown()
            await freshPool.close()

            // Replica back: the flush replays them as duplicates (counted once) and empties the spool.
            try await resume(replica, of: primary)
            let replayed = try await recorder.flush()
            #expect(replayed.duplicates == 6 && replayed.applied == 0)
            #expect(spool.status().events == 0)
            let after = try await repository.usage(user: "u")
            #expect(after.calls == 8 && after.totalTokens == 80)
            await recorder.shutdown()
            await piped.shutdown()
            for patientRecorder in patientRecorders { await patientRecorder.shutdown() }
            await repository.pool.close()
            await patient.pool.close()
        }
    }

    @Test("fire-and-forget records with the replica stopped are applied and spooled too")
    func background() async throws {
        try await withPrimaryAndReplica { primary, replica async throws in
            let repository = try repository(primary)
            let (spool, directory) = try temporarySpool()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let metrics = TestMetrics()
            let recorder = UsageRecorder(
                repository: repository, spool: spool,
                options: .init(recordTimeout: .seconds(30), replaysInBackground: false, pipeline: .init()),
                metrics: LedgerMetrics(factory: metrics))
            await recorder.withRunning {
                // Settings loaded and schema checked, so background records take the pipeline
                // (read, not written: a write's acknowledgement can take more than 300 ms on a
                // loaded machine).
                _ = try? await repository.settings()
                try? await repository.ensureWritableSchema()
                replica.signal(SIGSTOP)
                for index in 0..<5 {
                    await recorder.recordInBackground(user: "b", callID: "bg-\(index)", usage: usage)
                }
                #expect(await waitUntil { spool.status().events == 5 })
            }
            #expect(metrics.counterValue("tokenledger_records_unreplicated_total") == 5)
            #expect(metrics.counterValue("tokenledger_records_total", [("result", "applied")]) == 5)
            let counted = try await repository.usage(user: "b")
            #expect(counted.calls == 5)
            try await resume(replica, of: primary)
            let replayed = try await recorder.flush()
            #expect(replayed.duplicates == 5 && spool.status().events == 0)
            await repository.pool.close()
        }
    }

    @Test("without a spool the caller gets a clear not_replicated error; the write applied and is safe to retry")
    func withoutSpool() async throws {
        try await withPrimaryAndReplica { primary, replica async throws in
            let repository = try repository(primary)
            replica.signal(SIGSTOP)
            let error = await #expect(throws: LedgerError.self) {
                try await repository.record(user: "n", callID: "c", usage: usage)
            }
            #expect(error?.code == .notReplicated)
            #expect(ErrorCategory.of(error!) == .unavailable)
            #expect(error?.message.contains("acknowledged by 0 of the 1 replicas asked for within 300 ms") == true)
            #expect(error?.message.contains("safe") == true)
            #expect(try await repository.usage(user: "n").calls == 1, "applied")

            let recorder = UsageRecorder(repository: repository)
            let outcome = await recorder.record(user: "n", callID: "d", usage: usage)
            guard case .failed(let failure as LedgerError) = outcome else {
                Issue.record("expected failed(not_replicated), got \(outcome)")
                return
            }
            #expect(failure.code == .notReplicated && !outcome.isDurable)
            await recorder.shutdown()

            // Replica back: the retry with the same call id is a duplicate, acknowledged.
            try await resume(replica, of: primary)
            let retried = try await repository.record(user: "n", callID: "c", usage: usage)
            #expect(!retried.applied && retried.totalTokens == 20)
            await repository.pool.close()
        }
    }

    @Test("the documented least-privilege application user may send WAIT")
    func applicationUserMayWait() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers()
        try await withRedisServer(options) { server async throws in
            var configuration = server.configuration
            configuration.username = "tokenledger-app"
            configuration.password = "app-secret"
            let pool = RedisConnectionPool(configuration: configuration)
            #expect(try await pool.send(WAIT(RedisReplicaWait(replicas: 0, timeout: .milliseconds(10)))) == 0)
            await pool.close()
        }
    }

    @Test("the pipeline client ends a batch with one WAIT and hands every waiting group the count")
    func pipelineBatchWait() async throws {
        try await withPrimaryAndReplica { primary, replica async throws in
            let metrics = TestMetrics()
            let pipeline = RedisPipelineClient(
                configuration: primary.configuration, options: .init(connections: 1), metrics: metrics)
            let pool = RedisConnectionPool(configuration: primary.configuration)
            let key = uniqueNamespace("wait") + ":n"
            let wait = RedisReplicaWait(replicas: 1, timeout: .seconds(5))
            let waitsBefore = try await commandCalls("wait", pool)
            let acknowledged = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        try await pipeline.send([RedisCommand("INCR", key)], deadline: .now + .seconds(60), wait: wait)
                            .acknowledgedReplicas
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(acknowledged == Array(repeating: 1, count: 64))
            #expect(try await pool.send(RedisCommand("GET", key)).string == "64")
            // One WAIT per batch, not per group.
            #expect(try await commandCalls("wait", pool) - waitsBefore == metrics.pipelineBatches)

            // A group whose command failed counts as not acknowledged; the others in its batch do not.
            _ = try await pool.send(RedisCommand("SET", key + ":text", "not a number"))
            let failed = try await pipeline.send(
                [RedisCommand("INCR", key + ":text")], deadline: .now + .seconds(60), wait: wait)
            #expect(failed.acknowledgedReplicas == 0 && failed.replies.count == 1)

            // No replica answering: 0 acknowledged within the timeout; a group without a wait unchanged.
            replica.signal(SIGSTOP)
            let short = RedisReplicaWait(replicas: 1, timeout: .milliseconds(200))
            let unacknowledged = try await pipeline.send(
                [RedisCommand("INCR", key)], deadline: .now + .seconds(60), wait: short)
            #expect(unacknowledged.acknowledgedReplicas == 0 && unacknowledged.replies.first?.int == 65)
            let plain = try await pipeline.send([RedisCommand("INCR", key)], deadline: .now + .seconds(60))
            #expect(plain.count == 1 && plain.first?.int == 66)
            replica.signal(SIGCONT)
            pipeline.shutdown()
            await pipeline.waitUntilStopped()
            await pool.close()
        }
    }
}

/// How many times the server ran a command (`INFO commandstats`).
private func commandCalls(_ name: String, _ pool: RedisConnectionPool) async throws -> Int {
    let info = try await pool.send(RedisCommand("INFO", "commandstats")).string ?? ""
    for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_\(name):") {
        return line.split(separator: ",").first?.split(separator: "=").last.flatMap { Int($0) } ?? 0
    }
    return 0
}
