/// What one event cost when it was first built: priced from the price table in effect then, or
/// unpriced (its model has no price). Fixed once: a spooled event carries it, so its replay costs
/// what it cost the first time, even after a `price set` (docs/cost.md, "Recording cost").
///
/// JSON (``SpooledEvent``'s `cost_usd`, a record's `cost_usd`): the ``Cost`` as a nine-decimal string,
/// `null` when unpriced.
public enum EventCost: Sendable, Hashable {
    /// Priced: the cost, rounded once to a nano-USD.
    case priced(Cost)
    /// The model has no price: recorded, counted in `unpriced_calls`, no cost.
    case unpriced

    /// The cost, or `nil` when unpriced.
    public var cost: Cost? {
        if case .priced(let cost) = self { return cost }
        return nil
    }

    /// The largest cost a cycle (or one event) may hold: 2^53 − 1 nano-USD, about $9.0M, so every
    /// sum stays exact in Lua's doubles.
    public static let maximumNanoUSD = 9_007_199_254_740_991

    /// The cost as the record scripts take it: nano-USD, `-1` when unpriced.
    var scriptArgument: Int { cost?.nanoUSD ?? -1 }

    /// The cost of an event of `model` at the prices of `table`.
    ///
    /// - Throws: ``ValidationError`` when the record's counts are not valid, or when the cost passes
    ///   ``maximumNanoUSD`` (field `cost_usd`).
    public init(of usage: UsageRecord, model: String, table: PriceTable) throws(ValidationError) {
        guard let priced = try table.cost(of: usage, model: model) else {
            self = .unpriced
            return
        }
        try Self.check(priced.cost, field: "cost_usd")
        self = .priced(priced.cost)
    }

    /// Refuses an amount outside 0…``maximumNanoUSD`` nano-USD, naming `field`.
    static func check(_ cost: Cost, field: String) throws(ValidationError) {
        guard cost.nanoUSD >= 0, cost.nanoUSD <= maximumNanoUSD else {
            throw ValidationError(
                code: .invalidPrice, field: field,
                message: "\(field) is \(cost); an event's cost is from 0 to 9007199.254740991 USD (2^53 - 1 nano-USD)")
        }
    }
}
