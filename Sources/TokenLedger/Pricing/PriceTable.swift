/// The prices in effect: the default price file with the administrators' overrides on top, and the
/// lookup of a call's model name in them.
///
/// ## Lookup
/// ``lookup(_:)`` tries the name exactly, then the names ``ModelNameRule/candidates(for:)`` derives
/// (route prefix, Bedrock id, snapshot suffix, in that order). At each name an override wins over the
/// default file's entry; the first name with either is the match. So an override of `gpt-4o` prices
/// `openai/gpt-4o-2024-08-06`, but not `gpt-4o-2024-05-13`, which has a default entry of its own.
///
/// ### Threading
/// A value; share it freely. ``PriceStore/table()`` reads a fresh one from Redis.
public struct PriceTable: Sendable, Hashable {
    /// Where an entry comes from.
    public enum Origin: String, Sendable, Hashable, Codable {
        /// Set by an administrator (`price set`, `price import`), kept in Redis.
        case override
        /// The default price file shipped with the binary.
        case `default`
    }

    /// One model's price in effect.
    public struct Entry: Sendable, Hashable {
        /// The model name of the entry.
        public var model: String
        /// The price.
        public var price: ModelPrice
        /// Where it comes from.
        public var origin: Origin
        /// When an override was set (ISO 8601); `nil` for a default entry.
        public var updatedAt: String?
        /// Whether this override hides a default entry of the same name.
        public var replacesDefault: Bool
    }

    /// A model name matched to an entry.
    public struct Match: Sendable, Hashable {
        /// The name asked for.
        public var model: String
        /// The entry that prices it.
        public var entry: Entry
        /// The rules that turned ``model`` into the entry's name; empty for an exact match.
        public var rules: [ModelNameRule]

        /// Whether the name matched an entry exactly.
        public var isExact: Bool { rules.isEmpty }
    }

    /// The default price file.
    public let defaults: PriceFile
    /// The overrides by model name.
    public let overrides: [String: PriceOverride]

    /// Creates the table.
    ///
    /// - Parameters:
    ///   - defaults: The default price file (``PriceFile/bundled()``).
    ///   - overrides: The administrators' overrides; a later one of the same model wins.
    public init(defaults: PriceFile, overrides: [PriceOverride] = []) {
        self.defaults = defaults
        var byModel: [String: PriceOverride] = [:]
        for override in overrides { byModel[override.model] = override }
        self.overrides = byModel
    }

    /// The entry named exactly `model`: its override, else its default entry.
    public func entry(named model: String) -> Entry? {
        if let override = overrides[model] {
            return Entry(
                model: model, price: override.price, origin: .override, updatedAt: override.updatedAt,
                replacesDefault: defaults.prices[model] != nil)
        }
        if let price = defaults.prices[model] {
            return Entry(model: model, price: price, origin: .default, updatedAt: nil, replacesDefault: false)
        }
        return nil
    }

    /// The entry that prices `model`: the exact name first, then the alias rules (see the type's
    /// documentation); `nil` when no entry matches (the model is unpriced).
    public func lookup(_ model: String) -> Match? {
        for candidate in ModelNameRule.candidates(for: model) {
            if let entry = entry(named: candidate.name) {
                return Match(model: model, entry: entry, rules: candidate.rules)
            }
        }
        return nil
    }

    /// The cost of one event of `model` at the prices in effect, or `nil` when the model has no price.
    ///
    /// - Parameters:
    ///   - record: The event's counts.
    ///   - model: The model the call reported.
    /// - Returns: The cost and the entry that priced it, or `nil` for an unpriced model.
    /// - Throws: ``ValidationError`` when the record's counts are not valid.
    public func cost(of record: UsageRecord, model: String) throws(ValidationError) -> (cost: Cost, match: Match)? {
        guard let match = lookup(model) else { return nil }
        return (try match.entry.price.cost(of: record), match)
    }

    /// Every entry in effect, default entries and overrides merged (an override replaces the default
    /// entry of its name), sorted by model name.
    public var entries: [Entry] {
        Set(defaults.prices.keys).union(overrides.keys).sorted().compactMap { entry(named: $0) }
    }
}
