import Foundation
import Testing
import TokenLedger

private func defaultTable(_ overrides: [PriceOverride] = []) throws -> PriceTable {
    PriceTable(defaults: try PriceFile.bundled(), overrides: overrides)
}

@Suite("Prices: the default price file and the model name rules")
struct PriceLookupTests {
    @Test(
        "dated snapshots, route prefixes and Bedrock ids map to their base entry",
        arguments: [
            ("gpt-4o", "gpt-4o", ""), ("gpt-4o-2024-08-06", "gpt-4o", "snapshot_suffix"),
            ("gpt-4o-2024-11-20", "gpt-4o", "snapshot_suffix"),
            ("gpt-4o-mini-2024-07-18", "gpt-4o-mini", "snapshot_suffix"),
            ("gpt-5-mini-2025-08-07", "gpt-5-mini", "snapshot_suffix"),
            ("o4-mini-2025-04-16", "o4-mini", "snapshot_suffix"),
            ("gpt-4-0613", "gpt-4", "snapshot_suffix"), ("gpt-3.5-turbo-0125", "gpt-3.5-turbo", "snapshot_suffix"),
            ("claude-sonnet-4-20250514", "claude-sonnet-4", "snapshot_suffix"),
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "snapshot_suffix"),
            ("claude-3-5-sonnet-latest", "claude-3-5-sonnet", "snapshot_suffix"),
            ("claude-sonnet-4@20250514", "claude-sonnet-4", "snapshot_suffix"),
            ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5", "route_prefix"),
            ("openai/gpt-4o-2024-08-06", "gpt-4o", "route_prefix+snapshot_suffix"),
            ("models/gemini-2.5-pro", "gemini-2.5-pro", "route_prefix"),
            ("gemini-2.0-flash-001", "gemini-2.0-flash", "snapshot_suffix"),
            ("us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4", "bedrock_id+snapshot_suffix"),
            ("anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet", "bedrock_id+snapshot_suffix"),
            ("amazon.nova-pro-v1:0", "nova-pro", "bedrock_id"),
            ("us.amazon.nova-micro-v1:0", "nova-micro", "bedrock_id"),
            ("bedrock/us.amazon.nova-lite-v1:0", "nova-lite", "route_prefix+bedrock_id"),
            ("mistral-large-latest", "mistral-large", "snapshot_suffix"),
            ("mistral-large-2411", "mistral-large", "snapshot_suffix"),
            ("command-a-03-2025", "command-a", "snapshot_suffix"), ("grok-4-0709", "grok-4", "snapshot_suffix"),
            ("xai/grok-3-mini", "grok-3-mini", "route_prefix"),
        ])
    func matches(model: String, entry: String, rules: String) throws {
        let match = try #require(try defaultTable().lookup(model), "\(model) is unpriced")
        #expect(match.entry.model == entry)
        #expect(match.rules.map(\.rawValue).joined(separator: "+") == rules)
        #expect(match.isExact == rules.isEmpty)
    }

    @Test(
        "never fuzzy: other models, previews, other cases and unknown names stay unpriced",
        arguments: [
            "gpt-4o-mini-tts", "GPT-4O", "gpt-4o-audio-preview", "gemini-2.5-flash-preview-05-20", "claude-opus-4-8",
            "claude-3-5-sonnet-v2", "o1-preview", "llama3.2", "us.meta.llama3-1-70b-instruct-v1:0", "gpt", "4o",
            "my-model-12345", "claude", "anthropic.claude-unknown-v1:0", "",
        ])
    func nonMatches(model: String) throws {
        #expect(try defaultTable().lookup(model) == nil)
    }

    @Test("a snapshot priced apart has its own entry, found before the base name")
    func ownSnapshotEntry() throws {
        let match = try #require(try defaultTable().lookup("gpt-4o-2024-05-13"))
        #expect(try match.isExact && match.entry.price.input == PriceRate(usdPerMillionTokens: "5", field: "r"))
        #expect(try defaultTable().lookup("gpt-4o")?.entry.price.input.description == "2.5")
        // Older snapshots billed above their base name's current price have entries of their own, so
        // the snapshot-suffix rule never prices them at the base's (lower) rates.
        for (model, input, output) in [
            ("gpt-3.5-turbo-0301", "1.5", "2"), ("gpt-3.5-turbo-0613", "1.5", "2"), ("gpt-3.5-turbo-1106", "1", "2"),
            ("mistral-medium-2312", "2.7", "8.1"), ("mistral-large-2402", "4", "12"),
        ] {
            let match = try #require(try defaultTable().lookup(model), "\(model)")
            #expect(match.isExact, "\(model)")
            #expect(match.entry.price.input.description == input && match.entry.price.output.description == output)
        }
        // A snapshot billed like its base still reaches it through the rule.
        #expect(try defaultTable().lookup("gpt-3.5-turbo-0125")?.entry.model == "gpt-3.5-turbo")
    }

    @Test("an override wins at each name, and the alias rules reach overrides too")
    func overridesFirst() throws {
        let price = try ModelPrice(
            input: try PriceRate(usdPerMillionTokens: "1", field: "r"),
            output: try PriceRate(usdPerMillionTokens: "2", field: "r"))
        let table = try defaultTable([
            try PriceOverride(model: "gpt-4o", price: price, updatedAt: "2026-01-01T00:00:00Z"),
            try PriceOverride(model: "in-house-7b", price: price, updatedAt: "2026-01-01T00:00:00Z"),
        ])
        #expect(table.lookup("gpt-4o")?.entry.origin == .override)
        #expect(table.lookup("gpt-4o")?.entry.replacesDefault == true)
        #expect(table.lookup("openai/gpt-4o-2024-08-06")?.entry.origin == .override)
        // Its own default entry is found first, by the exact name.
        #expect(table.lookup("gpt-4o-2024-05-13")?.entry.origin == .default)
        #expect(table.lookup("in-house-7b-2026-01-01")?.entry.model == "in-house-7b")
        #expect(table.entries.first { $0.model == "in-house-7b" }?.replacesDefault == false)
        #expect(table.entries.map(\.model) == table.entries.map(\.model).sorted())
        #expect(table.entries.count == (try PriceFile.bundled()).prices.count + 1)
    }

    @Test("the candidate names of one model, in order")
    func candidates() {
        let names = ModelNameRule.candidates(for: "bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0")
        #expect(
            names.map(\.name) == [
                "bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1:0",
                "claude-sonnet-4-20250514", "claude-sonnet-4",
            ])
        #expect(names.last?.rules == [.routePrefix, .bedrockID, .snapshotSuffix])
        #expect(ModelNameRule.candidates(for: "gpt-4o").count == 1)
        #expect(ModelNameRule.snapshotSuffix.apply(to: "-2024-08-06") == nil)
        #expect(ModelNameRule.routePrefix.apply(to: "openai/") == "")
        #expect(ModelNameRule.candidates(for: "openai/").map(\.name) == ["openai/"])
    }

    @Test("the default price file is dated, every entry has a source page, and it covers the providers read")
    func defaultFile() throws {
        let file = try PriceFile.bundled()
        #expect(file.asOf == (try CalendarDate(parsing: "2025-11-25")))
        let providers = Set(file.prices.values.compactMap(\.provider))
        #expect(providers == ["openai", "anthropic", "google", "mistral", "cohere", "xai", "amazon"])
        for (model, price) in file.prices {
            #expect(price.source?.hasPrefix("https://") == true, "\(model)")
        }
        let required = [
            "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o1", "o3", "o3-mini", "o4-mini",
            "gpt-5", "gpt-5-mini", "gpt-5-nano", "claude-opus-4-5", "claude-opus-4-1", "claude-sonnet-4-5",
            "claude-sonnet-4", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-sonnet", "claude-3-5-haiku",
            "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash", "mistral-large", "command-a", "grok-4",
            "nova-pro", "nova-lite", "nova-micro",
        ]
        #expect(required.filter { file.prices[$0] == nil } == [])
        // Spot checks against the providers' list prices.
        #expect(file.prices["gemini-2.5-pro"]?.tiers.map(\.text) == ["200000:2.5:15:0.25:2.5:2.5"])
        #expect(file.prices["claude-sonnet-4-5"]?.tiers.map(\.text) == ["200000:6:22.5:0.6:7.5:12"])
        #expect(file.prices["nova-micro"]?.baseRates.cachedInput.description == "0.00875")
        // Anthropic's cache rates follow its multipliers: reads 0.1×, 5-minute writes 1.25×, 1-hour writes 2×
        // (Claude 3 Haiku's list prices are the exception: 0.03 reads and 0.30 writes on 0.25 input).
        #expect(file.prices["claude-3-haiku"]?.baseRates.cacheWrite.description == "0.3")
        for (model, price) in file.prices where price.provider == "anthropic" && model != "claude-3-haiku" {
            let input = price.input.nanoUSDPerMillionTokens
            let rates = price.baseRates
            #expect(rates.cachedInput.nanoUSDPerMillionTokens * 10 == input, "\(model)")
            #expect(rates.cacheWrite.nanoUSDPerMillionTokens * 4 == input * 5, "\(model)")
            #expect(rates.cacheWrite1h.nanoUSDPerMillionTokens == input * 2, "\(model)")
        }
        // The models the usage fixtures name are priced, except the ones no list price exists for.
        let table = PriceTable(defaults: file)
        for model in [
            "gpt-4o-mini-2024-07-18", "gpt-5-mini-2025-08-07", "o4-mini-2025-04-16", "grok-3-mini",
            "mistral-large-latest",
            "gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-3-small", "claude-sonnet-4-5-20250929",
        ] {
            #expect(table.lookup(model) != nil, "\(model)")
        }
    }

    @Test("a price file that is not of the documented shape is refused naming the file and the entry")
    func badPriceFiles() {
        let cases: [(String, String)] = [
            ("not json", "x.json"),
            (#"{"as_of":"2025-01-01","currency":"EUR","models":[]}"#, "prices are in USD"),
            (#"{"as_of":"2025-13-01","currency":"USD","models":[]}"#, "x.json"),
            (
                #"{"as_of":"2025-01-01","currency":"USD","models":[{"model":"m","input":"1","output":"2"}]}"#,
                "no source"
            ),
            (
                #"{"as_of":"2025-01-01","currency":"USD","models":[{"model":"m","input":"-1","output":"2","source":"https://x"}]}"#,
                "cannot be negative"
            ),
            (
                #"{"as_of":"2025-01-01","currency":"USD","models":[{"model":"m","input":"1","output":"2","source":"https://x"},{"model":"m","input":"1","output":"2","source":"https://x"}]}"#,
                "listed twice"
            ),
        ]
        for (text, needle) in cases {
            #expect {
                _ = try PriceFile(parsing: Data(text.utf8), name: "x.json")
            } throws: { error in
                guard let error = error as? ValidationError else { return false }
                return error.code == .invalidPriceFile && error.message.hasPrefix("x.json")
                    && error.message.contains(needle)
            }
        }
    }
}
