import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// A repository on its own namespace of a given server.
private func repository(_ server: RedisTestServer, _ namespace: String = uniqueNamespace("ro")) throws
    -> TokenRepository
{
    let pool = RedisConnectionPool(configuration: server.configuration, options: .init(maximumConnections: 4))
    return try TokenRepository(
        pool: pool, configuration: try LedgerConfiguration(namespace: namespace, settingsCacheTTL: .zero))
}

/// Users with different policies, and one day's calls for each.
private enum Workload {
    static let first = date("2026-01-20")
    static let days = 40

    static func setUp(_ repository: TokenRepository) async throws {
        try await repository.setLimit(user: "alice", tokens: 5_000)
        try await repository.setCyclePolicy(user: "bob", policy: try BillingCyclePolicy(period: .daily))
        try await repository.setCyclePolicy(
            user: "carol",
            policy: try BillingCyclePolicy(period: .weekly(anchorWeekday: 1), timeZone: "Pacific/Auckland"))
        try await repository.setCyclePolicy(
            user: "dan {x}",
            policy: try BillingCyclePolicy(period: .monthly(anchorDay: 31), timeZone: "America/New_York"))
    }

    /// Records day `index`'s calls (at 12:00 and 23:30 UTC).
    static func record(day index: Int, _ repository: TokenRepository) async throws {
        let day = first.adding(days: index)
        for (offset, user) in ["alice", "bob", "carol", "dan {x}"].enumerated() {
            for (slot, time) in ["12:00:00", "23:30:00"].enumerated() {
                let input = 100 * (index + 1) + offset * 7 + slot
                _ = try await repository.record(
                    user: user, callID: "d\(index)-\(slot)",
                    usage: UsageRecord(inputTokens: input, outputTokens: index + offset),
                    model: slot == 0 ? "gpt-4o" : "claude", at: at("\(day)T\(time)Z"))
            }
        }
    }

    /// 00:30 UTC on the day after day `index`.
    static func morningAfter(_ index: Int) -> Date { at("\(first.adding(days: index + 1))T00:30:00Z") }

    static func histories(_ rollover: Rollover) async throws -> [CycleHistory] {
        var result: [CycleHistory] = []
        for cycle in try await rollover.historyCycles() { result.append(try await rollover.history(cycle: cycle)) }
        return result
    }
}

@Suite("rollover: history, catch-up, retention, index rebuild, lock")
struct RolloverTests {
    @Test("daily runs, one run after a 40-day gap, and that run twice write the same history")
    func catchUpMatchesDaily() async throws {
        try await withRedisServer { server async throws in
            let daily = try repository(server)
            let gap = try repository(server)
            for repo in [daily, gap] { try await Workload.setUp(repo) }

            let dailyRollover = try Rollover(repository: daily)
            for index in 0..<Workload.days {
                try await Workload.record(day: index, daily)
                let result = try await dailyRollover.run(try RolloverOptions(now: Workload.morningAfter(index)))
                #expect(!result.locked)
            }
            for index in 0..<Workload.days { try await Workload.record(day: index, gap) }
            let gapRollover = try Rollover(repository: gap)
            let final = Workload.morningAfter(Workload.days - 1)
            let first = try await gapRollover.run(try RolloverOptions(now: final))
            let afterOne = try await Workload.histories(gapRollover)
            let second = try await gapRollover.run(try RolloverOptions(now: final))
            #expect(second.closed.isEmpty, "a second run closed again: \(second.closed)")
            #expect(first.closed.map(\.users).reduce(0, +) > 40)

            let dailyHistory = try await Workload.histories(dailyRollover)
            let gapHistory = try await Workload.histories(gapRollover)
            #expect(!dailyHistory.isEmpty)
            #expect(dailyHistory == gapHistory)
            #expect(afterOne == gapHistory)

            // Spot checks against the workload itself.
            let january = try await gapRollover.history(cycle: date("2026-01-01"))
            let alice = try #require(january.users.first { $0.user == "alice" })
            let expected = (0..<12).reduce(0) { sum, index in sum + (100 * (index + 1)) * 2 + 1 + 2 * index }
            #expect(alice.totalTokens == expected && alice.calls == 24 && alice.limit == 5_000)
            #expect(alice.cycleEnd == date("2026-02-01"))
            #expect(alice.models["gpt-4o"]?.calls == 12)
            let bobDay = try await gapRollover.history(cycle: date("2026-01-25"))
            #expect(bobDay.users.map(\.user) == ["bob"])
            #expect(bobDay.users[0].totalTokens == 613 + 614)
            #expect(bobDay.totals.totalTokens == bobDay.users[0].totalTokens && bobDay.totals.users == 1)
            // Cycles that have not ended at 2026-03-01T00:30Z are not in the history: dan's monthly
            // cycle from 2026-02-28 (New York) and carol's week from Monday 2026-02-23 (Auckland).
            #expect(try await gapRollover.history(cycle: date("2026-02-28")).users.map(\.user) == ["bob"])
            #expect(try await gapRollover.history(cycle: date("2026-02-23")).users.map(\.user) == ["bob"])
            #expect(try await gapRollover.history(cycle: date("2026-02-01")).users.map(\.user) == ["alice", "bob"])
            // Every cycle's totals are the sums of its summaries.
            for history in gapHistory {
                #expect(history.totals.totalTokens == history.users.reduce(0) { $0 + $1.totalTokens })
                #expect(history.totals.calls == history.users.reduce(0) { $0 + $1.calls })
            }
        }
    }

