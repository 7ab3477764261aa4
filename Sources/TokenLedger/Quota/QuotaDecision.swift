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
    public init(allowed: Bool, user: String, cycle: CalendarDate, used: Int, reserved: Int, limit: Int?, requested: Int)
    {
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
