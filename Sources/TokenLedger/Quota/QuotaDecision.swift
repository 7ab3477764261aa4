/// The answer to "may this user spend N more tokens?", from `check` or `reserve`.
///
/// JSON: `{"allowed","user","cycle","used","reserved","limit","remaining","requested"}`;
/// `limit` and `remaining` are `null` when the user is unlimited. The currency side beside it:
/// `used_usd` (the cycle's recorded spend), `reserved_usd`, `requested_usd`, `limit_usd` and
/// `remaining_usd` (nine-decimal strings of USD; the last two `null` without a currency limit), and
/// `denied_by` (`"tokens"`, `"usd"`, or `null` when allowed), and `denied_scope` (the scope that refused:
/// `user:ID`, `team:ID` or `org:ID`; `null` when allowed). A denial by a team or an org carries that
/// scope's counts and limits. The rate side (docs/quota.md, "Rate limits"): `tpm` and `rpm` (the
/// scope's limits, `null` when none), `window_tokens` and `window_requests` (what the scope's sliding
/// 60 s window holds, after this reservation when admitted) and `retry_after_ms` (a rate denial: the
/// milliseconds until the request fits; `null` otherwise, and for a `tpm` denial of a request larger
/// than the limit itself, which never fits).
public struct QuotaDecision: Sendable, Hashable, Codable {
    /// Whether `used + reserved + requested ≤ limit` and `usedCost + reservedCost + requestedCost ≤
    /// limitUSD` (each always true without that limit).
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
    /// The cycle's recorded spend (the sum of its priced events).
    public var usedCost: Cost = .zero
    /// Nano-USD held by live leases (after this reservation, when it was admitted).
    public var reservedCost: Cost = .zero
    /// The currency limit that applies, or `nil` when there is none.
    public var limitUSD: Cost?
    /// The cost asked for (the priced estimate, or the amount given).
    public var requestedCost: Cost = .zero
    /// The limit that refused the request (`nil` when allowed). The token limit is checked first.
    public var deniedBy: QuotaLimitKind?
    /// The scope that refused (`user:ID`, `team:ID`, `org:ID`; `nil` when allowed): the counts and
    /// limits above are that scope's.
    public var deniedScope: String?
    /// The tokens-per-minute limit of the scope (`nil`: none).
    public var tpm: Int?
    /// The requests-per-minute limit of the scope (`nil`: none).
    public var rpm: Int?
    /// The tokens charged to the scope's sliding 60 s window (0 without a rate limit).
    public var windowTokens = 0
    /// The requests charged to the scope's sliding 60 s window (0 without a rate limit).
    public var windowRequests = 0
    /// A rate denial (``deniedBy`` `.tpm` or `.rpm`): the milliseconds until enough of the window has
    /// expired for this request to fit; `nil` when allowed, for other denials, and when the request
    /// can never fit (``rateNeverFits``).
    public var retryAfterMilliseconds: Int?

    /// Whether a `tpm` denial is of a request larger than the limit itself: no wait admits it.
    public var rateNeverFits: Bool { !allowed && deniedBy == .tpm && retryAfterMilliseconds == nil }

    /// What is left under the currency limit: `limitUSD − usedCost − reservedCost`, never negative;
    /// `nil` without a currency limit.
    public var remainingUSD: Cost? {
        limitUSD.map {
            Cost(
                nanoUSD: Validation.remaining(limit: $0.nanoUSD, used: usedCost.nanoUSD, reserved: reservedCost.nanoUSD)
            )
        }
    }

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
        case usedCost = "used_usd", reservedCost = "reserved_usd", limitUSD = "limit_usd"
        case remainingUSD = "remaining_usd", requestedCost = "requested_usd", deniedBy = "denied_by"
        case deniedScope = "denied_scope"
        case tpm, rpm, windowTokens = "window_tokens", windowRequests = "window_requests"
        case retryAfterMilliseconds = "retry_after_ms"
    }

    /// Decodes a decision (`remaining` and `remaining_usd` are derived and ignored; absent currency
    /// and rate fields are zero or `null`).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        allowed = try c.decode(Bool.self, forKey: .allowed)
        user = try c.decode(String.self, forKey: .user)
        cycle = try c.decode(CalendarDate.self, forKey: .cycle)
        used = try c.decode(Int.self, forKey: .used)
        reserved = try c.decode(Int.self, forKey: .reserved)
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        requested = try c.decode(Int.self, forKey: .requested)
        usedCost = try c.decodeIfPresent(Cost.self, forKey: .usedCost) ?? .zero
        reservedCost = try c.decodeIfPresent(Cost.self, forKey: .reservedCost) ?? .zero
        limitUSD = try c.decodeIfPresent(Cost.self, forKey: .limitUSD)
        requestedCost = try c.decodeIfPresent(Cost.self, forKey: .requestedCost) ?? .zero
        deniedBy = try c.decodeIfPresent(QuotaLimitKind.self, forKey: .deniedBy)
        deniedScope = try c.decodeIfPresent(String.self, forKey: .deniedScope)
        tpm = try c.decodeIfPresent(Int.self, forKey: .tpm)
        rpm = try c.decodeIfPresent(Int.self, forKey: .rpm)
        windowTokens = try c.decodeIfPresent(Int.self, forKey: .windowTokens) ?? 0
        windowRequests = try c.decodeIfPresent(Int.self, forKey: .windowRequests) ?? 0
        retryAfterMilliseconds = try c.decodeIfPresent(Int.self, forKey: .retryAfterMilliseconds)
    }

    /// Encodes every field; `limit` and `remaining` are `null` when unlimited, `limit_usd` and
    /// `remaining_usd` without a currency limit.
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
        try c.encode(usedCost, forKey: .usedCost)
        try c.encode(reservedCost, forKey: .reservedCost)
        try c.encode(limitUSD, forKey: .limitUSD)
        try c.encode(remainingUSD, forKey: .remainingUSD)
        try c.encode(requestedCost, forKey: .requestedCost)
        try c.encode(deniedBy, forKey: .deniedBy)
        try c.encode(deniedScope, forKey: .deniedScope)
        try c.encode(tpm, forKey: .tpm)
        try c.encode(rpm, forKey: .rpm)
        try c.encode(windowTokens, forKey: .windowTokens)
        try c.encode(windowRequests, forKey: .windowRequests)
        try c.encode(retryAfterMilliseconds, forKey: .retryAfterMilliseconds)
    }
}
