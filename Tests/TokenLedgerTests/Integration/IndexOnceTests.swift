import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// Several `TokenRepository` instances, each on its own pool, standing for several processes
/// recording into one namespace of one server.
private struct Processes {
    let pools: [RedisConnectionPool]
    let repositories: [TokenRepository]
    let metrics: TestMetrics

    init(_ server: RedisTestServer, count: Int, namespace: String = uniqueNamespace("idx")) throws {
        let metrics = TestMetrics()
        var pools: [RedisConnectionPool] = []
        var repositories: [TokenRepository] = []
        for _ in 0..<count {
            let pool = RedisConnectionPool(
                configuration: server.configuration, options: .init(maximumConnections: 8, waitTimeout: .seconds(300)))
            pools.append(pool)
            repositories.append(
                try TokenRepository(
                    pool: pool, configuration: try LedgerConfiguration(namespace: namespace),
                    metrics: LedgerMetrics(factory: metrics)))
        }
        self.pools = pools
        self.repositories = repositories
        self.metrics = metrics
    }

    /// Users added to a cycle's index by the record path (`tokenledger_index_writes_total`).
    var indexWrites: Int { metrics.counterValue("tokenledger_index_writes_total") }

    func close() async {
        for pool in pools { await pool.close() }
    }
}

/// The server's count of SADD calls (index.lua's, the only SADD of the record path), from
/// `INFO commandstats`.
private func saddCalls(_ pool: RedisConnectionPool) async throws -> Int {
    let info = try await pool.send(RedisCommand("INFO", "commandstats")).string ?? ""
    for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_sadd:") {
        // cmdstat_sadd:calls=12,usec=...
        let calls = line.split(separator: ",").first?.split(separator: "=").last
        return calls.flatMap { Int($0) } ?? 0
    }
    return 0
}

private func members(_ repository: TokenRepository, _ cycle: CalendarDate) async throws -> Set<String> {
    let reply = try await repository.pool.send(RedisCommand("SMEMBERS", repository.keys.index(cycle)))
    return Set((reply.array ?? []).compactMap(\.string))
}

