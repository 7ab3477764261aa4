// The capacity figures (issue 21): what a recorded call and a closed user cycle cost in Redis memory.
//
// `memory_per_call_bytes`: Redis `used_memory` growth ÷ calls, for `--memory-events` (default 200,000)
// calls with UUID call ids from `--memory-users` (default 100) users in one cycle, i.e. 2,000 calls per
// user per cycle. `memory_per_user_cycle_bytes`: what is left per user once rollover closed those
// cycles and their dedupe window passed (the cycle is a past one, so a rollover now closes it and drops
// its call ids), over the same `used_memory` before the calls. Both leave out `used_memory_scripts`
// (the scripts are loaded once per server, not per call), `mem_clients_normal` (connection buffers)
// and the slow log (emptied before each reading).
// Run alone with `--memory-only`.
import Foundation
import RedisClient
import TokenLedger

enum MemoryBench {
    /// A cycle long over: rollover at the server's clock closes it and its dedupe window has passed.
    static let cycleName = "2020-01-01"

    static func run(redis: RedisConfiguration, pool: RedisConnectionPool, callers: Int) async throws {
        let events = option("--memory-events", default: 200_000)
        let users = option("--memory-users", default: 100)
        let namespace = "benchmem\(getpid())"
        let repository = try TokenRepository(
            pool: pool, configuration: try LedgerConfiguration(namespace: namespace, settingsCacheTTL: .seconds(5)))
        let recorder = UsageRecorder(repository: repository, options: .init(pipeline: .init(connections: 2)))
        let cycle = try CalendarDate(parsing: cycleName)
        log(
            "memory: \(events) calls with UUID call ids from \(users) users in cycle \(cycleName), namespace \(namespace)"
        )
        // Scripts and settings loaded outside the measurement (they are not per call or per user):
        // the record path's, and rollover's, folds included (the warm-up user's call is in an earlier
        // past cycle, which this run closes and folds: on a fresh server the fold scripts loaded
        // between the two readings were once ~78 kB charged to 100 users).
        _ = try await repository.record(
            user: "warm", callID: UUID().uuidString, usage: UsageRecord(inputTokens: 1, outputTokens: 1),
            cycle: try CalendarDate(parsing: "2019-12-01"))
        let rollover = try Rollover(repository: repository)
        _ = try await rollover.run(try RolloverOptions(retentionMonths: 0))
        let before = try await dataMemory(pool)
        let next = Locked(0)
        let failed = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    while true {
                        guard let index = next.next(below: events) else { return }
                        let outcome = await recorder.record(
                            user: "m\(index % users)", callID: UUID().uuidString,
                            usage: UsageRecord(inputTokens: index % 997 + 1, outputTokens: index % 211), cycle: cycle)
                        if case .applied = outcome {} else { failed.withLock { $0 += 1 } }
                    }
                }
            }
        }
        let notApplied = failed.withLock { $0 }
        if notApplied != 0 { throw BenchmarkFailure(description: "memory: \(notApplied) calls were not applied") }
        // The recorder's pipeline connections and their buffers are not data.
        await recorder.shutdown()
        let recorded = try await dataMemory(pool)
        figure("memory_per_call_bytes", Double(recorded - before) / Double(events), "bytes")
        // Close the cycles (a past cycle: its window has passed too); retention off, so the cycle stays.
        let result = try await rollover.run(try RolloverOptions(retentionMonths: 0))
        let closed = result.closed.reduce(0) { $0 + $1.users }
        log("memory: rollover closed \(closed) user cycles and dropped the call ids of \(result.droppedCallIDs)")
        let after = try await dataMemory(pool)
        figure("memory_per_user_cycle_bytes", Double(after - before) / Double(users), "bytes")
    }

    /// `used_memory` minus `used_memory_scripts` and `mem_clients_normal` of `INFO memory`, in bytes
    /// (the scripts rollover loads and the buffers of the connections open at the reading are not
    /// data: rollover's concurrent pipelines leave more connections open than the reading before the
    /// calls saw, tens of kilobytes that would be charged to 100 users), once it has settled: Redis
    /// shrinks its keyspace table in the background after keys were deleted, so it is read until
    /// three readings 200 ms apart agree (at most 5 s). The slow log is emptied first (`SLOWLOG
    /// RESET`): its entries hold the arguments of slow commands, not data.
    static func dataMemory(_ pool: RedisConnectionPool) async throws -> Int {
        func read() async throws -> Int {
            let info = try await pool.send(INFO("memory"))
            guard let text = info["used_memory"], let bytes = Int(text) else {
                throw BenchmarkFailure(description: "INFO memory has no used_memory")
            }
            return bytes - (info["used_memory_scripts"].flatMap { Int($0) } ?? 0)
                - (info["mem_clients_normal"].flatMap { Int($0) } ?? 0)
        }
        // The slow log keeps the arguments of up to 128 slow commands (EVALSHA pipelines on a loaded
        // machine): tens of kilobytes that are not data and that grow during the run.
        _ = try await pool.send(RedisCommand("SLOWLOG", "RESET"))
        var last = try await read()
        var same = 0
        for _ in 0..<25 where same < 2 {
            try await Task.sleep(for: .milliseconds(200))
            let now = try await read()
            same = now == last ? same + 1 : 0
            last = now
        }
        return last
    }
}
