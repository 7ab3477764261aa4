import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// Changing a user's cycle policy mid-cycle never starts a fresh quota.
@Suite("policy change mid-cycle: the running cycle's usage counts until it ends")
struct PolicyChangeTests {
    @Test("a user at the limit is still denied after cycle set, until the previous cycle ends")
    func policyChangeKeepsTheLimit() async throws {
        try await withRepository { repo in
            try await repo.setLimit(user: "lu", tokens: 1000)
            _ = try await repo.record(
                user: "lu", callID: "a", usage: UsageRecord(inputTokens: 600, outputTokens: 400),
                at: at("2026-11-10T12:00:00Z"))
            #expect(!(try await repo.check(user: "lu", tokens: 1, at: at("2026-11-10T12:30:00Z"))).allowed)

            // Daily cycles from now on: the November cycle still counts until 2026-12-01.
            try await repo.setCyclePolicy(
                user: "lu", policy: try BillingCyclePolicy(period: .daily), at: at("2026-11-10T13:00:00Z"))
            let check = try await repo.check(user: "lu", tokens: 1, at: at("2026-11-10T14:00:00Z"))
            #expect(!check.allowed && check.used == 1000 && check.cycle == date("2026-11-10"))
            let reserve = try await repo.reserve(user: "lu", callID: "r1", tokens: 1, at: at("2026-11-10T14:00:00Z"))
            #expect(reserve.status == .denied)
            // Usage is booked to the new policy's cycle, and counts too.
            let booked = try await repo.record(
                user: "lu", callID: "b", usage: UsageRecord(inputTokens: 5, outputTokens: 0),
                at: at("2026-11-11T09:00:00Z"))
            #expect(booked.cycle == date("2026-11-11") && booked.totalTokens == 5)
            #expect(try await repo.check(user: "lu", at: at("2026-11-11T10:00:00Z")).used == 1005)

            // A second change keeps the first carry and adds the daily cycle running then.
            try await repo.setCyclePolicy(
                user: "lu", policy: try BillingCyclePolicy(period: .weekly(anchorWeekday: 1)),
                at: at("2026-11-11T11:00:00Z"))
            let weekly = try await repo.check(user: "lu", tokens: 1, at: at("2026-11-11T12:00:00Z"))
            #expect(!weekly.allowed && weekly.used == 1005 && weekly.cycle == date("2026-11-09"))
            #expect(
                try await repo.cyclePolicy(user: "lu") == (
                    try BillingCyclePolicy(period: .weekly(anchorWeekday: 1)), true
                ))

            // Once the November cycle has ended, the new policy's cycles start from zero.
            let december = try await repo.check(user: "lu", tokens: 1000, at: at("2026-12-01T00:00:01Z"))
            #expect(december.allowed && december.used == 0, "\(december)")
        }
    }

    @Test("back to the default policy: the running cycle is the same one again, counted once")
    func backToDefault() async throws {
        try await withRepository { repo in
            try await repo.setLimit(user: "lu", tokens: 1000)
            _ = try await repo.record(
                user: "lu", callID: "a", usage: UsageRecord(inputTokens: 1000, outputTokens: 0),
                at: at("2026-11-10T12:00:00Z"))
            try await repo.setCyclePolicy(
                user: "lu", policy: try BillingCyclePolicy(period: .daily), at: at("2026-11-10T13:00:00Z"))
            try await repo.setCyclePolicy(user: "lu", policy: nil, at: at("2026-11-10T15:00:00Z"))
            let check = try await repo.check(user: "lu", tokens: 1, at: at("2026-11-10T16:00:00Z"))
            #expect(!check.allowed && check.used == 1000 && check.cycle == date("2026-11-01"))
            #expect(try await repo.cyclePolicy(user: "lu").isOverride == false)
            // The day's cycle of the daily policy (empty) is carried until its end, and adds nothing.
            let stored = try await repo.pool.send(RedisCommand("HGET", try repo.keys.user("lu").profile, "policy"))
                .string
            #expect(stored == #"{"carry":[{"cycle":"2026-11-10","until":"2026-11-11T00:00:00Z"}]}"#)
        }
    }
}
