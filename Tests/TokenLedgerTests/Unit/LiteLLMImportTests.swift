import Foundation
import Testing
import TokenLedger

/// The LiteLLM excerpt of `Fixtures/litellm/` (its README says what it holds).
private func excerpt() throws -> [UInt8] {
    let url = Bundle.module.bundleURL.appendingPathComponent("Fixtures/litellm/model_prices_and_context_window.json")
    return Array(try Data(contentsOf: url))
}

private func usd(_ text: String) throws -> PriceRate { try PriceRate(usdPerMillionTokens: text, field: "rate") }

@Suite("Prices: importing LiteLLM's model_prices_and_context_window.json")
struct LiteLLMImportTests {
    @Test("token-priced entries become prices, converted exactly; the others are skipped and counted")
    func excerptFile() throws {
        let parsed = try LiteLLMPriceImport(parsing: try excerpt(), name: "excerpt.json")
        #expect(
            parsed.prices.map(\.model) == [
                "amazon.nova-2-pro-preview-20251202-v1:0", "claude-sonnet-4-5", "gemini/gemini-2.5-pro", "gpt-4o",
                "gpt-4o-mini", "o1-pro", "text-embedding-3-small", "xai/grok-4",
            ])
        #expect(
            parsed.withoutTokenPrices == [
                "1024-x-1024/dall-e-2", "amazon.nova-canvas-v1:0", "sample_spec", "whisper-1",
            ])
        #expect(parsed.invalid.isEmpty)

        let sonnet = try #require(parsed.pricesByModel["claude-sonnet-4-5"])
        #expect(try sonnet.input == usd("3") && sonnet.output == usd("15"))
        #expect(try sonnet.cachedInput == usd("0.3") && sonnet.cacheWrite == usd("3.75"))
        #expect(sonnet.cacheWrite1h == (try usd("6")))
        #expect(sonnet.provider == "anthropic" && sonnet.source == "litellm")
        // The tier: its own input, output, cache read, write and 1-hour write prices
        // (cache_creation_input_token_cost_above_1hr_above_200k_tokens).
        #expect(sonnet.tiers.map(\.text) == ["200000:6:22.5:0.6:7.5:12"])

        let gemini = try #require(parsed.pricesByModel["gemini/gemini-2.5-pro"])
        // No tier 1-hour price in the file: the tier's 1-hour writes take its write price.
        #expect(gemini.tiers.map(\.text) == ["200000:2.5:15:0.25:2.5:2.5"])
        #expect(gemini.baseRates.cachedInput == (try usd("0.125")))
        let grok = try #require(parsed.pricesByModel["xai/grok-4"])
        // A tier without its own cache read price keeps the base one.
        #expect(grok.tiers.map(\.text) == ["128000:6:30:0.75:6:6"])
        #expect(
            parsed.pricesByModel["amazon.nova-2-pro-preview-20251202-v1:0"]?.input.nanoUSDPerMillionTokens
                == 2_187_500_000)
        #expect(
            parsed.pricesByModel["amazon.nova-2-pro-preview-20251202-v1:0"]?.cachedInput?.nanoUSDPerMillionTokens
                == 546_875_000)
        #expect(parsed.pricesByModel["o1-pro"]?.output == (try usd("600")))
        #expect(parsed.pricesByModel["text-embedding-3-small"]?.output == .zero)
        #expect(parsed.pricesByModel["gpt-4o-mini"]?.cachedInput == (try usd("0.075")))

        // Imported as overrides, the route-prefixed name prices a bare model name too (and a Gemini
        // response's model is priced at the imported rate above 200k).
        let table = PriceTable(
            defaults: PriceFile(asOf: try CalendarDate(parsing: "2025-01-01"), prices: [:]),
            overrides: try parsed.prices.map {
                try PriceOverride(model: $0.model, price: $0.price, updatedAt: "2026-01-01T00:00:00Z")
            })
        let record = UsageRecord(inputTokens: 250_000, outputTokens: 10_000, cachedInputTokens: 50_000)
        #expect(try table.cost(of: record, model: "gemini/gemini-2.5-pro")?.cost.nanoUSD == 662_500_000)
    }

    @Test("entries the ledger refuses are skipped with the reason; the rest still import")
    func invalidEntries() throws {
        let text = """
            {"good": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
             "negative": {"input_cost_per_token": -1e-06, "output_cost_per_token": 2e-06},
             "noisy": {"input_cost_per_token": 3.0000000000000004e-07, "output_cost_per_token": 2e-06},
             "huge": {"input_cost_per_token": 5, "output_cost_per_token": 2e-06},
             "string cache": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "cache_read_input_token_cost": "0.1"},
             "\(String(repeating: "m", count: 129))": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
             "input only": {"input_cost_per_token": 1e-06},
             "string input": {"input_cost_per_token": "3e-06", "output_cost_per_token": 2e-06},
             "null output": {"input_cost_per_token": 1e-06, "output_cost_per_token": null},
             "not an object": 3}
            """
        let parsed = try LiteLLMPriceImport(parsing: Array(text.utf8), name: "f.json")
        #expect(parsed.prices.map(\.model) == ["good"])
        #expect(parsed.withoutTokenPrices == ["input only", "not an object", "null output"])
        let reasons = Dictionary(uniqueKeysWithValues: parsed.invalid.map { ($0.model, $0.reason) })
        #expect(reasons.count == 6)
        // A token price written as a string is named as refused, not counted as "no token prices".
        #expect(reasons[#""string input""#] == "input_cost_per_token is not a number")
        #expect(reasons[#""negative""#]?.contains("input_cost_per_token") == true)
        #expect(reasons[#""negative""#]?.contains("cannot be negative") == true)
        #expect(reasons[#""noisy""#]?.contains("at most 15 decimals") == true)
        #expect(reasons[#""huge""#]?.contains("largest rate") == true)
        #expect(reasons[#""string cache""#]?.contains("cache_read_input_token_cost is not a number") == true)
        #expect(parsed.invalid.contains { $0.reason.contains("128") })
    }

    @Test("a file that is not JSON, or not an object of entries, is refused naming the file")
    func badFiles() {
        for (text, needle) in [
            ("{\"a\": ", "is not JSON"), ("[1, 2]", "not LiteLLM's price file"), ("", "is not JSON"),
            ("{\"a\": 1} x", "is not JSON"), ("{\"a\": 01}", "is not JSON"), ("{\"a\": \"\\ud800\"}", "is not JSON"),
        ] {
            #expect {
                _ = try LiteLLMPriceImport(parsing: Array(text.utf8), name: "f.json")
            } throws: { error in
                guard let error = error as? ValidationError else { return false }
                return error.code == .invalidPriceFile && error.message.hasPrefix("f.json")
                    && error.message.contains(needle)
            }
        }
        // Escapes and a byte-order mark are read as JSON has them.
        let parsed = try? LiteLLMPriceImport(
            parsing: [0xEF, 0xBB, 0xBF]
                + Array(#"{"caf\u00e9/\ud83d\ude00": {"input_cost_per_token": 1e-6, "output_cost_per_token": 0}}"#.utf8),
            name: "f.json")
        #expect(parsed?.prices.map(\.model) == ["café/😀"])
    }
}