    @Test(
        "retention deletes per-user data of cycles that ended over 13 months ago, after the summary; the index is rebuilt"
    )
    func retention() async throws {
        try await withRedisServer { server async throws in
            let repo = try repository(server)
            for (user, cycle) in [
                ("old", "2024-12-01"), ("old", "2025-12-01"), ("new", "2025-12-01"), ("edge", "2025-01-01"),
            ] {
                _ = try await repo.record(
                    user: user, callID: "c", usage: UsageRecord(inputTokens: 10, outputTokens: 5), cycle: date(cycle))
            }
            // Lose the index of the oldest cycle: the rollover's scan rebuilds it.
            _ = try await repo.pool.send(RedisCommand("DEL", repo.keys.index(date("2024-12-01"))))
            _ = try await repo.pool.send(RedisCommand("SREM", repo.keys.indexedCycles, "2024-12-01"))
            let rollover = try Rollover(repository: repo)
            let now = at("2026-02-10T01:00:00Z")

            let before = try await snapshot(repo)
            let dry = try await rollover.run(try RolloverOptions(now: now, dryRun: true))
            #expect(try await snapshot(repo) == before, "a dry run wrote something")
            #expect(dry.indexAdded == 1 && dry.retentionCutoff == date("2025-01-10"))

            let result = try await rollover.run(try RolloverOptions(now: now))
            #expect(result.indexAdded == 1)
            #expect(result.closed.map(\.cycle) == [date("2024-12-01"), date("2025-01-01"), date("2025-12-01")])
            // The dedupe window (7 days) folded the ended cycles first (their call ids and cycle hashes
            // went): retention finds no key left to delete and records the cycle as retired.
            #expect(result.droppedCallIDs == 4 && result.dedupeWindowDays == 7, "\(result.droppedCallIDs)")
            #expect(result.deletedUserCycles == 1 && result.deletedKeys == 0)
            #expect(result.droppedCycles == [date("2024-12-01")])
            let old = try repo.keys.user("old")
            let exists = try await repo.pool.pipeline([
                RedisCommand("EXISTS", old.cycle(date("2024-12-01")), old.calls(date("2024-12-01"))),
                // Folded: no cycle hash is left (the profile's `folded` names the cycle).
                RedisCommand("EXISTS", old.cycle(date("2025-12-01"))),
                // Ended 2025-02-01, after the cutoff, folded too.
                RedisCommand("EXISTS", try repo.keys.user("edge").cycle(date("2025-01-01"))),
                RedisCommand("EXISTS", repo.keys.index(date("2024-12-01"))),
                RedisCommand("SISMEMBER", repo.keys.indexedCycles, "2024-12-01"),
            ])
            #expect(exists.map { $0.int } == [0, 0, 0, 0, 0])
            #expect(try await repo.pool.send(HGET(old.profile, field: "folded")) == "2025-12-01")
            #expect(try await rollover.history(cycle: date("2024-12-01")).users.map(\.totalTokens) == [15])

            // A month later the edge cycle leaves the index too (folded, it has no key left to delete);
            // a run without changes deletes nothing more.
            let later = try await rollover.run(try RolloverOptions(now: at("2026-03-10T01:00:00Z")))
            #expect(later.deletedUserCycles == 0 && later.droppedCycles == [date("2025-01-01")] && later.closed.isEmpty)
            let again = try await rollover.run(try RolloverOptions(now: at("2026-03-10T01:00:00Z")))
            #expect(again.deletedUserCycles == 0 && again.droppedCycles.isEmpty)
            // Retention 0 keeps everything.
            let keep = try await rollover.run(try RolloverOptions(now: Date(), retentionMonths: 0))
            #expect(keep.retentionCutoff == nil && keep.deletedUserCycles == 0)
        }
    }

