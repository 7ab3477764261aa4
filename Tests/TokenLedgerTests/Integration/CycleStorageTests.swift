import Foundation
import RedisClient
import Testing
import TokenLedger

@Suite("Cycles, limits across cycles, reset and reports in Redis")
struct CycleStorageTests {
    @Test("anchor day 31: records land in 01-31, 02-28 (02-29 in 2024), 03-31, 04-30 cycles")
    func anchor31() async throws {
        try await withRepository { repository async throws in
            try await repository.setCyclePolicy(
                user: "m", policy: try BillingCyclePolicy(period: .monthly(anchorDay: 31)))
            let cases = [
                ("2025-02-10T12:00:00Z", "2025-01-31", "2025-02-28"),
                ("2025-03-01T00:00:00Z", "2025-02-28", "2025-03-31"),
                ("2025-04-15T00:00:00Z", "2025-03-31", "2025-04-30"),
                ("2025-05-01T00:00:00Z", "2025-04-30", "2025-05-31"),
                ("2024-03-10T00:00:00Z", "2024-02-29", "2024-03-31"),
            ]
            for (instant, start, end) in cases {
                let result = try await repository.record(
                    user: "m", callID: instant, usage: UsageRecord(inputTokens: 1, outputTokens: 1), at: at(instant))
                #expect(result.cycle == date(start), "\(instant)")
                let usage = try await repository.usage(user: "m", at: at(instant))
                #expect(usage.cycle == date(start) && usage.cycleEnd == date(end), "\(instant)")
                #expect(usage.totalTokens == 2, "\(instant)")
            }
        }
    }

    @Test("weekly, daily and a non-UTC zone across a DST change; an explicit cycle wins")
    func otherPolicies() async throws {
        try await withRepository { repository async throws in
            try await repository.setCyclePolicy(
                user: "w", policy: try BillingCyclePolicy(period: .weekly(anchorWeekday: 1)))
            let weekly = try await repository.usage(user: "w", at: at("2025-06-05T10:00:00Z"))  // a Thursday
            #expect(weekly.cycle == date("2025-06-02") && weekly.cycleEnd == date("2025-06-09"))

            let berlin = try BillingCyclePolicy(period: .daily, timeZone: "Europe/Berlin")
            try await repository.setCyclePolicy(user: "d", policy: berlin)
            // 2025-03-30 is 23 hours long in Berlin (02:00 → 03:00). 22:30Z is already 31 March there.
            let before = try await repository.record(
                user: "d", callID: "1", usage: UsageRecord(inputTokens: 1, outputTokens: 0),
                at: at("2025-03-30T21:30:00Z"))
            let after = try await repository.record(
                user: "d", callID: "2", usage: UsageRecord(inputTokens: 1, outputTokens: 0),
                at: at("2025-03-30T22:30:00Z"))
            #expect(before.cycle == date("2025-03-30"))
            #expect(after.cycle == date("2025-03-31"))

            let explicit = try await repository.record(
                user: "d", callID: "3", usage: UsageRecord(inputTokens: 4, outputTokens: 0), cycle: date("2024-12-25"))
            #expect(explicit.cycle == date("2024-12-25"))
            #expect(try await repository.usage(user: "d", cycle: date("2024-12-25")).inputTokens == 4)
        }
    }

    @Test("a policy changed by another process is noticed by the script, and the write goes to the right cycle")
    func stalePolicy() async throws {
        try await withRepository { first async throws in
            let second = try TokenRepository(pool: first.pool, configuration: first.configuration)
            let instant = at("2025-07-20T12:00:00Z")
            // `first` learns that the user has no override.
            _ = try await first.record(
                user: "p", callID: "a", usage: UsageRecord(inputTokens: 1, outputTokens: 0), at: instant)
            try await second.setCyclePolicy(user: "p", policy: try BillingCyclePolicy(period: .monthly(anchorDay: 15)))
            let result = try await first.record(
                user: "p", callID: "b", usage: UsageRecord(inputTokens: 1, outputTokens: 0), at: instant)
            #expect(result.cycle == date("2025-07-15"))
        }
    }

    @Test("a limit set once applies in the next cycle; reset keeps it and writes an audit event")
    func limitAcrossCyclesAndReset() async throws {
        try await withRepository { repository async throws in
            try await repository.setLimit(user: "r", tokens: 100)
            _ = try await repository.record(
                user: "r", callID: "jan", usage: UsageRecord(inputTokens: 90, outputTokens: 0),
                at: at("2025-01-10T00:00:00Z"))
            #expect(try await repository.check(user: "r", tokens: 20, at: at("2025-01-20T00:00:00Z")).allowed == false)
            let february = try await repository.check(user: "r", tokens: 20, at: at("2025-02-02T00:00:00Z"))
            #expect(
                february.allowed && february.limit == 100 && february.used == 0 && february.cycle == date("2025-02-01"))

            let previous = try await repository.reset(user: "r", cycle: date("2025-01-01"), actor: "test")
            #expect(previous.totalTokens == 90)
            let january = try await repository.usage(user: "r", cycle: date("2025-01-01"))
            #expect(january.totalTokens == 0 && january.calls == 0 && january.limit == 100)
            let events = try await repository.events(user: "r")
            let audit = try #require(events.last)
            #expect(audit["type"] == "reset" && audit["cycle"] == "2025-01-01" && audit["by"] == "test")
            #expect(audit["previous_total_tokens"] == "90" && audit["previous_calls"] == "1")
            // The call id stays recorded: a replay after the reset is still a duplicate.
            let replay = try await repository.record(
                user: "r", callID: "jan", usage: UsageRecord(inputTokens: 90, outputTokens: 0),
                cycle: date("2025-01-01"))
            #expect(!replay.applied)
        }
    }

    @Test("report sorts, cuts to top N, totals every user, and the index can be rebuilt")
    func report() async throws {
        try await withRepository { repository async throws in
            let instant = at("2025-09-09T00:00:00Z")
            let data = [("ann", 10, 90), ("bob", 50, 5), ("cat", 30, 30), ("dan", 1, 1)]
            for (user, input, output) in data {
                _ = try await repository.record(
                    user: user, callID: "c", usage: UsageRecord(inputTokens: input, outputTokens: output), model: "m1",
                    at: instant)
            }
            try await repository.setLimit(user: "cat", tokens: 1000)
            let byTotal = try await repository.report(at: instant)
            #expect(byTotal.cycle == date("2025-09-01"))
            #expect(byTotal.users.map(\.user) == ["ann", "cat", "bob", "dan"])
            #expect(byTotal.totals.users == 4 && byTotal.totals.totalTokens == 217 && byTotal.totals.calls == 4)
            #expect(byTotal.users[1].limit == 1000 && byTotal.users[1].remaining == 940)
            let topInput = try await repository.report(top: 2, sort: .input, at: instant)
            #expect(topInput.users.map(\.user) == ["bob", "cat"])
            #expect(topInput.totals.users == 4)
            let byOutput = try await repository.report(sort: .output, at: instant)
            #expect(byOutput.users.map(\.user) == ["ann", "cat", "bob", "dan"])

            // Drop the derived index; rebuilding it from per-user keys restores the report.
            _ = try await repository.pool.send(RedisCommand("DEL", repository.keys.index(date("2025-09-01"))))
            #expect(try await repository.report(at: instant).users.isEmpty)
            #expect(try await repository.rebuildIndex(cycle: date("2025-09-01")) == 4)
            #expect(try await repository.report(at: instant) == byTotal)
        }
    }
}
