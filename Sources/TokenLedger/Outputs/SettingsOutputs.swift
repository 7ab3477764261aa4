// The JSON results of limit and cycle-policy calls: one definition for the CLI (`limit …`,
// `cycle …`) and the HTTP service, so both print the same bytes (sorted keys, snake_case).

/// `{"limit","source","user"}`: a limit and where it comes from (`limit set|get|clear`,
/// `/v1/users/{user}/limit`); `limit` null is unlimited, `user` null names the default. With the
/// currency limit (``currency``: always for `limit get`, and when a command set or cleared it) also
/// `limit_usd` (a nine-decimal string of USD, null: none) and `usd_source` (as `source`).
public struct LimitOutput: Encodable, Sendable, Hashable {
    /// The user id; `nil` for the namespace's default limit.
    public var user: String?
    /// Tokens per cycle; `nil`: unlimited (or cleared).
    public var limit: Int?
    /// `user` (the user's own), `default`, `none` or `cleared`.
    public var source: String
    /// The currency limit per cycle and where it comes from (`user`, `default`, `none`, `cleared`);
    /// `nil` leaves `limit_usd` and `usd_source` out (a command about the token limit only).
    public var currency: (limit: Cost?, source: String)?

    /// The output of a limit from `source`.
    public init(user: String?, limit: Int?, source: String) {
        self.user = user
        self.limit = limit
        self.source = source
    }

    /// The limit that applies to `user`, from ``TokenRepository/limit(user:)``'s reading: the user's
    /// own (`user`), else the default (`default`), else none (`none`, limit null).
    public init(user: String, limits: (own: Int?, default: Int?)) {
        if let own = limits.own {
            self.init(user: user, limit: own, source: "user")
        } else if let fallback = limits.default {
            self.init(user: user, limit: fallback, source: "default")
        } else {
            self.init(user: user, limit: nil, source: "none")
        }
    }

    /// The limits that apply to `user`, from ``TokenRepository/limit(user:)`` and
    /// ``TokenRepository/currencyLimit(user:)``: each the user's own, else the default, else none.
    public init(user: String, limits: (own: Int?, default: Int?), currencyLimits: (own: Cost?, default: Cost?)) {
        self.init(user: user, limits: limits)
        if let own = currencyLimits.own {
            currency = (limit: Optional(own), source: "user")
        } else if let fallback = currencyLimits.default {
            currency = (limit: Optional(fallback), source: "default")
        } else {
            currency = (limit: nil, source: "none")
        }
    }

    enum CodingKeys: String, CodingKey {
        case user, limit, source
        case limitUSD = "limit_usd", usdSource = "usd_source"
    }

    /// Every field, nulls included (the currency pair only with ``currency``).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(user, forKey: .user)
        try c.encode(limit, forKey: .limit)
        try c.encode(source, forKey: .source)
        if let currency {
            try c.encode(currency.limit, forKey: .limitUSD)
            try c.encode(currency.source, forKey: .usdSource)
        }
    }

    /// Compares every field.
    public static func == (lhs: LimitOutput, rhs: LimitOutput) -> Bool {
        lhs.user == rhs.user && lhs.limit == rhs.limit && lhs.source == rhs.source
            && lhs.currency?.limit == rhs.currency?.limit && lhs.currency?.source == rhs.currency?.source
    }

    /// Hashes every field.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(user)
        hasher.combine(limit)
        hasher.combine(source)
        hasher.combine(currency?.limit)
        hasher.combine(currency?.source)
    }
}

/// `{"anchor","cycle","cycle_end","period","source","timezone","user"}`: a cycle policy and the
/// cycle it gives now (`cycle set|show`, `PUT /v1/users/{user}/cycle-policy`).
public struct PolicyOutput: Encodable, Sendable, Hashable {
    /// The user id; `nil` for the namespace's default policy.
    public var user: String?
    /// The period's name (`monthly`, `weekly`, `daily`, …).
    public var period: String
    /// The anchor day, when the period has one.
    public var anchor: Int?
    /// The time zone's identifier.
    public var timezone: String
    /// `user` (the user's own) or `default`.
    public var source: String
    /// The current cycle's start date, `YYYY-MM-DD`.
    public var cycle: String
    /// The next cycle's start date (exclusive end), `YYYY-MM-DD`.
    public var cycleEnd: String
    /// The policy as a sentence, for a table (not in the JSON).
    public var summary: String

    /// The output of `policy`, read from `source`, with its `cycle` now.
    public init(user: String?, policy: BillingCyclePolicy, source: String, cycle: BillingCycle) {
        self.user = user
        self.period = policy.period.name
        self.anchor = policy.period.anchor
        self.timezone = policy.timeZoneIdentifier
        self.source = source
        self.cycle = cycle.start.description
        self.cycleEnd = cycle.end.description
        self.summary = policy.description
    }

    enum CodingKeys: String, CodingKey {
        case user, period, anchor, timezone, source, cycle
        case cycleEnd = "cycle_end"
    }

    /// Every field but ``summary``, nulls included.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(user, forKey: .user)
        try c.encode(period, forKey: .period)
        try c.encode(anchor, forKey: .anchor)
        try c.encode(timezone, forKey: .timezone)
        try c.encode(source, forKey: .source)
        try c.encode(cycle, forKey: .cycle)
        try c.encode(cycleEnd, forKey: .cycleEnd)
    }
}
