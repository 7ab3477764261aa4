/// The result of recording usage (``TokenRepository/record(user:callID:usage:model:provider:cycle:at:)``
/// or ``TokenRepository/settle(user:callID:usage:model:provider:at:)``).
///
/// JSON: `{"applied","user","cycle","total_tokens"}`; `total_tokens` is the cycle's total after the call.
public struct RecordResult: Sendable, Hashable, Codable {
    /// False when the call id was already recorded (nothing changed).
    public var applied: Bool
    /// The user id.
    public var user: String
    /// The cycle the usage was recorded in.
    public var cycle: CalendarDate
    /// The cycle's total tokens after this call.
    public var totalTokens: Int
    /// The cycle's recorded calls after this call.
    public var calls: Int
    /// For settle: tokens of the lease that was dropped (0 when none was live).
    public var releasedTokens: Int
    /// True when the call was applied to a cycle that rollover had already closed: the closed
    /// cycle's history is amended with it (an adjustment; see `docs/operations.md`, late events).
    /// JSON `history_amended`, present only when true.
    public var amendsHistory = false
    /// True when the write was applied but fewer replicas than ``LedgerConfiguration/replicaWait``
    /// asks for acknowledged it in time, so the ``UsageRecorder`` also spooled it: a failover loses
    /// nothing, and its replay counts once (the call id). JSON `unreplicated`, present only when true.
    public var unreplicated = false
    /// For a duplicate record or settle (``applied`` false): the total tokens its call id was first
    /// recorded with, always the total sent (another total is a ``CallConflict``). `nil` for applied
    /// ones. Not part of the JSON.
    public var recordedTotalTokens: Int?
    /// The event's cost as it was priced (``EventCost``); `nil` when the result did not come from a
    /// write (decoded JSON). JSON `cost_usd`: the nine-decimal string, `null` when unpriced; absent when `nil`.
    public var cost: EventCost?

    /// Creates a result.
    public init(applied: Bool, user: String, cycle: CalendarDate, totalTokens: Int, calls: Int, releasedTokens: Int = 0)
    {
        self.applied = applied
        self.user = user
        self.cycle = cycle
        self.totalTokens = totalTokens
        self.calls = calls
        self.releasedTokens = releasedTokens
    }

    enum CodingKeys: String, CodingKey {
        case applied, user, cycle
        case totalTokens = "total_tokens"
        case amendsHistory = "history_amended"
        case unreplicated
        case cost = "cost_usd"
    }

    /// Decodes a result from its JSON form.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        applied = try c.decode(Bool.self, forKey: .applied)
        user = try c.decode(String.self, forKey: .user)
        cycle = try c.decode(CalendarDate.self, forKey: .cycle)
        totalTokens = try c.decode(Int.self, forKey: .totalTokens)
        amendsHistory = try c.decodeIfPresent(Bool.self, forKey: .amendsHistory) ?? false
        unreplicated = try c.decodeIfPresent(Bool.self, forKey: .unreplicated) ?? false
        if c.contains(.cost) { cost = try c.decodeIfPresent(Cost.self, forKey: .cost).map { .priced($0) } ?? .unpriced }
        calls = 0
        releasedTokens = 0
    }

    /// Encodes the SPEC's four fields, `history_amended` when the call amended a closed cycle and
    /// `unreplicated` when too few replicas acknowledged it (it was spooled too).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(applied, forKey: .applied)
        try c.encode(user, forKey: .user)
        try c.encode(cycle, forKey: .cycle)
        try c.encode(totalTokens, forKey: .totalTokens)
        if amendsHistory { try c.encode(true, forKey: .amendsHistory) }
        if unreplicated { try c.encode(true, forKey: .unreplicated) }
        if let cost { try c.encode(cost.cost, forKey: .cost) }
    }
}
