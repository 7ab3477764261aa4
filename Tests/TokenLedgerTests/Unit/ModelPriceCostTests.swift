import Foundation
import Testing
import TokenLedger

/// A rate from its text (USD per million tokens).
private func usd(_ text: String) throws -> PriceRate { try PriceRate(usdPerMillionTokens: text, field: "rate") }

/// The default price file's entry for `model` (exact name).
private func listed(_ model: String) throws -> ModelPrice {
    try #require(try PriceFile.bundled().prices[model], "\(model) is not in the default price file")
}

@Suite("Prices: the cost of one event, computed by hand")
struct ModelPriceCostTests {
    @Test("the issue's acceptance case: 800,000 × 3 + 200,000 × 0.3 + 100,000 × 15 per million = 3.96 USD")
    func acceptance() throws {
        let price = try ModelPrice(input: try usd("3"), output: try usd("15"), cachedInput: try usd("0.3"))
        let record = UsageRecord(inputTokens: 1_000_000, outputTokens: 100_000, cachedInputTokens: 200_000)
        let cost = try price.cost(of: record)
        #expect(cost.nanoUSD == 3_960_000_000)
        #expect(cost.description == "3.960000000")
    }

    @Test("OpenAI with cached input: the cached tokens are part of the prompt, billed once at the cached rate")
    func openAICached() throws {
        // gpt-4o-2024-08-06 (alias of gpt-4o: 2.5 / cached 1.25 / 10), the PromisedCommandTests body:
        // 2350 prompt tokens of which 1920 cached, 860 completion tokens of which 640 reasoning.
        // (2350 − 1920) × 2.5 + 1920 × 1.25 + 860 × 10 = 1075 + 2400 + 8600 = 12,075 USD per million
        // → 0.012075 USD = 12,075,000 nano-USD. Reasoning is inside the 860, not added.
        let record = UsageRecord(
            inputTokens: 2350, outputTokens: 860, cachedInputTokens: 1920, reasoningTokens: 640)
        let table = PriceTable(defaults: try PriceFile.bundled())
        let (cost, match) = try #require(try table.cost(of: record, model: "gpt-4o-2024-08-06"))
        #expect(match.entry.model == "gpt-4o" && match.rules == [.snapshotSuffix])
        #expect(cost.nanoUSD == 12_075_000)
    }

    @Test("Anthropic with cache reads and 5-minute and 1-hour writes, read from a real-shaped response")
    func anthropicCacheWrites() throws {
        let data = try Data(
            contentsOf: try UsageFixtures.directory().appendingPathComponent("anthropic_messages_cache_1h.json"))
        let fixture = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let record = try UsageExtractor.extract(from: try JSONValue(jsonObject: fixture["response"]!))
        #expect(record.cacheWrite1hTokens == 2800 && record.cacheWriteTokens == 4000)
        // claude-sonnet-4-5: 3 / cached 0.3 / 5 m write 3.75 / 1 h write 6 / output 15.
        // 512 × 3 + 15,000 × 0.3 + 1,200 × 3.75 + 2,800 × 6 + 900 × 15
        // = 1,536 + 4,500 + 4,500 + 16,800 + 13,500 = 40,836 per million → 40,836,000 nano-USD.
        let table = PriceTable(defaults: try PriceFile.bundled())
        let (cost, match) = try #require(try table.cost(of: record, model: "claude-sonnet-4-5-20250929"))
        #expect(match.entry.model == "claude-sonnet-4-5")
        #expect(cost.nanoUSD == 40_836_000)
        // Without the split every write is a 5-minute one: 2,800 × (6 − 3.75) = 6,300 per million less.
        var unsplit = record
        unsplit.cacheWrite1hTokens = nil
        #expect(try table.cost(of: unsplit, model: "claude-sonnet-4-5")?.cost.nanoUSD == 34_536_000)
    }

    @Test("Anthropic thinking model: 38 + 3,900 cached + 450 written (5 min) in, 612 out")
    func anthropicThinking() throws {
        // The anthropic_messages.json counts at claude-sonnet-4-5's rates:
        // 38 × 3 + 3,900 × 0.3 + 450 × 3.75 + 612 × 15 = 114 + 1,170 + 1,687.5 + 9,180 = 12,151.5 per million.
        let record = UsageRecord(
            inputTokens: 4388, outputTokens: 612, cachedInputTokens: 3900, cacheWriteTokens: 450,
            cacheWrite1hTokens: 0, reasoningTokens: 389)
        #expect(try listed("claude-sonnet-4-5").cost(of: record).nanoUSD == 12_151_500)
    }

