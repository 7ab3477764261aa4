import Foundation
import RedisClient
import Testing
import TokenLedger

@Suite("Recording usage")
struct RecordingTests {
    @Test("recording the same call id twice counts once")
    func duplicate() async throws {
        try await withRepository { repository async throws in
            let usage = UsageRecord(inputTokens: 100, outputTokens: 20, cachedInputTokens: 40, reasoningTokens: 5)
            let first = try await repository.record(
                user: "alice", callID: "call-1", usage: usage, model: "gpt-4o", at: testInstant)
            #expect(first.applied)
            #expect(first.totalTokens == 120)
            let second = try await repository.record(
                user: "alice", callID: "call-1", usage: usage, model: "gpt-4o", at: testInstant)
            #expect(!second.applied)
            #expect(second.totalTokens == 120)
            let seen = try await repository.usage(user: "alice", at: testInstant)
            #expect(seen.inputTokens == 100 && seen.outputTokens == 20 && seen.totalTokens == 120)
            #expect(seen.cachedInputTokens == 40 && seen.reasoningTokens == 5 && seen.cacheWriteTokens == 0)
            #expect(seen.calls == 1)
            #expect(
                seen.models["gpt-4o"]
                    // gpt-4o (2.5 / cached 1.25 / 10): 60 × 2.5 + 40 × 1.25 + 20 × 10 = 400 per million.
                    == UserUsage.ModelUsage(
                        inputTokens: 100, outputTokens: 20, totalTokens: 120, calls: 1, cost: Cost(nanoUSD: 400_000)))
        }
    }

    @Test("three replays of 1,000 events, shuffled and concurrent, count each event once")
    func replays() async throws {
        try await withRepository { repository async throws in
            let events = (0..<1000).map { index in
                (
                    user: "user-\(index % 10)", callID: "evt-\(index)",
                    usage: UsageRecord(inputTokens: index, outputTokens: index % 13)
                )
            }
            var expected: [String: (Int, Int)] = [:]
            for event in events {
                let (input, output) = expected[event.user] ?? (0, 0)
                expected[event.user] = (input + event.usage.inputTokens, output + event.usage.outputTokens)
            }
            var rng = SplitMix64(seed: 7)
            let replayed = (events + events + events).shuffled(using: &rng)
            let (applied, duplicates) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for chunk in stride(from: 0, to: replayed.count, by: 100) {
                    let slice = replayed[chunk..<min(chunk + 100, replayed.count)]
                    group.addTask {
                        var counts = (applied: 0, duplicates: 0)
                        for event in slice {
                            let result = try await repository.record(
                                user: event.user, callID: event.callID, usage: event.usage, at: testInstant)
                            if result.applied { counts.applied += 1 } else { counts.duplicates += 1 }
                        }
                        return counts
                    }
                }
                var total = (0, 0)
                for try await counts in group { total = (total.0 + counts.0, total.1 + counts.1) }
                return total
            }
            // Each of the 1,000 events is applied exactly once; its two replays are duplicates.
            #expect(applied == 1000 && duplicates == 2000, "applied \(applied), duplicates \(duplicates)")
            for (user, totals) in expected {
                let usage = try await repository.usage(user: user, at: testInstant)
                #expect(usage.inputTokens == totals.0, "\(user)")
                #expect(usage.outputTokens == totals.1, "\(user)")
                #expect(usage.calls == 100, "\(user)")
            }
        }
    }

    @Test("user ids with braces, colons, spaces, emoji and 256 bytes work and never collide")
    func awkwardUserIDs() async throws {
        try await withRepository { repository async throws in
            let users = [
                "a", "a:b", "a}b", "{a}", "a{b}", "a b", "a%7Bb", "a%3Ab", "%", "👩‍💻 team", "global",
                String(repeating: "x", count: 256), String(repeating: "é", count: 128),
            ]
            for (index, user) in users.enumerated() {
                _ = try await repository.record(
                    user: user, callID: "c", usage: UsageRecord(inputTokens: index + 1, outputTokens: 0),
                    at: testInstant)
            }
            for (index, user) in users.enumerated() {
                let usage = try await repository.usage(user: user, at: testInstant)
                #expect(usage.inputTokens == index + 1, "user \(user)")
                #expect(usage.calls == 1, "user \(user)")
            }
            let report = try await repository.report(at: testInstant)
            #expect(Set(report.users.map(\.user)) == Set(users))
        }
    }

    @Test(
        "bad input is refused before anything is written",
        arguments: [
            (String(repeating: "x", count: 257), 1, 1, "user_id"),
            ("bad\u{7}bell", 1, 1, "user_id"),
            ("nul\u{0}", 1, 1, "user_id"),
            ("", 1, 1, "user_id"),
            ("bob", -1, 1, "input_tokens"),
            ("bob", 1, 1_000_000_000_001, "output_tokens"),
        ])
    func badInput(user: String, input: Int, output: Int, field: String) async throws {
        try await withRepository { repository async throws in
            _ = try await repository.record(
                user: "bob", callID: "seed", usage: UsageRecord(inputTokens: 5, outputTokens: 5), at: testInstant)
            let before = try await snapshot(repository)
            await #expect {
                _ = try await repository.record(
                    user: user, callID: "c2", usage: UsageRecord(inputTokens: input, outputTokens: output),
                    at: testInstant)
            } throws: { error in
                let error = try #require(error as? ValidationError)
                return error.field == field && !error.message.isEmpty
            }
            #expect(try await snapshot(repository) == before)
        }
    }

    @Test("subsets larger than their parent, long model names and long call ids are refused")
    func inconsistentUsage() async throws {
        try await withRepository { repository async throws in
            let before = try await snapshot(repository)
            await #expect(throws: ValidationError.self) {
                _ = try await repository.record(
                    user: "u", callID: "c", usage: UsageRecord(inputTokens: 10, outputTokens: 1, cachedInputTokens: 11),
                    at: testInstant)
            }
            await #expect(throws: ValidationError.self) {
                _ = try await repository.record(
                    user: "u", callID: "c", usage: UsageRecord(inputTokens: 10, outputTokens: 1, reasoningTokens: 2),
                    at: testInstant)
            }
            await #expect(throws: ValidationError.self) {
                _ = try await repository.record(
                    user: "u", callID: "c", usage: UsageRecord(inputTokens: 1, outputTokens: 1),
                    model: String(repeating: "m", count: 129), at: testInstant)
            }
            await #expect(throws: ValidationError.self) {
                _ = try await repository.record(
                    user: "u", callID: String(repeating: "c", count: 129),
                    usage: UsageRecord(inputTokens: 1, outputTokens: 1), at: testInstant)
            }
            #expect(try await snapshot(repository) == before)
        }
    }

    @Test("counters cannot overflow: the script refuses before writing")
    func overflowUnreachable() async throws {
        try await withRepository { repository async throws in
            let big = UsageRecord(inputTokens: 1_000_000_000_000, outputTokens: 1_000_000_000_000)
            // Put the counter near the 2^53 - 1 ceiling directly, as if after 4,500 huge calls.
            let cycleKey = try repository.keys.user("whale").cycle(
                try await repository.usage(user: "whale", at: testInstant).cycle)
            _ = try await repository.pool.send(RedisCommand("HSET", cycleKey, "input_tokens", 9_007_198_000_000_000))
            let before = try await snapshot(repository)
            await #expect {
                _ = try await repository.record(user: "whale", callID: "one-more", usage: big, at: testInstant)
            } throws: { error in
                (error as? LedgerError)?.code == .overflow
            }
            let after = try await snapshot(repository)
            // Only the derived index may have been touched; the user's counters are unchanged.
            #expect(after.filter { !$0.key.contains("{global}") } == before.filter { !$0.key.contains("{global}") })
        }
    }

    @Test("threshold events fire once each at 80 % and 100 %, not again later in the cycle")
    func thresholds() async throws {
        try await withRepository { repository async throws in
            try await repository.setLimit(user: "t", tokens: 1000)
            let usage = UsageRecord(inputTokens: 50, outputTokens: 50)
            for index in 0..<7 {
                _ = try await repository.record(user: "t", callID: "a\(index)", usage: usage, at: testInstant)
            }
            #expect(try await repository.events(user: "t").isEmpty)  // 700 = 70 %
            _ = try await repository.record(user: "t", callID: "b", usage: usage, at: testInstant)  // 800 = 80 %
            var events = try await repository.events(user: "t")
            #expect(events.map { $0["threshold"] } == ["80"])
            for index in 0..<5 {
                _ = try await repository.record(user: "t", callID: "c\(index)", usage: usage, at: testInstant)
            }  // 1300
            events = try await repository.events(user: "t")
            #expect(events.map { $0["threshold"] } == ["80", "100"])
            #expect(events.allSatisfy { $0["type"] == "threshold" && $0["user"] == "t" && $0["limit"] == "1000" })
            #expect(events[1]["used"] == "1000")
        }
    }
}
