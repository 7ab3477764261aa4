import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// Late events: calls applied to a cycle after rollover closed it amend its history, once.
@Suite("late events: a closed cycle's history stays true")
struct LateEventTests {
    /// September 2026 (default policy: calendar month, UTC), closed by a run on 2 October.
    static let september = date("2026-09-01")
    static let closeRun = at("2026-10-02T00:30:00Z")

    static func history(_ repo: TokenRepository) async throws -> CycleHistory {
        try await Rollover(repository: repo).history(cycle: september)
    }

    @Test("a record and a settle after the close amend the summary, the totals, the audit and the stream, once")
    func lateRecordAmends() async throws {
        let metrics = TestMetrics()
        try await withRepository(metrics: LedgerMetrics(factory: metrics)) { repo in
            _ = try await repo.record(
                user: "lu", callID: "early", usage: UsageRecord(inputTokens: 60, outputTokens: 40), model: "m1",
                at: at("2026-09-10T12:00:00Z"))
            _ = try await repo.record(
                user: "other", callID: "o1", usage: UsageRecord(inputTokens: 5, outputTokens: 5), model: "m1",
                at: at("2026-09-11T12:00:00Z"))
            let run = try await Rollover(repository: repo).run(try RolloverOptions(now: Self.closeRun))
            #expect(run.closed.map(\.totalTokens) == [110])
            #expect(try await Self.history(repo).users.first { $0.user == "lu" }?.totalTokens == 100)

            // The spooled event of the repro: 999 tokens, applied after the close.
            let late = try await repo.record(
                user: "lu", callID: "late-1",
                usage: UsageRecord(inputTokens: 900, outputTokens: 99, cachedInputTokens: 100, reasoningTokens: 9),
                model: "m2", at: at("2026-09-20T12:00:00Z"))
            #expect(late.applied && late.amendsHistory && late.cycle == Self.september && late.totalTokens == 1099)
            // A settle without a lease in the closed cycle amends too.
            let settle = try await repo.settle(
                user: "lu", callID: "late-2", usage: UsageRecord(inputTokens: 1, outputTokens: 0), model: "m1",
                at: at("2026-09-21T12:00:00Z"))
            #expect(settle.applied && settle.amendsHistory)

            var history = try await Self.history(repo)
            let lu = try #require(history.users.first { $0.user == "lu" })
            #expect(lu.totalTokens == 1100 && lu.inputTokens == 961 && lu.outputTokens == 139 && lu.calls == 3)
            #expect(lu.cachedInputTokens == 100 && lu.reasoningTokens == 9 && lu.adjustments == 2)
            // m1 and m2 have no price: each call is an unpriced one, in the summary and its models.
            #expect(
                lu.models["m2"]
                    == UserUsage.ModelUsage(inputTokens: 900, outputTokens: 99, calls: 1, cost: .zero, unpricedCalls: 1)
                    .withTotal())
            #expect(
                lu.models["m1"]
                    == UserUsage.ModelUsage(inputTokens: 61, outputTokens: 40, calls: 2, cost: .zero, unpricedCalls: 2)
                    .withTotal())
            #expect(lu.money == CycleCost(cost: .zero, unpricedCalls: 3))
            #expect(history.totals.money.unpricedCalls == 4 && history.totals.money.cost == .zero)
            #expect(history.totals.totalTokens == 1110 && history.totals.calls == 4 && history.totals.adjustments == 2)
            #expect(history.totals.users == 2 && history.totals.models["m2"]?.totalTokens == 999)
            #expect(history.adjustments.map(\.callID) == ["late-1", "late-2"])
            let entry = try #require(history.adjustments.first { $0.callID == "late-1" })
            #expect(entry.user == "lu" && entry.totalTokens == 999 && entry.inputTokens == 900 && entry.model == "m2")
            #expect(entry.cachedInputTokens == 100 && entry.reasoningTokens == 9 && entry.at.hasSuffix("Z"))
            // The live counter and the history agree.
            #expect(try await repo.usage(user: "lu", cycle: Self.september).totalTokens == lu.totalTokens)
            // Nothing is left pending, and the user's stream says what happened.
            let pending = try await repo.pool.send(
                RedisCommand("EXISTS", try repo.keys.user("lu").late(Self.september)))
            #expect(pending.int == 0)
            let events = try await repo.events(user: "lu").filter { $0["type"] == "adjustment" }
            #expect(events.map { $0["call_id"] } == ["late-1", "late-2"])
            #expect(events.first?["delta_tokens"] == "999" && events.first?["cycle"] == "2026-09-01")
            #expect(metrics.counterTotal(label: "tokenledger_history_adjustments_total") == 2)

