import Foundation
import RedisClient
import RedisTestSupport
import Synchronization
import TokenLedger

/// The workload of the cluster's resharding and failover tests: concurrent callers each record
/// distinct call ids through one ``UsageRecorder``, users spread over every master, and each
/// caller keeps what it was told (applied, duplicate, spooled: the event is durable; anything else
/// is not), so that the totals Redis ends with can be checked against what callers were promised.
struct ClusterLoad: Sendable {
    /// The users, hash tags on every master.
    var users: [String]
    /// Concurrent callers.
    var callers = 32
    /// Records in all (split evenly over the callers).
    var records = 20_000
    /// Each caller waits at this record of its own until ``Progress/release()``: the topology
    /// change then happens while every caller still has records to send, however slow the machine.
    var holdAt: Int
    /// The cycle every record books into (explicit, so a run across midnight or a month end does
    /// not split the totals).
    var cycle: CalendarDate
    var instant: Date

    /// How far the callers are, and the gate they wait at.
    final class Progress: Sendable {
        let sent = Atomic<Int>(0)
        let open = Atomic<Bool>(false)
        /// Records answered so far.
        var done: Int { sent.load(ordering: .relaxed) }
        /// Lets every caller past ``ClusterLoad/holdAt``.
        func release() { open.store(true, ordering: .relaxed) }
        /// Whether every caller is waiting at the gate (or finished): `expected` records answered.
        func reached(_ expected: Int) -> Bool { done >= expected }
    }

    /// What the callers were told.
    struct Tally: Sendable, CustomStringConvertible {
        /// Tokens per user of the records acknowledged as applied, duplicate or spooled.
        var tokens: [String: Int] = [:]
        /// Records per user acknowledged as applied, duplicate or spooled.
        var calls: [String: Int] = [:]
        /// How many records ended how (`applied`, `applied_unreplicated`, `duplicate`, `spooled`,
        /// `rejected`, `failed`).
        var outcomes: [String: Int] = [:]

        mutating func merge(_ other: Tally) {
            tokens.merge(other.tokens, uniquingKeysWith: +)
            calls.merge(other.calls, uniquingKeysWith: +)
            outcomes.merge(other.outcomes, uniquingKeysWith: +)
        }

        var description: String { "\(outcomes.sorted { $0.key < $1.key })" }
    }

    /// Users whose hash tags fall on every master: `prefix0`, `prefix1`, … (`count` of them).
    static func users(_ prefix: String, count: Int) -> [String] { (0..<count).map { "\(prefix)\($0)" } }

    /// Runs the callers to their end and returns what they were told.
    func run(recorder: UsageRecorder, progress: Progress) async -> Tally {
        let perCaller = records / callers
        return await withTaskGroup(of: Tally.self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var tally = Tally()
                    for index in 0..<perCaller {
                        if index == holdAt {
                            _ = await waitUntil(timeout: .seconds(900), interval: .milliseconds(10)) {
                                progress.open.load(ordering: .relaxed)
                            }
                        }
                        let user = users[(caller + index * callers) % users.count]
                        let usage = UsageRecord(inputTokens: 1 + (caller + index) % 17, outputTokens: 1 + index % 5)
                        let outcome = await recorder.record(
                            user: user, callID: "c\(caller)-\(index)", usage: usage, cycle: cycle, at: instant)
                        let name: String
                        switch outcome {
                        // Applied but not acknowledged by enough replicas (WAIT): spooled too.
                        case .applied(let result): name = result.unreplicated ? "applied_unreplicated" : "applied"
                        case .duplicate: name = "duplicate"
                        case .conflict: name = "conflict"
                        case .parked: name = "parked"
                        case .spooled: name = "spooled"
                        case .rejected: name = "rejected"
                        case .failed: name = "failed"
                        }
                        tally.outcomes[name, default: 0] += 1
                        if outcome.isDurable {
                            tally.tokens[user, default: 0] += usage.totalTokens
                            tally.calls[user, default: 0] += 1
                        }
                        progress.sent.add(1, ordering: .relaxed)
                    }
                    return tally
                }
            }
            var all = Tally()
            for await tally in group { all.merge(tally) }
            return all
        }
    }

    /// How Redis's totals compare with what the callers were told, per user.
    struct Comparison: Sendable, CustomStringConvertible {
        /// Acknowledged records Redis does not have (per user: expected calls − stored, when positive).
        var lostCalls = 0
        /// Tokens of those.
        var lostTokens = 0
        /// Records counted more than once, or never sent (stored calls − expected, when positive).
        var extraCalls = 0
        /// Tokens beyond what was acknowledged.
        var extraTokens = 0
        /// Users whose totals differ, with both sides.
        var differences: [String] = []

        var exact: Bool { lostCalls == 0 && extraCalls == 0 && lostTokens == 0 && extraTokens == 0 }

        var description: String {
            "lost \(lostCalls) calls (\(lostTokens) tokens), extra \(extraCalls) calls (\(extraTokens) tokens); "
                + differences.prefix(5).joined(separator: "; ")
        }
    }

    /// Reads every user's totals and compares them with `tally`.
    func compare(_ tally: Tally, in repository: TokenRepository) async throws -> Comparison {
        var comparison = Comparison()
        for user in users {
            let usage = try await repository.usage(user: user, cycle: cycle)
            let expectedCalls = tally.calls[user, default: 0]
            let expectedTokens = tally.tokens[user, default: 0]
            comparison.lostCalls += max(0, expectedCalls - usage.calls)
            comparison.extraCalls += max(0, usage.calls - expectedCalls)
            comparison.lostTokens += max(0, expectedTokens - usage.totalTokens)
            comparison.extraTokens += max(0, usage.totalTokens - expectedTokens)
            if usage.calls != expectedCalls || usage.totalTokens != expectedTokens {
                comparison.differences.append(
                    "\(user): \(usage.calls) calls / \(usage.totalTokens) tokens, told \(expectedCalls) / \(expectedTokens)"
                )
            }
        }
        return comparison
    }

    /// Replays `recorder`'s spool until it is empty, retrying while the cluster still settles.
    ///
    /// - Returns: Whether the spool emptied before the deadline, and the last replay's result or error.
    static func drain(_ recorder: UsageRecorder) async -> (drained: Bool, last: String) {
        var last = "not tried"
        let drained = await waitUntil(timeout: .seconds(300), interval: .milliseconds(200)) {
            do {
                let result = try await recorder.flush()
                last = "\(result)"
                return result.remaining == 0 && result.otherNamespace == 0
            } catch {
                last = "\(error)"
                return false
            }
        }
        return (drained, last)
    }
}
