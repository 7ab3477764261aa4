import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// Issue 21: once a closed cycle's dedupe window has passed, rollover folds it into its history
/// summary (the call ids and the counters go, the summary is rewritten compactly), and every reader
/// of the cycle answers as before.
@Suite("A closed cycle past the window is folded into a compact summary")
struct ClosedCycleFoldTests {
    static var pastCycle: CalendarDate { DedupeWindowTests.pastCycle }

    /// Records a mix of models, priced and unpriced, with subsets and reported costs.
    static func recordMix(_ repository: TokenRepository, cycle: CalendarDate) async throws {
        let priced = UsageRecord(inputTokens: 120, outputTokens: 30, cachedInputTokens: 20, reasoningTokens: 5)
        for index in 0..<3 {
            _ = try await repository.record(
                user: "alice", callID: "a\(index)", usage: priced, model: "gpt-4o-mini", cycle: cycle)
        }
        _ = try await repository.record(
            user: "alice", callID: "a9", usage: UsageRecord(inputTokens: 7, outputTokens: 2), model: "no-such-model",
            cycle: cycle)
        _ = try await repository.record(
            user: "bob", callID: "b1", usage: UsageRecord(inputTokens: 50, outputTokens: 0), cycle: cycle)
    }

    /// Records the mix in `cycle` and runs rollover once with a dedupe window of `windowDays` (0: the
    /// cycle is folded at once; a long one: closed, not folded). Returns the rollover to run again.
    static func closedMix(_ repository: TokenRepository, cycle: CalendarDate, windowDays: Int) async throws -> Rollover
    {
        try await recordMix(repository, cycle: cycle)
        let rollover = try Rollover(repository: repository)
        _ = try await rollover.run(try RolloverOptions(dedupeWindowDays: windowDays))
        return rollover
    }