            // Replays change nothing: not the counters, not the history, not the stream.
            let replay = try await repo.record(
                user: "lu", callID: "late-1", usage: UsageRecord(inputTokens: 900, outputTokens: 99), model: "m2",
                at: at("2026-09-20T12:00:00Z"))
            #expect(!replay.applied && !replay.amendsHistory)
            history = try await Self.history(repo)
            #expect(history.users.first { $0.user == "lu" }?.totalTokens == 1100 && history.adjustments.count == 2)
            #expect(try await repo.events(user: "lu").filter { $0["type"] == "adjustment" }.count == 2)
            // A second rollover neither closes nor amends again.
            let again = try await Rollover(repository: repo).run(try RolloverOptions(now: Self.closeRun))
            #expect(again.closed.isEmpty && again.amendedCalls == 0)
            #expect(try await Self.history(repo) == history)
            #expect(metrics.counterTotal(label: "tokenledger_history_adjustments_total") == 2)
        }
    }

    @Test("a caller that dies after the record script leaves the adjustment pending; rollover applies it once")
    func pendingAdjustmentIsAppliedByRollover() async throws {
        try await withRepository { repo in
            _ = try await repo.record(
                user: "lu", callID: "a", usage: UsageRecord(inputTokens: 100, outputTokens: 0),
                at: at("2026-09-10T12:00:00Z"))
            let rollover = try Rollover(repository: repo)
            _ = try await rollover.run(try RolloverOptions(now: Self.closeRun))
            // The record script alone, as a process killed before amending the history would leave it.
            let settings = try await repo.settings()
            let prepared = try repo.prepareWrite(
                .record, user: "lu", callID: "late", usage: UsageRecord(inputTokens: 999, outputTokens: 0), model: "",
                cycle: nil, at: at("2026-09-20T12:00:00Z"), settings: settings, cost: .priced(Cost(nanoUSD: 1_234)))
            let replies = try await repo.pool.evaluateMany(prepared.calls)
            #expect(replies[PreparedWrite.writeIndex].array?.first?.string == "late")
            #expect(try await Self.history(repo).totals.totalTokens == 100)

            let dry = try await rollover.run(try RolloverOptions(now: Self.closeRun, dryRun: true))
            #expect(dry.amendedCalls == 1)
            #expect(try await Self.history(repo).totals.totalTokens == 100)
            let run = try await rollover.run(try RolloverOptions(now: Self.closeRun))
            #expect(run.amendedCalls == 1)
            let history = try await Self.history(repo)
            #expect(history.totals.totalTokens == 1099 && history.users.map(\.totalTokens) == [1099])
            #expect(history.adjustments.map(\.callID) == ["late"])
            // The pending adjustment carried the event's cost into the summary, the totals and the audit.
            #expect(history.adjustments.first?.cost == .priced(Cost(nanoUSD: 1_234)))
            #expect(history.users.first?.money == CycleCost(cost: Cost(nanoUSD: 1_234), unpricedCalls: 1))
            #expect(history.totals.money == CycleCost(cost: Cost(nanoUSD: 1_234), unpricedCalls: 1))
            let rerun = try await rollover.run(try RolloverOptions(now: Self.closeRun))
            #expect(rerun.amendedCalls == 0)
            #expect(try await Self.history(repo) == history)
        }
    }

    @Test("a rollover that dies between marking a cycle closed and writing its summary loses nothing")
    func crashBetweenMarkAndSummary() async throws {
        try await withRepository { repo in
            _ = try await repo.record(
                user: "lu", callID: "a", usage: UsageRecord(inputTokens: 100, outputTokens: 0),
                at: at("2026-09-10T12:00:00Z"))
            // Index the user, then run only close.lua's mark (what a run killed right after it leaves).
            _ = try await Rollover(repository: repo).run(try RolloverOptions(now: at("2026-09-15T00:00:00Z")))
            let lu = try repo.keys.user("lu")
            _ = try await repo.run(CloseScript(userKeys: lu, cycle: Self.september, defaultLimit: nil, mark: true))
            // A late call now: its caller finds no summary yet, so the adjustment stays pending.
            let late = try await repo.record(
                user: "lu", callID: "late", usage: UsageRecord(inputTokens: 999, outputTokens: 0),
                at: at("2026-09-20T12:00:00Z"))
            #expect(late.amendsHistory)
            #expect(try await repo.pool.send(RedisCommand("HLEN", lu.late(Self.september))).int == 1)

            let run = try await Rollover(repository: repo).run(try RolloverOptions(now: Self.closeRun))
            #expect(run.closed.map(\.totalTokens) == [100] && run.amendedCalls == 1)
            let history = try await Self.history(repo)
            #expect(history.users.map(\.totalTokens) == [1099] && history.users.map(\.adjustments) == [1])
            #expect(history.totals.totalTokens == 1099 && history.totals.calls == 2)
            #expect(try await repo.pool.send(RedisCommand("EXISTS", lu.late(Self.september))).int == 0)
        }
    }

    @Test("after retention deleted a cycle, a late event for it is refused with nothing written")
    func retiredCycleRefusesLateEvents() async throws {
        try await withRepository { repo in
            _ = try await repo.record(
                user: "lu", callID: "a", usage: UsageRecord(inputTokens: 100, outputTokens: 0),
                at: at("2024-09-10T12:00:00Z"))
            _ = try await repo.record(
                user: "lu", callID: "now", usage: UsageRecord(inputTokens: 1, outputTokens: 0),
                at: at("2026-10-01T12:00:00Z"))
            let run = try await Rollover(repository: repo).run(try RolloverOptions(now: Self.closeRun))
            #expect(run.deletedUserCycles == 1)
            // The derived index may regain the user for that cycle (the record's index call runs
            // beside it); the next rollover drops it again. Everything else stays as it was.
            let ledger = { () async throws -> [String: String] in
                try await snapshot(repo).filter { !$0.key.contains("}:index:") && !$0.key.hasSuffix("}:cycles") }
            }
            let before = try await ledger()
            for callID in ["a", "late"] {
                let error = await #expect(throws: LedgerError.self) {
                    try await repo.record(
                        user: "lu", callID: callID, usage: UsageRecord(inputTokens: 999, outputTokens: 0),
                        at: at("2024-09-20T12:00:00Z"))
                }
                #expect(error?.code == .cycleRetired && error?.message.contains("2024-09-01") == true)
            }
            #expect(try await ledger() == before)
            // The running cycle still records.
            let current = try await repo.record(
                user: "lu", callID: "n2", usage: UsageRecord(inputTokens: 1, outputTokens: 0),
                at: at("2026-10-02T12:00:00Z"))
            #expect(current.applied && !current.amendsHistory)
        }
    }

    @Test("rollover refuses an instant beyond the server's clock plus 5 minutes; a dry run may look ahead")
    func futureRolloverIsRefused() async throws {
        try await withRepository { repo in
            _ = try await repo.record(user: "lu", callID: "a", usage: UsageRecord(inputTokens: 100, outputTokens: 0))
            let before = try await snapshot(repo)
            let rollover = try Rollover(repository: repo)
            let future = Date().addingTimeInterval(40 * 86_400)
            let error = await #expect(throws: LedgerError.self) {
                try await rollover.run(try RolloverOptions(now: future))
            }
            #expect(error?.code == .instantInFuture && error?.message.contains("clock") == true)
            #expect(try await snapshot(repo) == before)
            let dry = try await rollover.run(try RolloverOptions(now: future, dryRun: true))
            #expect(dry.closed.map(\.users) == [1])
            #expect(try await snapshot(repo) == before)
            // Within the tolerance (a skewed clock) is accepted.
            let skewed = try await rollover.run(try RolloverOptions(now: Date().addingTimeInterval(60)))
            #expect(!skewed.locked && skewed.closed.isEmpty)
        }
    }
}

extension UserUsage.ModelUsage {
    /// The entry with its total filled in (as readers derive it).
    fileprivate func withTotal() -> Self {
        var copy = self
        copy.totalTokens = inputTokens + outputTokens
        return copy
    }
}
