/// The answer to "may this user spend N more tokens?", from `check` or `reserve`.
///
/// JSON: `{"allowed","user","cycle","used","reserved","limit","remaining","requested"}`;
/// `limit` and `remaining` are `null` when the user is unlimited.
public struct QuotaDecision: Sendable, Hashable, Codable {
    /// Whether `used + reserved + requested ≤ limit` (always true when unlimited).
    public var allowed: Bool
    /// The user id.
    public var user: String
    /// The cycle the decision is about.
    public var cycle: CalendarDate
    /// Tokens recorded in the cycle.
    public var used: Int
    /// Tokens held by live leases (after this reservation, when it was admitted).
    public var reserved: Int
    /// The limit that applies, or `nil` when unlimited.
    public var limit: Int?
    /// Tokens asked for.
    public var requested: Int

    /// What is left under the limit: `limit − used − reserved`, never negative; `nil` when unlimited.
    public var remaining: Int? { limit.map { Validation.remaining(limit: $0, used: used, reserved: reserved) } }

    /// Creates a decision.
    public init(allowed: Bool, user: String, cycle: CalendarDate, used: Int, reserved: Int, limit: Int?, requested: Int) {
        self.allowed = allowed
        self.user = user
        self.cycle = cycle
        self.used = used
        self.reserved = reserved
        self.limit = limit
        self.requested = requested
    }

    enum CodingKeys: String, CodingKey {
        case allowed, user, cycle, used, reserved, limit, remaining, requested
    }

    /// Decodes a decision (`remaining` is derived and ignored).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        allowed = try c.decode(Bool.self, forKey: .allowed)
        user = try c.decode(String.self, forKey: .user)
        cycle = try c.decode(CalendarDate.self, forKey: .cycle)
        used = try c.decode(Int.self, forKey: .used)
        reserved = try c.decode(Int.self, forKey: .reserved)
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        requested = try c.decode(Int.self, forKey: .requested)
    }

    /// Encodes every field; `limit` and `remaining` are `null` when unlimited.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(allowed, forKey: .allowed)
        try c.encode(user, forKey: .user)
        try c.encode(cycle, forKey: .cycle)
        try c.encode(used, forKey: .used)
        try c.encode(reserved, forKey: .reserved)
        try c.encode(limit, forKey: .limit)
        try c.encode(remaining, forKey: .remaining)
        try c.encode(requested, forKey: .requested)
    }
}

/// What happened to a reservation request.
public enum ReservationStatus: String, Sendable, Hashable, Codable {
    /// A new lease was taken.
    case admitted
    /// This call id already holds a live lease; nothing changed (idempotent retry).
    case held
    /// This call id's usage was already recorded; no lease was taken.
    case settled
    /// The limit does not allow it; nothing changed.
    case denied
}

/// The result of ``TokenRepository/reserve(user:callID:tokens:ttl:at:)``.
public struct Reservation: Sendable, Hashable {
    /// What happened.
    public var status: ReservationStatus
    /// The quota picture (``QuotaDecision/allowed`` is false only when denied).
    public var decision: QuotaDecision
}

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

    /// Creates a result.
    public init(applied: Bool, user: String, cycle: CalendarDate, totalTokens: Int, calls: Int, releasedTokens: Int = 0) {
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
    }

    /// Decodes a result from its JSON form.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        applied = try c.decode(Bool.self, forKey: .applied)
        user = try c.decode(String.self, forKey: .user)
        cycle = try c.decode(CalendarDate.self, forKey: .cycle)
        totalTokens = try c.decode(Int.self, forKey: .totalTokens)
        amendsHistory = try c.decodeIfPresent(Bool.self, forKey: .amendsHistory) ?? false
        calls = 0
        releasedTokens = 0
    }

    /// Encodes the SPEC's four fields, and `history_amended` when the call amended a closed cycle.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(applied, forKey: .applied)
        try c.encode(user, forKey: .user)
        try c.encode(cycle, forKey: .cycle)
        try c.encode(totalTokens, forKey: .totalTokens)
        if amendsHistory { try c.encode(true, forKey: .amendsHistory) }
    }
}