    @Test("Gemini 2.5 Pro above the 200k tier bills the whole request at the tier; at 200,000 exactly it does not")
    func geminiTier() throws {
        let price = try listed("gemini-2.5-pro")
        // Above: 250,000 in (50,000 cached), 10,000 out at 2.5 / cached 0.25 / 15:
        // 200,000 × 2.5 + 50,000 × 0.25 + 10,000 × 15 = 500,000 + 12,500 + 150,000 = 662,500 per million.
        let above = UsageRecord(inputTokens: 250_000, outputTokens: 10_000, cachedInputTokens: 50_000)
        #expect(try price.cost(of: above).nanoUSD == 662_500_000)
        // At 200,000 (not above): 200,000 × 1.25 + 10,000 × 10 = 350,000 per million.
        #expect(try price.cost(of: UsageRecord(inputTokens: 200_000, outputTokens: 10_000)).nanoUSD == 350_000_000)
        // One more input token: 200,001 × 2.5 + 10,000 × 15 = 650,002.5 per million → 0.6500025 USD.
        #expect(try price.cost(of: UsageRecord(inputTokens: 200_001, outputTokens: 10_000)).nanoUSD == 650_002_500)
    }

    @Test("a reasoning model: reasoning tokens are billed inside output, never twice")
    func reasoningModel() throws {
        // o4-mini: 1.1 / 4.4. 1,000 × 1.1 + 5,000 × 4.4 = 1,100 + 22,000 = 23,100 per million.
        let record = UsageRecord(inputTokens: 1000, outputTokens: 5000, reasoningTokens: 4000)
        let table = PriceTable(defaults: try PriceFile.bundled())
        #expect(try table.cost(of: record, model: "o4-mini-2025-04-16")?.cost.nanoUSD == 23_100_000)
    }

