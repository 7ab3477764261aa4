import Foundation
import Testing

@testable import TokenLedger

/// The compact form rollover folds a closed cycle's summary into after the dedupe window (issue 21).
@Suite("Compact history summaries")
struct CompactSummaryTests {
    static func summary(
        models: [String: UserUsage.ModelUsage], counts: TokenCounts, money: CycleCost, limit: Int? = nil,
        adjustments: Int = 0
    ) -> CycleSummary {
        var usage = UserUsage(
            user: "u", cycle: date("2026-03-01"), cycleEnd: date("2026-04-01"), counts: counts, limit: limit,
            models: models)
        usage.money = money
        var summary = CycleSummary(usage)
        summary.adjustments = adjustments
        return summary
    }

    static let cases: [CycleSummary] = [
        // One model, priced, with subsets and a reported cost, a limit and adjustments.
        summary(
            models: [
                "gpt-4o": .init(
                    inputTokens: 900, outputTokens: 100, totalTokens: 1000, calls: 7, cost: Cost(nanoUSD: 4_500))
            ],
            counts: TokenCounts(
                inputTokens: 900, outputTokens: 100, cachedInputTokens: 40, cacheWriteTokens: 3, reasoningTokens: 9,
                calls: 7),
            money: CycleCost(cost: Cost(nanoUSD: 4_500), unpricedCalls: 0, reportedCost: Cost(nanoUSD: 4_400)),
            limit: 50_000, adjustments: 2),
        // Two models, one unpriced, a model name with a colon.
        summary(
            models: [
                "a:b": .init(
                    inputTokens: 10, outputTokens: 1, totalTokens: 11, calls: 1, cost: .zero, unpricedCalls: 1),
                "big": .init(inputTokens: 90, outputTokens: 9, totalTokens: 99, calls: 3, cost: Cost(nanoUSD: 77)),
            ],
            counts: TokenCounts(inputTokens: 100, outputTokens: 10, calls: 4),
            money: CycleCost(cost: Cost(nanoUSD: 77), unpricedCalls: 1)),
        // No cost at all (a legacy import), no model name.
        summary(
            models: ["": .init(inputTokens: 5, outputTokens: 2, totalTokens: 7, calls: 1)],
            counts: TokenCounts(inputTokens: 5, outputTokens: 2, calls: 1), money: CycleCost()),
        // A primary model named like the full form's member (the form is told by members, not text).
        summary(
            models: ["cycle_end": .init(inputTokens: 5, outputTokens: 2, totalTokens: 7, calls: 1)],
            counts: TokenCounts(inputTokens: 5, outputTokens: 2, calls: 1), money: CycleCost()),
    ]

    @Test("a summary reads back the same from its compact form, which is much shorter", arguments: cases)
    func roundTrip(_ summary: CycleSummary) throws {
        let compact = try #require(CompactSummary.encode(summary))
        #expect(CompactSummary.isCompact(compact))
        let back = try CycleSummary.stored(compact, user: "u", cycle: date("2026-03-01"), key: "k")
        #expect(back == summary)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let full = String(decoding: try encoder.encode(summary), as: UTF8.self)
        #expect(!CompactSummary.isCompact(full))
        #expect(try CycleSummary.stored(full, user: "u", cycle: date("2026-03-01"), key: "k") == summary)
        #expect(compact.utf8.count * 3 < full.utf8.count, "\(compact)")
    }

    @Test("per-model figures that do not add up keep the full form; a damaged compact summary is corrupt data")
    func refusals() throws {
        let odd = Self.summary(
            models: ["a": .init(inputTokens: 1, outputTokens: 0, totalTokens: 1, calls: 1)],
            counts: TokenCounts(inputTokens: 50, outputTokens: 0, calls: 2), money: CycleCost())
        // Read back, "a" would be derived as the cycle's counters (50 tokens): not the same summary.
        #expect(CompactSummary.encode(odd) == nil)
        // A user indexed without usage (no model at all) keeps the full form too.
        #expect(CompactSummary.encode(Self.summary(models: [:], counts: .zero, money: CycleCost())) == nil)
        #expect(throws: LedgerError.self) {
            try CycleSummary.stored(#"{"e":31,"i":-4}"#, user: "u", cycle: date("2026-03-01"), key: "k")
        }
        #expect(throws: LedgerError.self) {
            try CycleSummary.stored(#"{"e":"2026-04-01","i":4}"#, user: "u", cycle: date("2026-03-01"), key: "k")
        }
        #expect(throws: LedgerError.self) {
            try CycleSummary.stored(#"{"i":4}"#, user: "u", cycle: date("2026-03-01"), key: "k")
        }
    }
}
