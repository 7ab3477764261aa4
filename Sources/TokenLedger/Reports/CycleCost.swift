import RedisClient

/// The money of one user's cycle (or of a cycle's totals): the sum of its priced events' costs, the
/// events that had no price, and the sum of the costs providers reported.
///
/// Stored in the cycle hash beside the token counters, in nano-USD (`cost_nano`, `unpriced_calls`,
/// `reported_cost_nano`; docs/schema.md), written by the record scripts in the same atomic step as
/// the tokens. JSON: `cost_usd` (nine-decimal string; `null` when the cycle holds no cost field,
/// e.g. legacy-imported or recorded before events were priced), `unpriced_calls`,
/// `reported_cost_usd` (`null` when no provider reported a cost).
public struct CycleCost: Sendable, Hashable, Codable {
    /// The sum of the priced events' costs, or `nil` when the cycle holds no cost.
    public var cost: Cost?
    /// Events recorded without a cost (their model had no price).
    public var unpricedCalls: Int
    /// The sum of the costs providers reported, or `nil` when none did.
    public var reportedCost: Cost?

    /// Creates a value (by default: no cost known).
    public init(cost: Cost? = nil, unpricedCalls: Int = 0, reportedCost: Cost? = nil) {
        self.cost = cost
        self.unpricedCalls = unpricedCalls
        self.reportedCost = reportedCost
    }

    /// The cycle hash fields that hold money.
    static let storedFields = ["cost_nano", "unpriced_calls", "reported_cost_nano"]
    /// ``storedFields`` as a set, for reading a hash.
    static let storedFieldSet = Set(storedFields)

    /// The money of a cycle hash as `HGETALL` returns it (field, value, field, value, …).
    ///
    /// - Parameters:
    ///   - cycleHash: The hash's fields and values.
    ///   - key: The hash's key, named in the error.
    ///   - lenient: Skip values that are not non-negative integers instead of refusing them (`reset`).
    /// - Throws: ``LedgerError`` (``LedgerError/Code/corruptData``) naming the key and field of a
    ///   value that is not a non-negative integer.
    init(cycleHash: [RedisReply], key: String, lenient: Bool = false) throws(LedgerError) {
        var money = CycleCost()
        try TokenCounts.readStoredCounters(cycleHash, fields: Self.storedFieldSet, key: key, lenient: lenient) {
            money.set(storedField: $0, to: $1)
        }
        self = money
    }

    /// Sets the value a stored field names; returns false for any other field.
    @discardableResult
    mutating func set(storedField field: String, to value: Int) -> Bool {
        switch field {
        case "cost_nano": cost = Cost(nanoUSD: value)
        case "unpriced_calls": unpricedCalls = value
        case "reported_cost_nano": reportedCost = Cost(nanoUSD: value)
        default: return false
        }
        return true
    }

    /// This value plus another, all or nothing: `nil` when a sum would pass 2^63 − 1.
    ///
    /// A known cost plus an unknown one is the known cost (the unknown part is a cycle recorded
    /// before events were priced, which holds no cost); two unknown costs stay unknown. The same
    /// holds for the reported cost.
    func adding(_ other: CycleCost) -> CycleCost? {
        func sum(_ a: Cost?, _ b: Cost?) -> (Cost?, Bool) {
            guard let a else { return (b, false) }
            guard let b else { return (a, false) }
            let (value, overflow) = a.addingReportingOverflow(b)
            return (value, overflow)
        }
        let (cost, costOverflow) = sum(self.cost, other.cost)
        let (reported, reportedOverflow) = sum(reportedCost, other.reportedCost)
        let (unpriced, unpricedOverflow) = unpricedCalls.addingReportingOverflow(other.unpricedCalls)
        if costOverflow || reportedOverflow || unpricedOverflow { return nil }
        return CycleCost(cost: cost, unpricedCalls: unpriced, reportedCost: reported)
    }

    enum CodingKeys: String, CodingKey {
        case cost = "cost_usd"
        case unpricedCalls = "unpriced_calls"
        case reportedCost = "reported_cost_usd"
    }

    /// Decodes the fields; each may be absent (JSON written before cost existed: no cost).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cost = try c.decodeIfPresent(Cost.self, forKey: .cost)
        unpricedCalls = try c.decodeIfPresent(Int.self, forKey: .unpricedCalls) ?? 0
        reportedCost = try c.decodeIfPresent(Cost.self, forKey: .reportedCost)
    }

    /// Encodes the three fields, `null` for an unknown cost.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cost, forKey: .cost)
        try c.encode(unpricedCalls, forKey: .unpricedCalls)
        try c.encode(reportedCost, forKey: .reportedCost)
    }
}