    @Test("an unpriced model has no cost; a price change applies to later events only")
    func unpricedAndChanged() throws {
        let defaults = try PriceFile.bundled()
        let record = UsageRecord(inputTokens: 1000, outputTokens: 100)
        #expect(try PriceTable(defaults: defaults).cost(of: record, model: "claude-opus-4-8") == nil)
        #expect(try PriceTable(defaults: defaults).cost(of: record, model: "llama3.2") == nil)
        // Event 1 at the default gpt-4o price: 1,000 × 2.5 + 100 × 10 = 3,500 per million.
        let first = try #require(try PriceTable(defaults: defaults).cost(of: record, model: "gpt-4o")).cost
        #expect(first.nanoUSD == 3_500_000)
        // An override of 5 / 20 for later events: 1,000 × 5 + 100 × 20 = 7,000 per million.
        let override = try PriceOverride(
            model: "gpt-4o", price: try ModelPrice(input: try usd("5"), output: try usd("20")),
            updatedAt: "2026-03-08T07:30:00Z")
        let second = try #require(
            try PriceTable(defaults: defaults, overrides: [override]).cost(of: record, model: "gpt-4o"))
        #expect(second.cost.nanoUSD == 7_000_000 && second.match.entry.origin == .override)
        // The cycle's sum is the sum of what each event cost when it was priced.
        #expect(first.addingReportingOverflow(second.cost).partialValue.nanoUSD == 10_500_000)
    }

    @Test("each event rounds once, half away from zero, to a whole nano-USD")
    func rounding() throws {
        let price = try ModelPrice(input: try usd("0.000000001"), output: .zero)
        // 1 nano-USD per million tokens: 500,000 tokens are half a nano-USD.
        #expect(try price.cost(of: UsageRecord(inputTokens: 499_999, outputTokens: 0)).nanoUSD == 0)
        #expect(try price.cost(of: UsageRecord(inputTokens: 500_000, outputTokens: 0)).nanoUSD == 1)
        #expect(try price.cost(of: UsageRecord(inputTokens: 1_500_000, outputTokens: 0)).nanoUSD == 2)
        #expect(try price.cost(of: UsageRecord(inputTokens: 2_499_999, outputTokens: 0)).nanoUSD == 2)
        // The sum is rounded, not each term: 3 terms of a third of a nano-USD each make 1.
        let thirds = try ModelPrice(
            input: try usd("0.000000001"), output: try usd("0.000000001"), cachedInput: try usd("0.000000001"))
        let record = UsageRecord(inputTokens: 666_668, outputTokens: 333_334, cachedInputTokens: 333_334)
        #expect(try thirds.cost(of: record).nanoUSD == 1)
    }

    @Test("the largest record at the largest rate is exact and fits in 64 bits")
    func noOverflow() throws {
        let price = try ModelPrice(input: .maximum, output: .maximum)
        let record = UsageRecord(inputTokens: 1_000_000_000_000, outputTokens: 1_000_000_000_000)
        // 2 × 10^12 tokens × 4,000 USD per million = 8,000,000,000 USD = 8 × 10^18 nano-USD.
        #expect(try price.cost(of: record).nanoUSD == 8_000_000_000_000_000_000)
        #expect(throws: ValidationError.self) {
            _ = try price.cost(of: UsageRecord(inputTokens: 1_000_000_000_001, outputTokens: 0))
        }
        #expect(throws: ValidationError.self) { _ = try PriceRate(nanoUSDPerMillionTokens: 4_000_000_000_001) }
    }

    @Test("a record whose subsets do not fit their parents is refused, not priced")
    func invalidRecords() throws {
        let price = try ModelPrice(input: try usd("3"), output: try usd("15"))
        let cases: [(UsageRecord, String)] = [
            (
                UsageRecord(inputTokens: 10, outputTokens: 0, cachedInputTokens: 6, cacheWriteTokens: 5),
                "cached_input_tokens"
            ),
            (
                UsageRecord(inputTokens: 10, outputTokens: 0, cacheWriteTokens: 4, cacheWrite1hTokens: 5),
                "cache_write_1h_tokens"
            ),
            (UsageRecord(inputTokens: 10, outputTokens: 0, cacheWrite1hTokens: 1), "cache_write_1h_tokens"),
            (UsageRecord(inputTokens: -1, outputTokens: 0), "input_tokens"),
            (UsageRecord(inputTokens: 1, outputTokens: 2, reasoningTokens: 3), "reasoning_tokens"),
        ]
        for (record, field) in cases {
            #expect {
                _ = try price.cost(of: record)
            } throws: { ($0 as? ValidationError)?.field == field }
        }
    }

    @Test("the 1-hour write rate defaults to the cache-write rate, which defaults to input; tiers default within")
    func defaults() throws {
        let price = try ModelPrice(input: try usd("2"), output: try usd("8"), cacheWrite: try usd("2.5"))
        let rates = price.baseRates
        #expect(try rates.cachedInput == usd("2") && rates.cacheWrite == usd("2.5"))
        #expect(rates.cacheWrite1h == (try usd("2.5")))
        let tier = try ModelPrice.Tier(parsing: "1000:4:16")
        #expect(try tier.rates.cachedInput == usd("4") && tier.rates.cacheWrite1h == usd("4"))
        #expect(tier.text == "1000:4:16:4:4:4")
        #expect(throws: ValidationError.self) {
            _ = try ModelPrice(input: .zero, output: .zero, tiers: [tier, try ModelPrice.Tier(parsing: "1000:5:6")])
        }
    }

    @Test("property: the cost of a sum of records is the sum of the per-event costs, within half a nano-USD each")
    func roundingIsPerEvent() throws {
        var generator = SplitMix64(seed: 0x5EED)
        let price = try ModelPrice(
            input: try usd("1.25"), output: try usd("10"), cachedInput: try usd("0.125"), cacheWrite: try usd("1.5625"),
            cacheWrite1h: try usd("2.5"))
        for _ in 0..<200 {
            let count = Int.random(in: 1...40, using: &generator)
            var total = UsageRecord(
                inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0)
            var sum = 0
            for _ in 0..<count {
                let input = Int.random(in: 0...5_000_000, using: &generator)
                let cached = Int.random(in: 0...input, using: &generator)
                let writes = Int.random(in: 0...(input - cached), using: &generator)
                let writes1h = Int.random(in: 0...writes, using: &generator)
                let output = Int.random(in: 0...100_000, using: &generator)
                let record = UsageRecord(
                    inputTokens: input, outputTokens: output, cachedInputTokens: cached, cacheWriteTokens: writes,
                    cacheWrite1hTokens: writes1h)
                sum += try price.cost(of: record).nanoUSD
                total.inputTokens += input
                total.outputTokens += output
                total.cachedInputTokens! += cached
                total.cacheWriteTokens! += writes
                total.cacheWrite1hTokens! += writes1h
            }
            let whole = try price.cost(of: total).nanoUSD
            #expect(whole >= sum - count && whole <= sum + count, "\(count) events: \(whole) vs \(sum)")
        }
    }
}
