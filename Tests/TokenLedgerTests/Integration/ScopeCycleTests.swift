import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@Suite("Scopes: a record with an explicit cycle")
struct ScopeCycleTests {
    @Test("an explicit cycle books each group at its own cycle containing that date, under the group's policy")
    func explicitCycleFollowsGroupPolicy() async throws {
        try await withRepository { repository async throws in
            _ = try await repository.setMembership(user: "u", team: "mid", org: "same")
            // The team's months start on the 15th; the org follows the namespace default (calendar months).
            try await repository.setCyclePolicy(
                scope: .team("mid"), policy: try BillingCyclePolicy(period: .monthly(anchorDay: 15)), at: testInstant)
            let march = try CalendarDate(parsing: "2026-03-01")
            let usage = UsageRecord(inputTokens: 40, outputTokens: 2)
            let recorded = try await repository.record(
                user: "u", callID: "c", usage: usage, cycle: march, at: testInstant)
            #expect(recorded.applied && recorded.cycle == march)
            // The team's cycle holding 1 March is the one from 15 February.
            let team = try await repository.usage(scope: .team("mid"), cycle: try CalendarDate(parsing: "2026-02-15"))
            #expect(team.totalTokens == 42 && team.calls == 1)
            let stray = try await repository.usage(scope: .team("mid"), cycle: march)
            #expect(stray.totalTokens == 0 && stray.calls == 0)
            let org = try await repository.usage(scope: .org("same"), cycle: march)
            #expect(org.totalTokens == 42 && org.calls == 1)
            // A retry is a duplicate everywhere.
            #expect(
                !(try await repository.record(user: "u", callID: "c", usage: usage, cycle: march, at: testInstant)
                    .applied))
            let again = try await repository.usage(scope: .team("mid"), cycle: try CalendarDate(parsing: "2026-02-15"))
            #expect(again.totalTokens == 42 && again.calls == 1)
        }
    }
}
