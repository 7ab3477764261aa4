import Foundation
import RedisClient
import Testing
import TokenLedger

/// The record script stores no `m:` counters for a cycle's first (primary) model and readers derive
/// them (docs/schema.md); these tests pin that every per-model figure stays exact.
@Suite("Per-model counters")
struct PerModelCountersTests {
    /// A cycle hash as field → value.
    static func cycleHash(_ repository: TokenRepository, user: String, cycle: CalendarDate) async throws -> [String:
        String]
    {
        let reply = try await repository.pool.send(RedisCommand("HGETALL", try repository.keys.user(user).cycle(cycle)))
        let parts = reply.array ?? []
        var hash: [String: String] = [:]
        for index in stride(from: 0, to: parts.count - 1, by: 2) {
            hash[parts[index].string ?? ""] = parts[index + 1].string ?? ""
        }
        return hash
    }

    /// The default price file's list prices as nano-USD per token (input, output): gpt-4o 2.5 / 10,
    /// gpt-4o-mini 0.15 / 0.6 USD per million tokens, whole nano-USD per token, so no event rounds.
    /// Other models of these tests have no price.
    static let nanoPerToken: [String: (input: Int, output: Int)] = [
        "gpt-4o": (2_500, 10_000), "gpt-4o-mini": (150, 600),
    ]

    /// Sums events per model, independently of the repository (cost from ``nanoPerToken``).
    static func expectedModels(_ events: [(model: String, input: Int, output: Int)]) -> [String: UserUsage.ModelUsage] {
        var models: [String: UserUsage.ModelUsage] = [:]
        for event in events {
            var entry = models[event.model] ?? UserUsage.ModelUsage(cost: .zero)
            entry.inputTokens += event.input
            entry.outputTokens += event.output
            entry.totalTokens += event.input + event.output
            entry.calls += 1
            if let rates = nanoPerToken[event.model] {
                entry.cost?.nanoUSD += event.input * rates.input + event.output * rates.output
            } else {
                entry.unpricedCalls += 1
            }
            models[event.model] = entry
        }
        return models
    }

    @Test("several models in one cycle, duplicates included: every model's figures are exact")
    func severalModels() async throws {
        try await withRepository { repository async throws in
            let instant = at("2026-03-10T12:00:00Z")
            let names = ["gpt-4o", "claude-sonnet", "", "gpt-4o-mini"]
            var rng = SplitMix64(seed: 42)
            var events: [(model: String, input: Int, output: Int)] = []
            for index in 0..<300 {
                let model = index == 0 ? "gpt-4o" : names[Int(rng.next() % UInt64(names.count))]
                let event = (model: model, input: Int(rng.next() % 5000), output: Int(rng.next() % 900))
                let usage = UsageRecord(inputTokens: event.input, outputTokens: event.output)
                let result = try await repository.record(
                    user: "m", callID: "c\(index)", usage: usage, model: model, at: instant)
                #expect(result.applied)
                events.append(event)
                if index % 7 == 0 {
                    // A replay of an earlier call (its usage), under another model name: still a duplicate.
                    let earlier = events[index / 2]
                    let replay = try await repository.record(
                        user: "m", callID: "c\(index / 2)",
                        usage: UsageRecord(inputTokens: earlier.input, outputTokens: earlier.output),
                        model: "gpt-4o-mini", at: instant)
                    #expect(!replay.applied)
                }
            }
            let usage = try await repository.usage(user: "m", at: instant)
            let expected = Self.expectedModels(events)
            #expect(usage.models == expected)
            #expect(usage.calls == 300)
            #expect(usage.totalTokens == events.reduce(0) { $0 + $1.input + $1.output })
            let report = try await repository.report(cycle: usage.cycle, top: nil)
            #expect(report.users.first { $0.user == "m" }?.models == expected)

            // The first model is the cycle's primary model: it has no stored m: counters.
            let hash = try await Self.cycleHash(repository, user: "m", cycle: usage.cycle)
            #expect(hash["model:primary"] == "gpt-4o")
            #expect(hash["m:input_tokens:gpt-4o"] == nil && hash["m:calls:gpt-4o"] == nil)
            #expect(hash["m:calls:claude-sonnet"] == String(expected["claude-sonnet"]?.calls ?? -1))
        }
    }

