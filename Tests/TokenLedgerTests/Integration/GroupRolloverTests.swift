import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// Issue 18's rollover gap: rollover closes the cycles of teams and orgs as it does users' (their
/// summaries in their own history), drops their call ids after the dedupe window, and retention
/// deletes them at the users' horizon.
@Suite("Rollover closes, folds and retires team and org cycles")
struct GroupRolloverTests {
    static var pastCycle: CalendarDate { DedupeWindowTests.pastCycle }
    static let usage = UsageRecord(inputTokens: 10, outputTokens: 5)

    static func keyNames(_ repository: TokenRepository, _ pattern: String) async throws -> [String] {
        let reply = try await repository.pool.send(RedisCommand("KEYS", pattern))
        return (reply.array ?? []).compactMap(\.string)
    }

    @Test("a team's cycle is closed and folded past the window; its usage still reads right; a replay is parked")
    func teamCycleClosedAndFolded() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            let team = LedgerScope.team("research")
            _ = try await repository.setMembership(user: "u1", team: "research", org: "acme")
            _ = try await repository.setMembership(user: "u2", team: "research", org: nil)
            _ = try await repository.record(user: "u1", callID: "c1", usage: Self.usage, model: "m", cycle: cycle)
            _ = try await repository.record(user: "u2", callID: "c1", usage: Self.usage, model: "m", cycle: cycle)
            let teamKeys = try repository.keys.scope(team)
            #expect(try await Self.keyNames(repository, teamKeys.calls(cycle) + ":*").count >= 1)
            let before = try await repository.usage(scope: team, cycle: cycle)
            #expect(before.totalTokens == 30 && before.calls == 2)

            let rollover = try Rollover(repository: repository)
            let result = try await rollover.run(try RolloverOptions(dedupeWindowDays: 7))
            // The team and the org are closed, their call ids dropped and the cycle hashes folded.
            #expect(result.closedGroupCycles == 2 && result.droppedGroupCallIDs == 2, "\(result)")
            #expect(try await Self.keyNames(repository, teamKeys.calls(cycle) + "*").isEmpty)
            #expect(try await repository.pool.send(EXISTS(teamKeys.cycle(cycle))) == 0)
            #expect(try await repository.pool.send(HGET(teamKeys.profile, field: "folded")) == cycle.description)
            // Their summaries are in their own history, not the users'.
            let teams = try await rollover.history(cycle: cycle, kind: .team)
            #expect(teams.users.map(\.user) == ["research"] && teams.totals.totalTokens == 30)
            #expect(try await rollover.history(cycle: cycle, kind: .org).totals.totalTokens == 15)
            #expect(try await rollover.history(cycle: cycle).users.map(\.user) == ["u1", "u2"])
            // Reading the team's cycle answers as before the fold.
            #expect(try await repository.usage(scope: team, cycle: cycle) == before)
            let report = try await repository.report(scope: .team, cycle: cycle)
            #expect(report.users.map(\.user) == ["team:research"] && report.totals.totalTokens == 30)

