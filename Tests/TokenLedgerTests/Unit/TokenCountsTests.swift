import Foundation
import RedisClient
import Testing

@testable import TokenLedger

/// Unit tests (no server) for the one counts type every usage value composes.
@Suite struct TokenCountsTests {
    private func bulk(_ text: String) -> RedisReply { .bulk(Array(text.utf8)) }

    private func hash(_ pairs: [(String, String)]) -> [RedisReply] {
        pairs.flatMap { [bulk($0.0), bulk($0.1)] }
    }

    private func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func sumAddsCounterByCounterAndDerivesTheTotal() {
        let a = TokenCounts(inputTokens: 100, outputTokens: 20, cachedInputTokens: 40, calls: 1)
        let b = TokenCounts(inputTokens: 7, outputTokens: 3, cachedInputTokens: 2, reasoningTokens: 1, calls: 2)
        let sum = a + b
        #expect(
            sum == TokenCounts(inputTokens: 107, outputTokens: 23, cachedInputTokens: 42, reasoningTokens: 1, calls: 3))
        #expect(sum.totalTokens == 130)
        // A subset neither side reported stays unreported; a reported 0 is kept.
        #expect(sum.cacheWriteTokens == nil)
        #expect((a + TokenCounts(cacheWriteTokens: 0)).cacheWriteTokens == 0)
        #expect(
            sum - b
                == TokenCounts(inputTokens: 100, outputTokens: 20, cachedInputTokens: 40, reasoningTokens: 0, calls: 1))
        var running = TokenCounts.zero
        running += a
        running += b
        #expect(
            running
                == TokenCounts(
                    inputTokens: 107, outputTokens: 23, cachedInputTokens: 42, cacheWriteTokens: 0, reasoningTokens: 1,
                    calls: 3))
    }

    @Test func overflowIsReportedNotWrapped() {
        let big = TokenCounts(inputTokens: Int.max - 1, outputTokens: 0)
        #expect(big.addingReportingOverflow(TokenCounts(inputTokens: 1)).overflow == false)
        #expect(big.addingReportingOverflow(TokenCounts(inputTokens: 2)).overflow)
        // The derived total leaving 64 bits is an overflow too, and the total itself saturates.
        #expect(big.addingReportingOverflow(TokenCounts(outputTokens: 5)).overflow)
        #expect(TokenCounts(inputTokens: Int.max, outputTokens: 5).totalTokens == Int.max)
    }

    @Test func parsesACycleHashReportingEverySubset() throws {
        let counts = try TokenCounts(
            cycleHash: hash([
                ("input_tokens", "1200"), ("output_tokens", "34"), ("cached_input_tokens", "500"), ("calls", "3"),
                ("m:input_tokens:gpt-4o", "999"), ("model:primary", "x"), ("total_tokens", "garbage-but-derived"),
            ]), key: "k")
        #expect(
            counts
                == TokenCounts(
                    inputTokens: 1200, outputTokens: 34, cachedInputTokens: 500, cacheWriteTokens: 0,
                    reasoningTokens: 0, calls: 3))
        #expect(counts.totalTokens == 1234)
        #expect(try TokenCounts(cycleHash: [], key: "k") == .zero)
    }

    @Test(arguments: ["-1", "12abc", "", "1.5", "99999999999999999999"])
    func refusesAStoredCounterThatIsNotANonNegativeInteger(_ stored: String) {
        let fields = hash([("input_tokens", "10"), ("output_tokens", stored)])
        #expect {
            _ = try TokenCounts(cycleHash: fields, key: "ns:{u}:cycle:2025-01-01")
        } throws: { error in
            guard let error = error as? LedgerError else { return false }
            return error.code == .corruptData && error.message.contains("ns:{u}:cycle:2025-01-01 field output_tokens")
        }
        // reset repairs such a cycle: lenient parsing skips the bad counter.
        #expect((try? TokenCounts(cycleHash: fields, key: "k", lenient: true))?.inputTokens == 10)
        #expect((try? TokenCounts(cycleHash: fields, key: "k", lenient: true))?.outputTokens == 0)
    }

    @Test func refusesInputPlusOutputBeyond64Bits() {
        let fields = hash([("input_tokens", String(Int.max)), ("output_tokens", "1")])
        #expect {
            _ = try TokenCounts(cycleHash: fields, key: "k")
        } throws: { error in
            (error as? LedgerError)?.message.contains("does not fit in 64 bits") == true
        }
    }

    @Test func encodesExplicitNullsForUnreportedSubsets() throws {
        let counts = TokenCounts(inputTokens: 10, outputTokens: 5, reasoningTokens: 2, calls: 1)
        #expect(
            try json(counts)
                == #"{"cache_write_tokens":null,"cached_input_tokens":null,"calls":1,"input_tokens":10,"#
                + #""output_tokens":5,"reasoning_tokens":2,"total_tokens":15}"#)
        let decoded = try JSONDecoder().decode(TokenCounts.self, from: Data(try json(counts).utf8))
        #expect(decoded == counts)
    }

    @Test func holdersWriteTheCountsBesideTheirOwnKeys() throws {
        let record = UsageRecord(inputTokens: 10, outputTokens: 5, cachedInputTokens: 4)
        #expect(record.counts.calls == 1)
        #expect(
            try json(record)
                == #"{"cache_write_tokens":null,"cached_input_tokens":4,"input_tokens":10,"output_tokens":5,"#
                + #""reasoning_tokens":null,"source":"reported","total_tokens":15}"#)
        let cycle = try CalendarDate(parsing: "2025-01-01")
        let usage = UserUsage(
            user: "u", cycle: cycle, cycleEnd: try CalendarDate(parsing: "2025-02-01"),
            counts: TokenCounts(inputTokens: 10, outputTokens: 5, calls: 2))
        // Sums report every subset: 0, never null.
        #expect(
            try json(usage)
                == #"{"cache_write_tokens":0,"cached_input_tokens":0,"calls":2,"cost_usd":null,"cycle":"2025-01-01","#
                + #""cycle_end":"2025-02-01","input_tokens":10,"limit":null,"limit_usd":null,"models":{},"output_tokens":5,"#
                + #""reasoning_tokens":0,"remaining":null,"remaining_usd":null,"reported_cost_usd":null,"reserved":0,"#
                + #""reserved_usd":"0.000000000","total_tokens":15,"unpriced_calls":0,"user":"u"}"#)
        #expect(try JSONDecoder().decode(UserUsage.self, from: Data(try json(usage).utf8)) == usage)
        #expect(
            try JSONDecoder().decode(CycleSummary.self, from: Data(try json(CycleSummary(usage)).utf8)).counts
                == usage.counts)
    }
}
