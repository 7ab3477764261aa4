import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@Suite("Scopes: a retry books the groups of its first attempt")
struct ScopeRetryTests {
    /// The totals and calls of each team and org named, in that order.
    static func booked(_ repository: TokenRepository, _ scopes: [LedgerScope]) async throws -> [String] {
        var booked: [String] = []
        for scope in scopes {
            let usage = try await repository.usage(scope: scope, at: testInstant)
            booked.append("\(scope)=\(usage.totalTokens)/\(usage.calls)/\(usage.reserved)")
        }
        return booked
    }

    @Test("a settle retried after its groups were booked books nothing more, also after a membership change")
    func settleRetryAfterMembershipChange() async throws {
        try await withRepository { repository async throws in
            let usage = UsageRecord(inputTokens: 20, outputTokens: 10)
            let scopes: [LedgerScope] = [.team("a"), .org("x"), .team("b"), .org("y")]
            _ = try await repository.setMembership(user: "u", team: "a", org: "x")
            // A leased call and a call settled without a lease (none was taken): both booked to a and x.
            #expect(
                try await repository.reserve(user: "u", callID: "leased", tokens: 50, at: testInstant).status
                    == .admitted)
            #expect(try await repository.settle(user: "u", callID: "leased", usage: usage, at: testInstant).applied)
            #expect(try await repository.settle(user: "u", callID: "bare", usage: usage, at: testInstant).applied)
            #expect(try await repository.record(user: "u", callID: "rec", usage: usage, at: testInstant).applied)
            _ = try await repository.setMembership(user: "u", team: "b", org: "y")
            for callID in ["leased", "bare"] {
                let retried = try await repository.settle(user: "u", callID: callID, usage: usage, at: testInstant)
                #expect(!retried.applied, "\(callID)")
            }
            #expect(!(try await repository.record(user: "u", callID: "rec", usage: usage, at: testInstant).applied))
            #expect(
                try await Self.booked(repository, scopes) == [
                    "team:a=90/3/0", "org:x=90/3/0", "team:b=0/0/0", "org:y=0/0/0",
                ])
            // Nothing is left behind: every entry was dropped once its groups were booked.
            let entries = try await repository.pool.send(HLEN(try repository.keys.user("u").leaseScopes))
            #expect(entries == 0)
        }
    }

    @Test("a settle without a lease that failed half-way books the groups of its first attempt on retry")
    func halfFailedSettleKeepsFirstGroups() async throws {
        try await withRepository { repository async throws in
            let usage = UsageRecord(inputTokens: 20, outputTokens: 10)
            _ = try await repository.setMembership(user: "u", team: "a", org: "x")
            // The org's cycle hash holds a string: its settle.lua fails before writing anything.
            let orgCycle = try repository.keys.scope(.org("x")).cycle(named: "2026-03-01")
            _ = try await repository.pool.send(SET(orgCycle, value: "broken"))
            await #expect(throws: (any Error).self) {
                _ = try await repository.settle(user: "u", callID: "c", usage: usage, at: testInstant)
            }
            _ = try await repository.pool.send(DEL([orgCycle]))
            _ = try await repository.setMembership(user: "u", team: "b", org: "y")
            for _ in 0..<2 {
                #expect(!(try await repository.settle(user: "u", callID: "c", usage: usage, at: testInstant).applied))
            }
            let scopes: [LedgerScope] = [.user("u"), .team("a"), .org("x"), .team("b"), .org("y")]
            #expect(
                try await Self.booked(repository, scopes) == [
                    "user:u=30/1/0", "team:a=30/1/0", "org:x=30/1/0", "team:b=0/0/0", "org:y=0/0/0",
                ])
        }
    }

    @Test("a record of a leased call books the lease's groups, and the settle after it books nothing more")
    func recordOfLeasedCall() async throws {
        try await withRepository { repository async throws in
            let usage = UsageRecord(inputTokens: 20, outputTokens: 10)
            _ = try await repository.setMembership(user: "u", team: "a", org: nil)
            #expect(
                try await repository.reserve(user: "u", callID: "c", tokens: 50, at: testInstant).status == .admitted)
            _ = try await repository.setMembership(user: "u", team: "b", org: nil)
            #expect(try await repository.record(user: "u", callID: "c", usage: usage, at: testInstant).applied)
            let settled = try await repository.settle(user: "u", callID: "c", usage: usage, at: testInstant)
            #expect(!settled.applied && settled.releasedTokens == 50)
            #expect(
                try await Self.booked(repository, [.team("a"), .team("b")]) == ["team:a=30/1/0", "team:b=0/0/0"])
        }
    }

    @Test("the lease-scopes entry of a lease that expired goes when a release or a settle of another call reclaims it")
    func reclaimedLeasesDropTheirEntries() async throws {
        try await withRepository { repository async throws in
            _ = try await repository.setMembership(user: "u", team: "t", org: "o")
            let entries = try repository.keys.user("u").leaseScopes
            for (expiring, other) in [("a", "b"), ("c", "d")] {
                for (callID, ttl) in [(other, Duration.seconds(600)), (expiring, .seconds(1))] {
                    let reservation = try await repository.reserve(
                        user: "u", callID: callID, tokens: 10, ttl: ttl, at: testInstant)
                    #expect(reservation.status == .admitted)
                }
                #expect(try await repository.pool.send(HLEN(entries)) == 2)
                try await Task.sleep(for: .milliseconds(1100))
                // The other call's release (a, b) or settle (c, d) reclaims the expired lease.
                if other == "b" {
                    #expect(try await repository.releaseLease(user: "u", callID: other).tokens == 10)
                } else {
                    let usage = UsageRecord(inputTokens: 4, outputTokens: 1)
                    #expect(
                        try await repository.settle(user: "u", callID: other, usage: usage, at: testInstant).applied)
                }
                #expect(try await repository.pool.send(HLEN(entries)) == 0, "after \(other)")
            }
        }
    }

    @Test("the fold of a cycle drops the lease-scopes entries a booking that never finished left in it")
    func foldDropsUnfinishedBookingEntries() async throws {
        try await withRepository { repository async throws in
            let usage = UsageRecord(inputTokens: 20, outputTokens: 10)
            let past = DedupeWindowTests.pastCycle
            let current = CalendarDate(containing: Date(), in: .gmt)
            _ = try await repository.setMembership(user: "u", team: "a", org: "x")
            // Each record's org booking fails (its cycle hash holds a string) and nothing retries it:
            // the user's write stored the call's groups, and the entry stays.
            for (callID, cycle) in [("old", past), ("new", current)] {
                let orgCycle = try repository.keys.scope(.org("x")).cycle(named: cycle.description)
                _ = try await repository.pool.send(SET(orgCycle, value: "broken"))
                await #expect(throws: (any Error).self) {
                    _ = try await repository.record(user: "u", callID: callID, usage: usage, cycle: cycle)
                }
                _ = try await repository.pool.send(DEL([orgCycle]))
            }
            // A lease taken in the past cycle, still live: its entry is the lease's, never swept.
            let pastInstant = past.firstInstant(in: .gmt).addingTimeInterval(3600)
            let leased = try await repository.reserve(
                user: "u", callID: "leased", tokens: 5, ttl: .seconds(3600), at: pastInstant)
            #expect(leased.status == .admitted)
            let entries = try repository.keys.user("u").leaseScopes
            #expect(try await repository.pool.send(HLEN(entries)) == 3)

            let result = try await Rollover(repository: repository).run(try RolloverOptions(dedupeWindowDays: 7))
            #expect(result.droppedCallIDs >= 1)
            let left = try await repository.pool.send(HGETALL(entries))
            #expect(left.keys.sorted() == ["leased", "new"])
            #expect(left["new"] == "a\nx\n\(current)")
        }
    }
}