            // A replay of a booked call is parked (the user's cycle is folded too), never counted again.
            await #expect(throws: ParkedWrite.self) {
                try await repository.record(user: "u1", callID: "c1", usage: Self.usage, model: "m", cycle: cycle)
            }
            // A new member's first call of that cycle counts for the user; the team's cycle, whose call
            // ids are gone, does not take it (it cannot tell it from a replay): the event is parked,
            // naming the team, and applying it (an administrator's `spool parked apply --yes`) books
            // the team, the user's part then a duplicate.
            _ = try await repository.setMembership(user: "u3", team: "research", org: nil)
            let parked = await #expect(throws: ParkedWrite.self) {
                try await repository.record(user: "u3", callID: "c9", usage: Self.usage, cycle: cycle)
            }
            #expect(parked?.user == "team:research", "\(String(describing: parked))")
            #expect(try await repository.usage(user: "u3", cycle: cycle).totalTokens == 15)
            #expect(try await repository.usage(scope: team, cycle: cycle).totalTokens == 30)
            let event = SpooledEvent(
                operation: .record, user: "u3", callID: "c9", usage: Self.usage, cycle: cycle, at: Date())
            #expect(try await repository.applyParked(event).applied == false, "the user's part is a duplicate")
            #expect(try await repository.usage(user: "u3", cycle: cycle).totalTokens == 15)
            // The team's booking is a late call of its closed cycle: the next rollover adds it to the
            // team's summary (and folds the cycle again); a run after that changes nothing.
            let again = try await rollover.run(try RolloverOptions(dedupeWindowDays: 7))
            #expect(again.closedGroupCycles == 0, "\(again)")
            #expect(try await repository.usage(scope: team, cycle: cycle).totalTokens == 45)
            #expect(try await rollover.history(cycle: cycle, kind: .team).totals.totalTokens == 45)
            let third = try await rollover.run(try RolloverOptions(dedupeWindowDays: 7))
            #expect(third.closedGroupCycles == 0 && third.droppedGroupCallIDs == 0, "\(third)")
        }
    }

    @Test("rollover's scan rebuilds a lost team and org index, as it does the users'")
    func scanRebuildsGroupIndex() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            _ = try await repository.setMembership(user: "u1", team: "research", org: "acme")
            _ = try await repository.record(user: "u1", callID: "c1", usage: Self.usage, cycle: cycle)
            // The index writes are lost (a client that died after its record).
            let keys = repository.keys
            for kind in [LedgerScope.Kind.team, .org] {
                _ = try await repository.pool.send(DEL([keys.scopeIndex(kind, cycle), keys.scopeIndexedCycles(kind)]))
            }
            #expect(try await repository.report(scope: .team, cycle: cycle).users.isEmpty)
            let dry = try await Rollover(repository: repository).run(
                try RolloverOptions(dryRun: true, dedupeWindowDays: 3650))
            #expect(dry.indexAdded == 2, "\(dry)")
            #expect(try await repository.pool.send(SMEMBERS(keys.scopeIndex(.team, cycle))).isEmpty)
            let result = try await Rollover(repository: repository).run(try RolloverOptions(dedupeWindowDays: 3650))
            #expect(result.indexAdded == 2, "\(result)")
            #expect(try await repository.pool.send(SMEMBERS(keys.scopeIndex(.team, cycle))) == ["research"])
            #expect(try await repository.pool.send(SMEMBERS(keys.scopeIndex(.org, cycle))) == ["acme"])
            // With the index back, rollover closed the team's cycle and the report lists it.
            #expect(result.closedGroupCycles == 2, "\(result)")
            let report = try await repository.report(scope: .team, cycle: cycle)
            #expect(report.users.map(\.user) == ["team:research"] && report.totals.totalTokens == 15)
        }
    }

    @Test(
        "closing teams refreshes the lock before every batch, even one that closes nothing; a closed cycle is skipped")
    func closeGroupsKeepsTheLock() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            for index in 0..<3 {
                _ = try await repository.setMembership(user: "k\(index)", team: "t\(index)", org: nil)
                _ = try await repository.record(user: "k\(index)", callID: "c", usage: Self.usage, cycle: cycle)
            }
            let rollover = try Rollover(repository: repository)
            let settings = try await repository.settings(fresh: true)
            var late = Set<Rollover.GroupCycle>()
            // Mid-cycle: the teams' cycles have not ended, so no batch closes anything; each is one batch.
            let early = try RolloverOptions(
                now: cycle.firstInstant(in: .gmt).addingTimeInterval(11 * 3600), batchSize: 1)
            var result = RolloverResult(now: "", dryRun: false)
            var refreshed = 0
            try await rollover.closeGroups(early, settings: settings, late: &late, result: &result) { refreshed += 1 }
            #expect(result.closedGroupCycles == 0)
            #expect(refreshed == 3)
            // Closed by a run at the server's clock; then every team of the cycle is summarized and a
            // later close skips the cycle without a batch.
            let closed = try await rollover.run(try RolloverOptions(dedupeWindowDays: 3650))
            #expect(closed.closedGroupCycles == 3, "\(closed)")
            refreshed = 0
            result = RolloverResult(now: "", dryRun: false)
            let later = try RolloverOptions(batchSize: 1)
            try await rollover.closeGroups(later, settings: settings, late: &late, result: &result) { refreshed += 1 }
            #expect(result.closedGroupCycles == 0 && refreshed == 0)
        }
    }

    @Test("inside the window a team's closed cycle keeps its call ids; a late booking amends its history")
    func lateBookingAmendsTeamHistory() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            let team = LedgerScope.team("ops")
            _ = try await repository.setMembership(user: "v1", team: "ops", org: nil)
            _ = try await repository.record(user: "v1", callID: "c1", usage: Self.usage, cycle: cycle)
            let rollover = try Rollover(repository: repository)
            let first = try await rollover.run(try RolloverOptions(dedupeWindowDays: 3650))
            #expect(first.closedGroupCycles == 1 && first.droppedGroupCallIDs == 0)
            // A late call: counted in the user and the team, and the next run amends the team's history.
            _ = try await repository.record(user: "v1", callID: "c2", usage: Self.usage, cycle: cycle)
            #expect(try await repository.usage(scope: team, cycle: cycle).totalTokens == 30)
            let second = try await rollover.run(try RolloverOptions(dedupeWindowDays: 3650))
            #expect(second.amendedCalls >= 1)
            let history = try await rollover.history(cycle: cycle, kind: .team)
            #expect(history.totals.totalTokens == 30 && history.users.first?.adjustments == 1)
            // A replay inside the window is a duplicate in the team too.
            _ = try await repository.record(user: "v1", callID: "c2", usage: Self.usage, cycle: cycle)
            #expect(try await repository.usage(scope: team, cycle: cycle).totalTokens == 30)
        }
    }

    @Test("retention deletes a team's old cycle at the users' horizon; its history stays")
    func retentionDeletesTeamCycle() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            let team = LedgerScope.team("old")
            _ = try await repository.setMembership(user: "w1", team: "old", org: nil)
            _ = try await repository.record(user: "w1", callID: "c1", usage: Self.usage, cycle: cycle)
            let rollover = try Rollover(repository: repository)
            let result = try await rollover.run(try RolloverOptions(retentionMonths: 1, dedupeWindowDays: 7))
            #expect(result.deletedUserCycles == 1 && result.deletedGroupCycles == 1, "\(result)")
            let teamKeys = try repository.keys.scope(team)
            #expect(try await Self.keyNames(repository, teamKeys.prefix + "c*").isEmpty)
            #expect(try await repository.pool.send(HGET(teamKeys.profile, field: "retired")) == cycle.description)
            #expect(try await rollover.history(cycle: cycle, kind: .team).totals.totalTokens == 15)
            let index = try await repository.pool.send(SMEMBERS(repository.keys.scopeIndexedCycles(.team)))
            #expect(!index.contains(cycle.description))
        }
    }
}
