import Foundation
import TokenLedger

/// One tier as printed: its threshold and every rate with the defaults applied.
struct PriceTierOutput: Encodable {
    var above: Int
    var input: PriceRate
    var cachedInput: PriceRate
    var cacheWrite: PriceRate
    var cacheWrite1h: PriceRate
    var output: PriceRate

    init(_ tier: ModelPrice.Tier) {
        let rates = tier.rates
        above = tier.above
        input = rates.input
        cachedInput = rates.cachedInput
        cacheWrite = rates.cacheWrite
        cacheWrite1h = rates.cacheWrite1h
        output = rates.output
    }

    enum CodingKeys: String, CodingKey {
        case above, input, output
        case cachedInput = "cached_input"
        case cacheWrite = "cache_write"
        case cacheWrite1h = "cache_write_1h"
    }
}

/// `price get` (and `price set`): the price in effect for a model, every rate with its default applied.
struct PriceGetOutput: CommandResult {
    var model: String
    var entry: String
    var match: String
    var origin: PriceTable.Origin
    var input: PriceRate
    var cachedInput: PriceRate
    var cacheWrite: PriceRate
    var cacheWrite1h: PriceRate
    var output: PriceRate
    var tiers: [PriceTierOutput]
    var provider: String?
    var source: String?
    var asOf: CalendarDate?
    var updatedAt: String?

    /// The price `table` gives `model`.
    ///
    /// - Throws: ``TokenLedger/ValidationError`` (`unknown_model`, exit 65) when no entry matches.
    init(_ table: PriceTable, model: String) throws {
        guard let match = table.lookup(model) else {
            throw TokenLedger.ValidationError(
                code: .unknownModel, field: "MODEL",
                message:
                    "no price for \(String(reflecting: model)): no override and no entry of the default price file (as of \(table.defaults.asOf)) matches it; set one with price set \(model) --input X --output Y"
            )
        }
        let price = match.entry.price
        let rates = price.baseRates
        self.model = model
        entry = match.entry.model
        self.match = match.isExact ? "exact" : match.rules.map(\.rawValue).joined(separator: "+")
        origin = match.entry.origin
        input = rates.input
        cachedInput = rates.cachedInput
        cacheWrite = rates.cacheWrite
        cacheWrite1h = rates.cacheWrite1h
        output = rates.output
        tiers = price.tiers.map(PriceTierOutput.init)
        provider = price.provider
        source = price.source
        asOf = match.entry.origin == .default ? table.defaults.asOf : nil
        updatedAt = match.entry.updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case model, entry, match, origin, input, output, tiers, provider, source
        case cachedInput = "cached_input"
        case cacheWrite = "cache_write"
        case cacheWrite1h = "cache_write_1h"
        case asOf = "as_of"
        case updatedAt = "updated_at"
    }

    /// Every key, `null`s included (the defaults of `Encodable` would leave them out).
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(entry, forKey: .entry)
        try c.encode(match, forKey: .match)
        try c.encode(origin, forKey: .origin)
        try c.encode(input, forKey: .input)
        try c.encode(cachedInput, forKey: .cachedInput)
        try c.encode(cacheWrite, forKey: .cacheWrite)
        try c.encode(cacheWrite1h, forKey: .cacheWrite1h)
        try c.encode(output, forKey: .output)
        try c.encode(tiers, forKey: .tiers)
        try c.encode(provider, forKey: .provider)
        try c.encode(source, forKey: .source)
        try c.encode(asOf, forKey: .asOf)
        try c.encode(updatedAt, forKey: .updatedAt)
    }
}

/// One model of `price list`.
struct PriceListEntry: Encodable {
    var model: String
    var origin: PriceTable.Origin
    var replacesDefault: Bool
    var input: PriceRate
    var cachedInput: PriceRate
    var cacheWrite: PriceRate
    var cacheWrite1h: PriceRate
    var output: PriceRate
    var tiers: [PriceTierOutput]
    var provider: String?
    var source: String?
    var updatedAt: String?