    @Test("a held lock makes a run do nothing; only the owner releases; concurrent runs never double")
    func lock() async throws {
        try await withRedisServer { server async throws in
            let repo = try repository(server)
            for index in 0..<50 {
                _ = try await repo.record(
                    user: "u\(index)", callID: "c", usage: UsageRecord(inputTokens: index, outputTokens: 1),
                    cycle: date("2026-01-01"))
            }
            let rollover = try Rollover(repository: repo)
            let now = at("2026-02-02T00:00:00Z")

            let held = try #require(try await JobLock.acquire("rollover", repository: repo, ttl: .seconds(900)))
            #expect(try await JobLock.acquire("rollover", repository: repo, ttl: .seconds(900)) == nil)
            let blocked = try await rollover.run(try RolloverOptions(now: now))
            #expect(blocked.locked && blocked.closed.isEmpty)
            #expect(try await rollover.historyCycles().isEmpty)
            #expect(try await held.release())
            #expect(try await !held.release())

            // An expired lock is taken over; the old owner can neither extend nor release the new one.
            let short = try #require(try await JobLock.acquire("rollover", repository: repo, ttl: .milliseconds(50)))
            // It expires on the server's clock: wait until the server has let it go.
            #expect(
                try await waitUntil {
                    try await repo.pool.send(RedisCommand("GET", repo.keys.lock("rollover"))) == .null
                })
            let taker = try #require(try await JobLock.acquire("rollover", repository: repo, ttl: .seconds(900)))
            #expect(try await !short.extend())
            #expect(try await !short.release())
            #expect(try await repo.pool.send(RedisCommand("GET", repo.keys.lock("rollover"))).string == taker.token)
            #expect(try await taker.release())

            // Concurrent runs: small batches so they overlap; every user is closed exactly once.
            let options = try RolloverOptions(now: now, batchSize: 5)
            async let a = rollover.run(options)
            async let b = rollover.run(options)
            async let c = rollover.run(options)
            let results = try await [a, b, c]
            #expect(results.flatMap(\.closed).map(\.users).reduce(0, +) == 50)
            let history = try await rollover.history(cycle: date("2026-01-01"))
            #expect(history.users.count == 50)
            #expect(history.totals.users == 50 && history.totals.totalTokens == (0..<50).reduce(0) { $0 + $1 + 1 })
            #expect(try await repo.pool.send(RedisCommand("EXISTS", repo.keys.lock("rollover"))).int == 0)
        }
    }

    @Test("months arithmetic clamps the day")
    func months() {
        #expect(date("2025-03-31").addingMonths(-1) == date("2025-02-28"))
        #expect(date("2026-02-10").addingMonths(-13) == date("2025-01-10"))
        #expect(date("2024-01-15").addingMonths(-1) == date("2023-12-15"))
        #expect(date("2024-02-29").addingMonths(12) == date("2025-02-28"))
    }
}