    @Test("usage, report and history read the same before and after the fold; the cycle hash is gone")
    func readersAnswerTheSame() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            try await Self.recordMix(repository, cycle: cycle)
            let rollover = try Rollover(repository: repository)
            // Closed, inside the window (a long one): nothing folded yet.
            _ = try await rollover.run(try RolloverOptions(dedupeWindowDays: 3650))
            let alice = try await repository.usage(user: "alice", cycle: cycle)
            let bob = try await repository.usage(user: "bob", cycle: cycle)
            let report = try await repository.report(cycle: cycle)
            let history = try await rollover.history(cycle: cycle)
            #expect(alice.models.count == 2 && alice.money.cost != nil && alice.money.unpricedCalls == 1)
            let fullText = try #require(
                try await repository.pool.send(HGET(repository.keys.history(cycle), field: "alice")))

            let result = try await rollover.run(try RolloverOptions(dedupeWindowDays: 7))
            #expect(result.droppedCallIDs == 2)
            // The cycle hash is gone (the profile names the folded cycle); the summary is compact.
            let aliceKeys = try repository.keys.user("alice")
            #expect(try await repository.pool.send(EXISTS(aliceKeys.cycle(cycle))) == 0)
            #expect(try await repository.pool.send(HGET(aliceKeys.profile, field: "folded")) == cycle.description)
            let compact = try #require(
                try await repository.pool.send(HGET(repository.keys.history(cycle), field: "alice")))
            #expect(CompactSummary.isCompact(compact) && compact.utf8.count * 2 < fullText.utf8.count, "\(compact)")

            // Every reader answers as before.
            #expect(try await repository.usage(user: "alice", cycle: cycle) == alice)
            #expect(try await repository.usage(user: "bob", cycle: cycle) == bob)
            #expect(try await repository.report(cycle: cycle) == report)
            #expect(try await rollover.history(cycle: cycle) == history)
            #expect(try await rollover.histories(user: "alice").first?.users == [history.users[0]])
            // A second run changes nothing.
            let again = try await rollover.run(try RolloverOptions(dedupeWindowDays: 7))
            #expect(again.droppedCallIDs == 0)
            #expect(try await repository.usage(user: "alice", cycle: cycle) == alice)
        }
    }

    @Test("an event applied anyway after the fold amends the compact summary, for the primary model and another")
    func forcedApplyAmendsCompactSummary() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            let rollover = try await Self.closedMix(repository, cycle: cycle, windowDays: 0)
            let before = try await repository.usage(user: "alice", cycle: cycle)
            await #expect(throws: ParkedWrite.self) {
                try await repository.record(
                    user: "alice", callID: "a0", usage: UsageRecord(inputTokens: 1, outputTokens: 1), cycle: cycle)
            }
            for (callID, model) in [("late-1", "gpt-4o-mini"), ("late-2", "no-such-model"), ("late-3", "new-model")] {
                let event = SpooledEvent(
                    operation: .record, user: "alice", callID: callID,
                    usage: UsageRecord(inputTokens: 10, outputTokens: 4, cachedInputTokens: 3), model: model,
                    cycle: cycle, at: Date(), namespace: repository.keys.namespace)
                #expect(try await repository.applyParked(event).applied)
            }
            let after = try await repository.usage(user: "alice", cycle: cycle)
            #expect(after.totalTokens == before.totalTokens + 42 && after.calls == before.calls + 3)
            #expect(after.cachedInputTokens == before.cachedInputTokens + 9)
            #expect(after.models["gpt-4o-mini"]?.calls == 4 && after.models["gpt-4o-mini"]?.totalTokens == 464)
            #expect(after.models["no-such-model"]?.calls == 2 && after.models["no-such-model"]?.inputTokens == 17)
            #expect(after.models["new-model"]?.calls == 1 && after.models["new-model"]?.outputTokens == 4)
            #expect(after.money.unpricedCalls == before.money.unpricedCalls + 2)
            let history = try await rollover.history(cycle: cycle)
            #expect(history.users.first { $0.user == "alice" }?.adjustments == 3)
            #expect(history.users.first { $0.user == "alice" }?.counts == after.counts)
            #expect(history.totals.totalTokens == after.totalTokens + 50)
        }
    }

    @Test("a fold leaves the user no key of the cycle; a parked event applied anyway is folded again by the next run")
    func foldKeepsNoKeyPerCycle() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            let rollover = try await Self.closedMix(repository, cycle: cycle, windowDays: 0)
            let aliceKeys = try repository.keys.user("alice")
            let pattern = aliceKeys.profile.replacingOccurrences(of: ":profile", with: ":*")
            // Only the profile is left, naming the folded cycle: no key per user and cycle.
            #expect(try await GroupRolloverTests.keyNames(repository, pattern) == [aliceKeys.profile])
            #expect(try await repository.pool.send(HGET(aliceKeys.profile, field: "folded")) == cycle.description)
            let before = try await repository.usage(user: "alice", cycle: cycle)
            #expect(before.calls == 4)
            await #expect(throws: ParkedWrite.self) {
                try await repository.record(
                    user: "alice", callID: "a0", usage: UsageRecord(inputTokens: 1, outputTokens: 1), cycle: cycle)
            }
            // Applied anyway: a late call of the folded cycle, whose new hash says so.
            let event = SpooledEvent(
                operation: .record, user: "alice", callID: "late-1",
                usage: UsageRecord(inputTokens: 10, outputTokens: 4),
                model: "gpt-4o-mini", cycle: cycle, at: Date(), namespace: repository.keys.namespace)
            #expect(try await repository.applyParked(event).applied)
            #expect(try await repository.pool.send(HGET(aliceKeys.cycle(cycle), field: "history:state")) == "folded")
            let amended = try await repository.usage(user: "alice", cycle: cycle)
            #expect(amended.calls == 5 && amended.totalTokens == before.totalTokens + 14)
            #expect(try await repository.report(cycle: cycle).users.first { $0.user == "alice" } == amended)
            // The next run folds it again: the profile is all that is left, and every reader agrees.
            let again = try await rollover.run(try RolloverOptions(dedupeWindowDays: 0))
            #expect(again.droppedCallIDs == 1)
            // (The late call's announcement stays in the user's event stream.)
            let left = try await GroupRolloverTests.keyNames(repository, pattern).sorted()
            #expect(left == [aliceKeys.events, aliceKeys.profile].sorted(), "\(left)")
            #expect(try await repository.usage(user: "alice", cycle: cycle) == amended)
            #expect(try await repository.report(cycle: cycle).users.first { $0.user == "alice" } == amended)
            await #expect(throws: ParkedWrite.self) {
                try await repository.record(
                    user: "alice", callID: "late-1", usage: UsageRecord(inputTokens: 10, outputTokens: 4),
                    model: "gpt-4o-mini", cycle: cycle)
            }
        }
    }

    @Test("reset of a folded cycle is refused naming the cycle; nothing changes")
    func resetOfFoldedCycleRefused() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            let rollover = try await Self.closedMix(repository, cycle: cycle, windowDays: 0)
            let before = try await repository.usage(user: "alice", cycle: cycle)
            let history = try await rollover.history(cycle: cycle)
            let events = try await repository.events(user: "alice")
            let error = await #expect(throws: LedgerError.self) {
                try await repository.reset(user: "alice", cycle: cycle)
            }
            #expect(error?.code == .cycleFolded && error?.message.contains(cycle.description) == true)
            #expect(error?.message.contains("folded") == true, "\(String(describing: error))")
            #expect(try await repository.usage(user: "alice", cycle: cycle) == before)
            #expect(try await rollover.history(cycle: cycle) == history)
            #expect(try await repository.events(user: "alice") == events)
            let aliceKeys = try repository.keys.user("alice")
            #expect(try await repository.pool.send(EXISTS(aliceKeys.cycle(cycle))) == 0)
            // A closed cycle inside the window still resets (its counters; the history stays).
            let other = cycle.adding(days: 10)
            _ = try await repository.record(
                user: "alice", callID: "o1", usage: UsageRecord(inputTokens: 5, outputTokens: 5), cycle: other)
            #expect(try await repository.reset(user: "alice", cycle: other).totalTokens == 10)
        }
    }

    @Test("cycles an earlier build dropped the call ids of (counters kept) or folded into marks are folded now")
    func earlierBuildsCyclesAreFolded() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            let rollover = try await Self.closedMix(repository, cycle: cycle, windowDays: 3650)
            let alice = try await repository.usage(user: "alice", cycle: cycle)
            let bob = try await repository.usage(user: "bob", cycle: cycle)
            let pool = repository.pool
            // Shaped as the builds before folding left alice's cycle: call ids dropped, counters kept,
            // the hash marked `calls:dropped`; and as the first folding build left bob's: marks only.
            let aliceKeys = try repository.keys.user("alice")
            let bobKeys = try repository.keys.user("bob")
            _ = try await pool.send(DEL(aliceKeys.callBuckets(cycle) + bobKeys.callBuckets(cycle)))
            _ = try await pool.send(HSET(aliceKeys.cycle(cycle), fields: [("calls:dropped", "1700000000000")]))
            _ = try await pool.send(DEL(bobKeys.cycle(cycle)))
            _ = try await pool.send(
                HSET(bobKeys.cycle(cycle), fields: [("history:state", "closed"), ("calls:dropped", "1700000000000")]))
            // Read as folded (from the summary) and parked, before and after the fold.
            #expect(try await repository.usage(user: "bob", cycle: cycle) == bob)
            await #expect(throws: ParkedWrite.self) {
                try await repository.record(
                    user: "alice", callID: "new", usage: UsageRecord(inputTokens: 1, outputTokens: 1), cycle: cycle)
            }
            let result = try await rollover.run(try RolloverOptions(dedupeWindowDays: 7))
            #expect(result.droppedCallIDs == 2, "\(result)")
            for keys in [aliceKeys, bobKeys] {
                #expect(try await pool.send(EXISTS(keys.cycle(cycle))) == 0)
                #expect(try await pool.send(HGET(keys.profile, field: "folded")) == cycle.description)
            }
            let compact = try #require(try await pool.send(HGET(repository.keys.history(cycle), field: "alice")))
            #expect(CompactSummary.isCompact(compact), "\(compact)")
            #expect(try await repository.usage(user: "alice", cycle: cycle) == alice)
            #expect(try await repository.usage(user: "bob", cycle: cycle) == bob)
            await #expect(throws: ParkedWrite.self) {
                try await repository.record(
                    user: "bob", callID: "new", usage: UsageRecord(inputTokens: 1, outputTokens: 1), cycle: cycle)
            }
        }
    }

    @Test("a cycle a policy change carries is not folded while its usage still counts against the limit")
    func carriedCycleKeepsCounting() async throws {
        try await withRepository { repository in
            func instant(_ text: String) throws -> Date { try ISO8601Instant.parse(text) }
            // Monthly (the default): 90 of 100 in March; on the 20th the user moves to daily cycles,
            // so March's cycle is carried (it counts until 1 April) while the daily calendar says it
            // ended on 2 March, more than the window before the 20th.
            try await repository.setLimit(user: "carol", tokens: 100)
            _ = try await repository.record(
                user: "carol", callID: "c1", usage: UsageRecord(inputTokens: 60, outputTokens: 30),
                at: try instant("2026-03-05T10:00:00Z"))
            let switched = try instant("2026-03-20T12:00:00Z")
            try await repository.setCyclePolicy(
                user: "carol", policy: try BillingCyclePolicy(period: .daily), at: switched)
            #expect(try await repository.check(user: "carol", tokens: 50, at: switched).allowed == false)
            let rollover = try Rollover(repository: repository)
            _ = try await rollover.run(try RolloverOptions(now: switched, dedupeWindowDays: 7))
            // Not folded: the counters the carry reads are still there, and the call is still denied.
            let march = try CalendarDate(parsing: "2026-03-01")
            let fields = try await repository.pool.send(HGETALL(try repository.keys.user("carol").cycle(march)))
            #expect(fields["input_tokens"] == "60", "\(fields)")
            #expect(try await repository.check(user: "carol", tokens: 50, at: switched).allowed == false)
            #expect(try await repository.check(user: "carol", tokens: 10, at: switched).allowed == true)
            // Once the carry has ended and the window passed, the cycle folds as any other.
            let later = try instant("2026-04-20T12:00:00Z")
            _ = try await rollover.run(try RolloverOptions(now: later, dedupeWindowDays: 7))
            let carolKeys = try repository.keys.user("carol")
            #expect(try await repository.pool.send(EXISTS(carolKeys.cycle(march))) == 0)
            #expect(try await repository.pool.send(HGET(carolKeys.profile, field: "folded")) == "2026-03-01")
            #expect(try await repository.usage(user: "carol", cycle: march).counts.totalTokens == 90)
        }
    }
}