    init(_ entry: PriceTable.Entry) {
        let rates = entry.price.baseRates
        model = entry.model
        origin = entry.origin
        replacesDefault = entry.replacesDefault
        input = rates.input
        cachedInput = rates.cachedInput
        cacheWrite = rates.cacheWrite
        cacheWrite1h = rates.cacheWrite1h
        output = rates.output
        tiers = entry.price.tiers.map(PriceTierOutput.init)
        provider = entry.price.provider
        source = entry.price.source
        updatedAt = entry.updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case model, origin, input, output, tiers, provider, source
        case replacesDefault = "replaces_default"
        case cachedInput = "cached_input"
        case cacheWrite = "cache_write"
        case cacheWrite1h = "cache_write_1h"
        case updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(origin, forKey: .origin)
        try c.encode(replacesDefault, forKey: .replacesDefault)
        try c.encode(input, forKey: .input)
        try c.encode(cachedInput, forKey: .cachedInput)
        try c.encode(cacheWrite, forKey: .cacheWrite)
        try c.encode(cacheWrite1h, forKey: .cacheWrite1h)
        try c.encode(output, forKey: .output)
        try c.encode(tiers, forKey: .tiers)
        try c.encode(provider, forKey: .provider)
        try c.encode(source, forKey: .source)
        try c.encode(updatedAt, forKey: .updatedAt)
    }

    /// The origin as a table cell: `default`, `override`, or `override*` when it hides a default entry.
    var originCell: String { origin == .override && replacesDefault ? "override*" : origin.rawValue }

    /// The tiers as one cell: `>200000 6/22.5`, several separated by `; ` (input/output rates).
    var tiersCell: String {
        tiers.map { ">\($0.above) \($0.input)/\($0.output)" }.joined(separator: "; ")
    }
}

/// `price list`: every price in effect, sorted by model.
struct PriceListOutput: CommandResult {
    var asOf: CalendarDate
    var models: [PriceListEntry]

    init(_ table: PriceTable) {
        asOf = table.defaults.asOf
        models = table.entries.map(PriceListEntry.init)
    }

    enum CodingKeys: String, CodingKey {
        case models
        case asOf = "as_of"
    }

    static let columns = [
        "model", "origin", "input", "cached_input", "cache_write", "cache_write_1h", "output", "tiers",
    ]

    /// One row per model (rates in USD per million tokens); `override*` marks an override that hides
    /// a default entry; a footer names the default file's date.
    func renderTable() throws -> String {
        let rows = models.map { entry in
            [
                entry.model, entry.originCell, entry.input.description, entry.cachedInput.description,
                entry.cacheWrite.description, entry.cacheWrite1h.description, entry.output.description, entry.tiersCell,
            ]
        }
        return alignedColumns([Self.columns] + rows)
            + "USD per million tokens; default prices as of \(asOf); override* replaces a default entry\n"
    }

    /// A header row and one row per model, with provider, source and updated_at.
    func csvRows() throws -> [[String]] {
        let header = Self.columns + ["replaces_default", "provider", "source", "updated_at"]
        let rows = models.map { entry in
            [
                entry.model, entry.origin.rawValue, entry.input.description, entry.cachedInput.description,
                entry.cacheWrite.description, entry.cacheWrite1h.description, entry.output.description,
                entry.tiers.map { tier in
                    "\(tier.above):\(tier.input):\(tier.output):\(tier.cachedInput):\(tier.cacheWrite):\(tier.cacheWrite1h)"
                }.joined(separator: " "),
                String(entry.replacesDefault), entry.provider ?? "", entry.source ?? "", entry.updatedAt ?? "",
            ]
        }
        return [header] + rows
    }
}

/// `price delete`: `{"default_applies","deleted","model"}`.
struct PriceDeleteOutput: CommandResult {
    var defaultApplies: Bool
    var deleted: Bool
    var model: String

    enum CodingKeys: String, CodingKey {
        case deleted, model
        case defaultApplies = "default_applies"
    }
}

/// `price import`: how many entries became overrides, and how many were skipped.
struct PriceImportOutput: CommandResult {
    var file: String
    var imported: Int
    var new: Int
    var skippedInvalid: Int
    var skippedWithoutTokenPrices: Int

    enum CodingKeys: String, CodingKey {
        case file, imported, new
        case skippedInvalid = "skipped_invalid"
        case skippedWithoutTokenPrices = "skipped_without_token_prices"
    }
}
