/// Reads LiteLLM's `model_prices_and_context_window.json` into price overrides (`price import FILE`).
///
/// The file is one object: model name → entry. An entry's per-token USD prices become rates per
/// million tokens, converted exactly from the number's text (`3e-06` → 3 USD per million tokens):
///
/// | LiteLLM field | rate |
/// |---|---|
/// | `input_cost_per_token` | ``ModelPrice/input`` |
/// | `output_cost_per_token` | ``ModelPrice/output`` |
/// | `cache_read_input_token_cost` | ``ModelPrice/cachedInput`` |
/// | `cache_creation_input_token_cost` | ``ModelPrice/cacheWrite`` |
/// | `cache_creation_input_token_cost_above_1hr` | ``ModelPrice/cacheWrite1h`` |
/// | `<field>_above_<N>k_tokens` (`input_cost_per_token_above_200k_tokens`, …) | a tier above N × 1000 input tokens |
///
/// A tier without its own output (or cache) price takes the base entry's. Entries without both
/// `input_cost_per_token` and `output_cost_per_token` (images, audio, per-request pricing, the
/// `sample_spec` entry) are skipped and counted; so are entries whose name or prices the ledger
/// refuses (a negative price, more than 15 decimals of USD per token, a name over 128 bytes), each
/// named with the reason.
public struct LiteLLMPriceImport: Sendable, Hashable {
    /// The prices read, by model name, sorted by name.
    public var prices: [(model: String, price: ModelPrice)] {
        pricesByModel.keys.sorted().map { (model: $0, price: pricesByModel[$0]!) }
    }
    /// The prices read, by model name.
    public var pricesByModel: [String: ModelPrice]
    /// Entries without per-token input and output prices, sorted.
    public var withoutTokenPrices: [String]
    /// Entries refused, with the reason, sorted by model name.
    public var invalid: [Refusal]

    /// An entry that was not imported, and why.
    public struct Refusal: Sendable, Hashable {
        /// The entry's name (shortened when very long).
        public var model: String
        /// What was wrong.
        public var reason: String
    }

    /// The per-token fields read, by the rate they set.
    static let baseFields = [
        "input": "input_cost_per_token", "output": "output_cost_per_token",
        "cached_input": "cache_read_input_token_cost", "cache_write": "cache_creation_input_token_cost",
    ]

    /// Parses the file.
    ///
    /// - Parameters:
    ///   - bytes: The file's bytes.
    ///   - name: The file's name, for errors.
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidPriceFile``) when the file is not
    ///   JSON or not an object of entries; a bad entry is skipped, not thrown.
    public init(parsing bytes: [UInt8], name: String) throws(ValidationError) {
        let root: NumberTextJSON
        do {
            root = try NumberTextJSON.parse(bytes)
        } catch {
            throw ValidationError(
                code: .invalidPriceFile, field: name, message: "\(name) is not JSON: \(error.message)")
        }
        guard case .object(let entries) = root else {
            throw ValidationError(
                code: .invalidPriceFile, field: name,
                message: "\(name) is not LiteLLM's price file: expected an object of model entries")
        }
        pricesByModel = [:]
        withoutTokenPrices = []
        invalid = []
        for model in entries.keys.sorted() {
            guard model != "sample_spec", case .object(let entry) = entries[model]! else {
                withoutTokenPrices.append(model)
                continue
            }
            let tokenFields = [Self.baseFields["input"]!, Self.baseFields["output"]!]
            // A token price written as something other than a number (a string, an object) is a
            // mistake to name, not an entry without token prices.
            if let field = tokenFields.first(where: {
                entry[$0] != nil && entry[$0] != .null && !Self.isNumber(entry[$0])
            }) {
                invalid.append(Refusal(model: ValidationError.quoted(model), reason: "\(field) is not a number"))
                continue
            }
            guard tokenFields.allSatisfy({ Self.isNumber(entry[$0]) }) else {
                withoutTokenPrices.append(model)
                continue
            }
            do {
                try Validation.validateIdentifier(model, field: "model", allowEmpty: false)
                pricesByModel[model] = try Self.price(entry)
            } catch {
                invalid.append(Refusal(model: ValidationError.quoted(model), reason: error.message))
            }
        }
    }

    /// Whether a value is a JSON number.
    static func isNumber(_ value: NumberTextJSON?) -> Bool {
        if case .number? = value { return true }
        return false
    }

    /// The price of one entry that has per-token input and output prices.
    static func price(_ entry: [String: NumberTextJSON]) throws(ValidationError) -> ModelPrice {
        func rate(_ field: String) throws(ValidationError) -> PriceRate? {
            guard let value = entry[field] else { return nil }
            switch value {
            case .null: return nil
            case .number(let text): return try PriceRate(usdPerToken: text, field: field)
            default:
                throw ValidationError(code: .invalidPrice, field: field, message: "\(field) is not a number")
            }
        }
        let input = try rate(baseFields["input"]!)!
        let output = try rate(baseFields["output"]!)!
        let cachedInput = try rate(baseFields["cached_input"]!)
        let cacheWrite = try rate(baseFields["cache_write"]!)
        let cacheWrite1h = try rate("cache_creation_input_token_cost_above_1hr")
        var tiers: [ModelPrice.Tier] = []
        for thousands in tierThresholds(entry) {
            let suffix = "_above_\(thousands)k_tokens"
            guard let tierInput = try rate(baseFields["input"]! + suffix) else { continue }
            let tierCacheWrite = try rate(baseFields["cache_write"]! + suffix)
            // The tier's 1-hour write price (`cache_creation_input_token_cost_above_1hr_above_<N>k_tokens`);
            // without one: with a tier write price, the tier's 1-hour writes default to it (the closer
            // figure); without that either, the tier keeps the base prices.
            let tierCacheWrite1h = try rate("cache_creation_input_token_cost_above_1hr" + suffix)
            tiers.append(
                try ModelPrice.Tier(
                    above: thousands * 1000, input: tierInput,
                    output: try rate(baseFields["output"]! + suffix) ?? output,
                    cachedInput: try rate(baseFields["cached_input"]! + suffix) ?? cachedInput,
                    cacheWrite: tierCacheWrite ?? cacheWrite,
                    cacheWrite1h: tierCacheWrite1h ?? (tierCacheWrite == nil ? cacheWrite1h : nil)))
        }
        let provider: String? = if case .string(let text)? = entry["litellm_provider"] { text } else { nil }
        return try ModelPrice(
            input: input, output: output, cachedInput: cachedInput, cacheWrite: cacheWrite,
            cacheWrite1h: cacheWrite1h, tiers: tiers, provider: provider, source: "litellm")
    }

    /// The N of every `input_cost_per_token_above_<N>k_tokens` field, ascending.
    static func tierThresholds(_ entry: [String: NumberTextJSON]) -> [Int] {
        let prefix = baseFields["input"]! + "_above_"
        let suffix = "k_tokens"
        return entry.keys.compactMap { key -> Int? in
            guard key.hasPrefix(prefix), key.hasSuffix(suffix) else { return nil }
            let digits = key.dropFirst(prefix.count).dropLast(suffix.count)
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int(digits), value >= 1
            else { return nil }
            return value
        }.sorted()
    }
}
