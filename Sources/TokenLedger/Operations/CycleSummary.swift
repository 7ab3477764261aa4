/// One user's closed cycle as rollover wrote it to the history, amended only by late calls.
///
/// JSON (sorted keys, one object per user in `<ns>:{global}:history:<cycle>`): `user`, `cycle`,
/// `cycle_end`, the token counters, `calls`, `limit` (the limit that applied when the cycle was
/// closed; `null` when unlimited), `models` (per model: input, output, total tokens and calls) and
/// `adjustments` (late calls added since; see ``CycleHistory/Adjustment``), and the cycle's money
/// (``CycleCost``: `cost_usd`, `null` for a cycle without cost such as a legacy import,
/// `unpriced_calls`, `reported_cost_usd`). The counters include
/// those late calls: `history_adjust.lua` rewrites the summary with each, once.
public struct CycleSummary: Sendable, Hashable, Codable, TokenCountsCarrying {
    /// The user id.
    public var user: String
    /// The cycle's start date.
    public var cycle: CalendarDate
    /// The next cycle's start date (exclusive end), by the user's policy when the cycle was closed.
    public var cycleEnd: CalendarDate
    /// The cycle's counters, late calls included.
    public var counts: TokenCounts
    /// The limit that applied when the cycle was closed, or `nil` when unlimited.
    public var limit: Int?
    /// Per-model breakdown, keyed by model name (`""` for calls without a model).
    public var models: [String: UserUsage.ModelUsage]
    /// Late calls added after the close (each also in ``CycleHistory/adjustments`` and counted in the
    /// totals above). 0 for a summary as rollover wrote it.
    public var adjustments = 0
    /// The cycle's money, late calls included.
    public var money = CycleCost()

    /// The summary of a user's usage of a cycle.
    ///
    /// - Parameter usage: The usage as ``TokenRepository/usage(user:cycle:at:)`` reads it; leases
    ///   (`reserved`) are not part of a closed cycle and are left out.
    public init(_ usage: UserUsage) {
        user = usage.user
        cycle = usage.cycle
        cycleEnd = usage.cycleEnd
        counts = usage.counts.reportingEverySubset
        limit = usage.limit
        models = usage.models
        money = usage.money
    }

    enum CodingKeys: String, CodingKey {
        case user, cycle, limit, models, adjustments
        case cycleEnd = "cycle_end"
    }

    /// Decodes a summary; a missing `limit` means unlimited, missing `adjustments` none.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        user = try c.decode(String.self, forKey: .user)
        cycle = try c.decode(CalendarDate.self, forKey: .cycle)
        cycleEnd = try c.decode(CalendarDate.self, forKey: .cycleEnd)
        counts = try TokenCounts(from: decoder).reportingEverySubset
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        models = try c.decode([String: UserUsage.ModelUsage].self, forKey: .models)
        adjustments = try c.decodeIfPresent(Int.self, forKey: .adjustments) ?? 0
        money = try CycleCost(from: decoder)
    }

    /// Encodes every field; `limit` is `null` when unlimited.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(user, forKey: .user)
        try c.encode(cycle, forKey: .cycle)
        try c.encode(cycleEnd, forKey: .cycleEnd)
        try counts.reportingEverySubset.encode(to: encoder)
        try c.encode(limit, forKey: .limit)
        try c.encode(models, forKey: .models)
        try c.encode(adjustments, forKey: .adjustments)
        try money.encode(to: encoder)
    }
}
