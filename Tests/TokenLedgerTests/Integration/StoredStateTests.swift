import Foundation
import RedisClient
import Testing
import TokenLedger

/// Stored values a script did not expect (written by a raw command or another program) are refused
/// with the key named, before anything is written; never trusted, skipped or admitted.
@Suite("Scripts refuse corrupt stored values")
struct StoredStateTests {
    private static let at = Date(timeIntervalSince1970: 1_780_000_000)  // a fixed instant: one cycle

    private func isCorrupt(_ error: any Error, naming text: String) -> Bool {
        guard let error = error as? LedgerError else { return false }
        return error.code == .corruptData && error.message.contains("stored value is corrupt")
            && error.message.contains(text)
    }

    @Test("a negative reserved is refused by reserve, check, release and settle, naming the key; nothing changes")
    func negativeReserved() async throws {
        try await withRepository { repository async throws in
            let keys = try repository.keys.user("victim")
            try await repository.setLimit(user: "victim", tokens: 1000)
            #expect(
                try await repository.reserve(user: "victim", callID: "l1", tokens: 10, at: Self.at).status == .admitted)
            let cycle = try await repository.usage(user: "victim", at: Self.at).cycle
            _ = try await repository.pool.send(RedisCommand("DECRBY", keys.reserved, 950_010))
            let expected = "\(keys.reserved) holds -950000"
            await #expect {
                _ = try await repository.reserve(user: "victim", callID: "big", tokens: 50_000, at: Self.at)
            } throws: {
                isCorrupt($0, naming: expected)
            }
            await #expect { _ = try await repository.check(user: "victim", tokens: 1, at: Self.at) } throws: {
                isCorrupt($0, naming: expected)
            }
            await #expect { _ = try await repository.release(user: "victim", callID: "l1") } throws: {
                isCorrupt($0, naming: expected)
            }
            await #expect {
                _ = try await repository.settle(
                    user: "victim", callID: "l1", usage: UsageRecord(inputTokens: 5, outputTokens: 5), at: Self.at)
            } throws: { isCorrupt($0, naming: expected) }
            // Nothing was written: the lease, reserved and the cycle are as the corruption left them.
            #expect(try await repository.pool.send(RedisCommand("GET", keys.reserved)).string == "-950000")
            #expect(try await repository.pool.send(RedisCommand("HGET", keys.leases, "l1")).string == "10")
            #expect(try await repository.pool.send(RedisCommand("HLEN", keys.leases)).int == 1)
            #expect(try await repository.pool.send(RedisCommand("EXISTS", keys.cycle(cycle))).int == 0)
        }
    }

    @Test(
        "non-numeric, negative and fractional counters and limits are refused by record, check and reserve, naming key and field",
        arguments: [
            ("cycle", "input_tokens", "abc"), ("cycle", "output_tokens", "-5"), ("cycle", "calls", "1.5"),
            ("cycle", "input_tokens", "nan"), ("cycle", "output_tokens", "inf"), ("profile", "limit", "lots"),
            ("profile", "limit", "-1"),
        ])
    func corruptCounter(key kind: String, field: String, value: String) async throws {
        try await withRepository { repository async throws in
            let keys = try repository.keys.user("u")
            try await repository.setLimit(user: "u", tokens: 1000)
            _ = try await repository.record(
                user: "u", callID: "r1", usage: UsageRecord(inputTokens: 10, outputTokens: 10), at: Self.at)
            let cycle = try await repository.usage(user: "u", at: Self.at).cycle
            let key = kind == "cycle" ? keys.cycle(cycle) : keys.profile
            _ = try await repository.pool.send(RedisCommand("HSET", key, field, value))
            let before = try await repository.pool.send(RedisCommand("HGETALL", keys.cycle(cycle)))
            let expected = "\(key) \(field) holds \(value)"
            await #expect {
                _ = try await repository.record(
                    user: "u", callID: "r2", usage: UsageRecord(inputTokens: 1, outputTokens: 1), at: Self.at)
            } throws: { isCorrupt($0, naming: expected) }
            if kind == "profile" || field != "calls" {  // quotas read the limit and the token counters
                await #expect {
                    _ = try await repository.reserve(user: "u", callID: "l", tokens: 1, at: Self.at)
                } throws: { isCorrupt($0, naming: expected) }
                await #expect { _ = try await repository.check(user: "u", tokens: 1, at: Self.at) } throws: {
                    isCorrupt($0, naming: expected)
                }
            }
            #expect(try await repository.pool.send(RedisCommand("HGETALL", keys.cycle(cycle))) == before)
            #expect(try await repository.pool.send(RedisCommand("HEXISTS", keys.calls(cycle), "r2")).int == 0)
            #expect(try await repository.pool.send(RedisCommand("HLEN", keys.leases)).int == 0)
        }
    }

    @Test("a corrupt lease amount or a corrupt cached counter is refused before any write")
    func corruptLeaseAndSubCounter() async throws {
        try await withRepository { repository async throws in
            let keys = try repository.keys.user("u")
            #expect(try await repository.reserve(user: "u", callID: "l1", tokens: 10, at: Self.at).status == .admitted)
            _ = try await repository.pool.send(RedisCommand("HSET", keys.leases, "l1", "-3"))
            await #expect { _ = try await repository.release(user: "u", callID: "l1") } throws: {
                isCorrupt($0, naming: "\(keys.leases) l1 holds -3")
            }
            #expect(try await repository.pool.send(RedisCommand("GET", keys.reserved)).string == "10")
            // A lease larger than reserved: the keys disagree.
            _ = try await repository.pool.send(RedisCommand("HSET", keys.leases, "l1", "500"))
            await #expect { _ = try await repository.release(user: "u", callID: "l1") } throws: {
                isCorrupt($0, naming: "\(keys.reserved) holds 10, less than the lease of l1 (500)")
            }

            _ = try await repository.record(
                user: "u", callID: "r1", usage: UsageRecord(inputTokens: 10, outputTokens: 10), at: Self.at)
            let cycle = try await repository.usage(user: "u", at: Self.at).cycle
            _ = try await repository.pool.send(RedisCommand("HSET", keys.cycle(cycle), "cached_input_tokens", "x"))
            await #expect {
                _ = try await repository.record(
                    user: "u", callID: "r2",
                    usage: UsageRecord(inputTokens: 10, outputTokens: 10, cachedInputTokens: 5), at: Self.at)
            } throws: { isCorrupt($0, naming: "\(keys.cycle(cycle)) cached_input_tokens holds x") }
            // usage reports the corrupt sub-counter instead of reading it as 0 (SPEC "Bad input").
            await #expect(throws: LedgerError.self) { try await repository.usage(user: "u", at: Self.at) }
            let counters = try await repository.pool.send(
                RedisCommand("HMGET", keys.cycle(cycle), "input_tokens", "output_tokens"))
            #expect(counters.array?.compactMap(\.string) == ["10", "10"])
            #expect(try await repository.pool.send(RedisCommand("HEXISTS", keys.calls(cycle), "r2")).int == 0)
            // reset, the administrator's remedy, still works on a corrupt cycle.
            _ = try await repository.reset(user: "u", cycle: cycle)
            #expect(
                try await repository.record(
                    user: "u", callID: "r3", usage: UsageRecord(inputTokens: 1, outputTokens: 1, cachedInputTokens: 1),
                    at: Self.at
                ).applied)
        }
    }
}