@Suite("The cycle index is written once per user and cycle, decided by Redis")
struct IndexOnceTests {
    @Test("500 records of one user through 4 repositories (processes), in turn and at once: one index write")
    func poolPath() async throws {
        try await withRedisServer { server async throws in
            let processes = try Processes(server, count: 4)
            let saddBefore = try await saddCalls(processes.pools[0])
            var cycle: CalendarDate?
            for index in 0..<250 {
                let result = try await processes.repositories[index % 4].record(
                    user: "alice", callID: "seq-\(index)", usage: UsageRecord(inputTokens: 10, outputTokens: 1),
                    at: testInstant)
                cycle = result.cycle
            }
            // At once: records that all find the cycle unmarked would each ask, but the first one's
            // claim keeps the others from it (bob's first records race here).
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<250 {
                    group.addTask {
                        _ = try await processes.repositories[index % 4].record(
                            user: "bob", callID: "par-\(index)",
                            usage: UsageRecord(inputTokens: 10, outputTokens: 1), at: testInstant)
                    }
                }
                try await group.waitForAll()
            }
            let saddAfter = try await saddCalls(processes.pools[0])
            #expect(processes.indexWrites == 2, "one per user")
            // index.lua makes two SADDs (the cycle's index, the set of indexed cycles) per user.
            #expect(saddAfter - saddBefore == 4)
            let repository = processes.repositories[0]
            #expect(try await members(repository, cycle!) == ["alice", "bob"])
            let report = try await repository.report(cycle: cycle!)
            #expect(Set(report.users.map(\.user)) == ["alice", "bob"])
            #expect(report.users.map(\.totalTokens).sorted() == [2750, 2750])
            await processes.close()
        }
    }

    @Test("500 pipelined records of one user (awaited and fire-and-forget): one index write")
    func pipelinedPath() async throws {
        try await withRedisServer { server async throws in
            let processes = try Processes(server, count: 2)
            let saddBefore = try await saddCalls(processes.pools[0])
            for (number, repository) in processes.repositories.enumerated() {
                let recorder = UsageRecorder(
                    repository: repository,
                    options: .init(pipeline: .init(connections: 2), loneCallerUsesPool: false),
                    metrics: LedgerMetrics(factory: processes.metrics))
                try await recorder.withRunning {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for index in 0..<125 {
                            group.addTask {
                                let outcome = await recorder.record(
                                    user: "carol", callID: "aw-\(number)-\(index)",
                                    usage: UsageRecord(inputTokens: 3, outputTokens: 1), at: testInstant)
                                #expect(outcome.isDurable)
                            }
                        }
                        try await group.waitForAll()
                    }
                    for index in 0..<125 {
                        await recorder.recordInBackground(
                            user: "carol", callID: "bg-\(number)-\(index)",
                            usage: UsageRecord(inputTokens: 3, outputTokens: 1), at: testInstant)
                    }
                }  // withRunning shuts the recorder down: the queued records are sent first
            }
            let usage = try await processes.repositories[0].usage(user: "carol", at: testInstant)
            #expect(usage.calls == 500 && usage.totalTokens == 250 * 4 + 250 * 4)
            #expect(processes.indexWrites == 1)
            #expect(try await saddCalls(processes.pools[0]) - saddBefore == 2)
            #expect(try await members(processes.repositories[0], usage.cycle) == ["carol"])
            await processes.close()
        }
    }

    @Test("a failed index write, or a mark deleted by hand, is repaired by the user's next record")
    func repair() async throws {
        try await withRedisServer { server async throws in
            let processes = try Processes(server, count: 1)
            let repository = processes.repositories[0]
            let first = try await repository.record(
                user: "dave", callID: "warm", usage: UsageRecord(inputTokens: 1, outputTokens: 0), at: testInstant)
            let cycle = first.cycle
            let userKeys = try repository.keys.user("dave")
            #expect(processes.indexWrites == 1)
            // The index key made the wrong type: index.lua fails, the record still counts.
            _ = try await repository.pool.send(RedisCommand("DEL", repository.keys.index(cycle)))
            _ = try await repository.pool.send(RedisCommand("HDEL", userKeys.cycle(cycle), "index:done"))
            _ = try await repository.pool.send(RedisCommand("SET", repository.keys.index(cycle), "not a set"))
            let failed = try await repository.record(
                user: "dave", callID: "a", usage: UsageRecord(inputTokens: 5, outputTokens: 0), at: testInstant)
            #expect(failed.applied && failed.totalTokens == 6)
            #expect(processes.indexWrites == 1)
            let mark = try await repository.pool.send(RedisCommand("HGET", userKeys.cycle(cycle), "index:done"))
            #expect(mark.isNull, "no mark after a failed index write")
            // Repaired: the next record (right away: the failed write released its claim) indexes.
            _ = try await repository.pool.send(RedisCommand("DEL", repository.keys.index(cycle)))
            _ = try await repository.record(
                user: "dave", callID: "b", usage: UsageRecord(inputTokens: 5, outputTokens: 0), at: testInstant)
            #expect(processes.indexWrites == 2)
            #expect(try await members(repository, cycle) == ["dave"])
            // The mark deleted by hand (and the index with it): the next record, even a duplicate, repairs it.
            _ = try await repository.pool.send(RedisCommand("HDEL", userKeys.cycle(cycle), "index:done"))
            _ = try await repository.pool.send(RedisCommand("DEL", repository.keys.index(cycle)))
            let duplicate = try await repository.record(
                user: "dave", callID: "b", usage: UsageRecord(inputTokens: 5, outputTokens: 0), at: testInstant)
            #expect(!duplicate.applied)
            #expect(processes.indexWrites == 3)
            #expect(try await repository.report(cycle: cycle).users.map(\.user) == ["dave"])
            // Readers ignore the mark: usage is the counters alone.
            let usage = try await repository.usage(user: "dave", at: testInstant)
            #expect(usage.totalTokens == 11 && usage.calls == 3)
            await processes.close()
        }
    }

    @Test("a crash between the record and the index write leaves a claim that expires; then a record repairs it")
    func expiredClaim() async throws {
        try await withRedisServer { server async throws in
            let processes = try Processes(server, count: 1)
            let repository = processes.repositories[0]
            let first = try await repository.record(
                user: "erin", callID: "a", usage: UsageRecord(inputTokens: 1, outputTokens: 0), at: testInstant)
            let cycleKey = try repository.keys.user("erin").cycle(first.cycle)
            // As a client that died after record.lua claimed the write: a claim, no mark, no index.
            _ = try await repository.pool.send(RedisCommand("DEL", repository.keys.index(first.cycle)))
            _ = try await repository.pool.send(RedisCommand("HDEL", cycleKey, "index:done"))
            _ = try await repository.pool.send(RedisCommand("HSET", cycleKey, "index:claim", "1"))  // long expired
            _ = try await repository.record(
                user: "erin", callID: "b", usage: UsageRecord(inputTokens: 1, outputTokens: 0), at: testInstant)
            #expect(try await members(repository, first.cycle) == ["erin"])
            #expect(processes.indexWrites == 2)
            await processes.close()
        }
    }
}