    @Test("a cycle stored before the primary model existed keeps exact per-model figures")
    func earlierLayout() async throws {
        try await withRepository { repository async throws in
            let cycle = date("2026-03-01")
            let key = try repository.keys.user("old").cycle(cycle)
            // What the previous record script wrote: m: counters for every model, no primary.
            _ = try await repository.pool.send(
                RedisCommand(
                    "HSET", key, "input_tokens", 300, "output_tokens", 30, "calls", 3,
                    "m:input_tokens:a", 100, "m:output_tokens:a", 10, "m:calls:a", 1,
                    "m:input_tokens:b", 200, "m:output_tokens:b", 20, "m:calls:b", 2))
            for (index, model) in ["a", "c", "b", "c"].enumerated() {
                _ = try await repository.record(
                    user: "old", callID: "n\(index)", usage: UsageRecord(inputTokens: 1000, outputTokens: 1),
                    model: model,
                    cycle: cycle)
            }
            let usage = try await repository.usage(user: "old", cycle: cycle)
            #expect(
                usage.models == [
                    // The cost fields start with the first priced-era record: each of the four new
                    // calls is unpriced (models a, b, c have no price).
                    "a": UserUsage.ModelUsage(
                        inputTokens: 1100, outputTokens: 11, totalTokens: 1111, calls: 2, cost: .zero, unpricedCalls: 1),
                    "b": UserUsage.ModelUsage(
                        inputTokens: 1200, outputTokens: 21, totalTokens: 1221, calls: 3, cost: .zero, unpricedCalls: 1),
                    "c": UserUsage.ModelUsage(
                        inputTokens: 2000, outputTokens: 2, totalTokens: 2002, calls: 2, cost: .zero, unpricedCalls: 2),
                ])
            #expect(usage.totalTokens == 330 + 4 * 1001 && usage.calls == 7)
            #expect(try await Self.cycleHash(repository, user: "old", cycle: cycle)["model:primary"] == nil)
        }
    }

    @Test("after a reset the next record starts a new primary model; the audit lists counters only")
    func resetStartsOver() async throws {
        try await withRepository { repository async throws in
            let cycle = date("2026-03-01")
            _ = try await repository.record(
                user: "r", callID: "1", usage: UsageRecord(inputTokens: 10, outputTokens: 1), model: "a", cycle: cycle)
            _ = try await repository.record(
                user: "r", callID: "2", usage: UsageRecord(inputTokens: 20, outputTokens: 2), model: "b", cycle: cycle)
            _ = try await repository.reset(user: "r", cycle: cycle, actor: "test")
            let audit = try #require(try await repository.events(user: "r").last)
            #expect(
                audit["type"] == "reset" && audit["previous_calls"] == "2" && audit["previous_total_tokens"] == "33")
            #expect(audit.keys.allSatisfy { !$0.contains(":") }, "\(audit.keys.sorted())")

            _ = try await repository.record(
                user: "r", callID: "3", usage: UsageRecord(inputTokens: 5, outputTokens: 5), model: "b", cycle: cycle)
            let usage = try await repository.usage(user: "r", cycle: cycle)
            #expect(
                usage.models == [
                    "b": UserUsage.ModelUsage(
                        inputTokens: 5, outputTokens: 5, totalTokens: 10, calls: 1, cost: .zero, unpricedCalls: 1)
                ])
            #expect(try await Self.cycleHash(repository, user: "r", cycle: cycle)["model:primary"] == "b")
        }
    }

    @Test("settle books usage under the same per-model rules")
    func settle() async throws {
        try await withRepository { repository async throws in
            let instant = at("2026-03-10T12:00:00Z")
            for (index, model) in ["x", "y", "x"].enumerated() {
                _ = try await repository.reserve(user: "s", callID: "q\(index)", tokens: 100, at: instant)
                _ = try await repository.settle(
                    user: "s", callID: "q\(index)", usage: UsageRecord(inputTokens: 40, outputTokens: 2 + index),
                    model: model,
                    at: instant)
            }
            let usage = try await repository.usage(user: "s", at: instant)
            #expect(
                usage.models == [
                    "x": UserUsage.ModelUsage(
                        inputTokens: 80, outputTokens: 6, totalTokens: 86, calls: 2, cost: .zero, unpricedCalls: 2),
                    "y": UserUsage.ModelUsage(
                        inputTokens: 40, outputTokens: 3, totalTokens: 43, calls: 1, cost: .zero, unpricedCalls: 1),
                ])
            #expect(usage.reserved == 0)
        }
    }
}
