import RedisClient

/// One user's usage in one billing cycle, as `tokenledger usage` prints it.
///
/// JSON (sorted keys): `user`, `cycle`, `cycle_end` (the next cycle's start, exclusive), the token
/// counters, `calls`, `limit`, `reserved`, `remaining` (`limit`/`remaining` are `null` when
/// unlimited), `models` (per model: input, output, total tokens, calls, `cost_usd` and
/// `unpriced_calls`), and the cycle's money: `cost_usd` (nine-decimal string; `null` when the cycle
/// holds no cost at all, e.g. legacy-imported or recorded before events were priced),
/// `unpriced_calls` and `reported_cost_usd` (`null` when no provider reported a cost). The currency
/// limit: `limit_usd`, `remaining_usd` (nine-decimal strings of USD, `null` without one) and
/// `reserved_usd`.
public struct UserUsage: Sendable, Hashable, Codable, TokenCountsCarrying {
    /// One model's share of the cycle.
    public struct ModelUsage: Sendable, Hashable, Codable {
        /// Input tokens.
        public var inputTokens: Int
        /// Output tokens.
        public var outputTokens: Int
        /// Input plus output tokens.
        public var totalTokens: Int
        /// Recorded calls.
        public var calls: Int
        /// The model's cost (sum of its priced events), or `nil` when the cycle holds no cost. JSON
        /// `cost_usd`, `null` then.
        public var cost: Cost?
        /// The model's events recorded without a cost (no price). JSON `unpriced_calls`.
        public var unpricedCalls = 0

        /// Creates a model's usage.
        public init(
            inputTokens: Int = 0, outputTokens: Int = 0, totalTokens: Int = 0, calls: Int = 0, cost: Cost? = nil,
            unpricedCalls: Int = 0
        ) {
            self.inputTokens = inputTokens
            self.outputTokens = outputTokens
            self.totalTokens = totalTokens
            self.calls = calls
            self.cost = cost
            self.unpricedCalls = unpricedCalls
        }

        enum CodingKeys: String, CodingKey {
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case totalTokens = "total_tokens"
            case calls
            case cost = "cost_usd"
            case unpricedCalls = "unpriced_calls"
        }

        /// Decodes a model's usage; `cost_usd` and `unpriced_calls` may be absent (older JSON).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            inputTokens = try c.decode(Int.self, forKey: .inputTokens)
            outputTokens = try c.decode(Int.self, forKey: .outputTokens)
            totalTokens = try c.decode(Int.self, forKey: .totalTokens)
            calls = try c.decode(Int.self, forKey: .calls)
            cost = try c.decodeIfPresent(Cost.self, forKey: .cost)
            unpricedCalls = try c.decodeIfPresent(Int.self, forKey: .unpricedCalls) ?? 0
        }

        /// Encodes every field; `cost_usd` is `null` when unknown.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(inputTokens, forKey: .inputTokens)
            try c.encode(outputTokens, forKey: .outputTokens)
            try c.encode(totalTokens, forKey: .totalTokens)
            try c.encode(calls, forKey: .calls)
            try c.encode(cost, forKey: .cost)
            try c.encode(unpricedCalls, forKey: .unpricedCalls)
        }
    }

    /// The user id.
    public var user: String
    /// The cycle's start date.
    public var cycle: CalendarDate
    /// The next cycle's start date (exclusive end).
    public var cycleEnd: CalendarDate
    /// The cycle's counters (every subset reported: `0` when no call reported it).
    public var counts: TokenCounts
    /// The limit that applies (the user's own, else the default), or `nil` when unlimited.
    public var limit: Int?
    /// Tokens held by live leases.
    public var reserved: Int
    /// Per-model breakdown, keyed by model name (`""` for calls without a model).
    public var models: [String: ModelUsage]
    /// The currency limit that applies (the user's own, else the default), or `nil` when there is none.
    public var limitUSD: Cost?
    /// Nano-USD held by live leases.
    public var reservedUSD: Cost = .zero
    /// The cycle's recorded spend as the currency limit counts it (`cost_nano`, absent = 0).
    var spentForLimit: Cost { money.cost ?? .zero }

    /// `limitUSD − spent − reservedUSD`, never negative; `nil` without a currency limit.
    public var remainingUSD: Cost? {
        limitUSD.map {
            Cost(
                nanoUSD: Validation.remaining(
                    limit: $0.nanoUSD, used: spentForLimit.nanoUSD, reserved: reservedUSD.nanoUSD))
        }
    }
    /// The cycle's money (``CycleCost``): its cost, unpriced calls and reported cost.
    public var money = CycleCost()

    /// `limit − used − reserved`, never negative; `nil` when unlimited.
    public var remaining: Int? { limit.map { Validation.remaining(limit: $0, used: totalTokens, reserved: reserved) } }

    /// Creates a usage value.
    public init(
        user: String, cycle: CalendarDate, cycleEnd: CalendarDate, counts: TokenCounts = .zero, limit: Int? = nil,
        reserved: Int = 0, models: [String: ModelUsage] = [:]
    ) {
        self.user = user
        self.cycle = cycle
        self.cycleEnd = cycleEnd
        self.counts = counts.reportingEverySubset
        self.limit = limit
        self.reserved = reserved
        self.models = models
    }

    enum CodingKeys: String, CodingKey {
        case user, cycle, limit, reserved, remaining, models
        case cycleEnd = "cycle_end"
        case limitUSD = "limit_usd", remainingUSD = "remaining_usd", reservedUSD = "reserved_usd"
    }

    /// Decodes a usage value (`remaining` and `total_tokens` are derived and ignored).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        user = try c.decode(String.self, forKey: .user)
        cycle = try c.decode(CalendarDate.self, forKey: .cycle)
        cycleEnd = try c.decode(CalendarDate.self, forKey: .cycleEnd)
        counts = try TokenCounts(from: decoder).reportingEverySubset
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        reserved = try c.decode(Int.self, forKey: .reserved)
        models = try c.decode([String: ModelUsage].self, forKey: .models)
        limitUSD = try c.decodeIfPresent(Cost.self, forKey: .limitUSD)
        reservedUSD = try c.decodeIfPresent(Cost.self, forKey: .reservedUSD) ?? .zero
        money = try CycleCost(from: decoder)
    }

    /// Encodes every field; `limit` and `remaining` are `null` when unlimited.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(user, forKey: .user)
        try c.encode(cycle, forKey: .cycle)
        try c.encode(cycleEnd, forKey: .cycleEnd)
        try counts.reportingEverySubset.encode(to: encoder)
        try c.encode(limit, forKey: .limit)
        try c.encode(reserved, forKey: .reserved)
        try c.encode(remaining, forKey: .remaining)
        try c.encode(models, forKey: .models)
        try c.encode(limitUSD, forKey: .limitUSD)
        try c.encode(remainingUSD, forKey: .remainingUSD)
        try c.encode(reservedUSD, forKey: .reservedUSD)
        try money.encode(to: encoder)
    }

    /// The cycle hash field naming the cycle's primary model: the first model recorded in the cycle,
    /// whose per-model counters are not stored (see ``apply(cycleHash:)``).
    static let primaryModelField = "model:primary"

    /// Fills counters from a cycle hash as `HGETALL` returns it (field, value, field, value, …).
    ///
    /// The record script stores `m:` counters for every model except the cycle's primary model
    /// (``primaryModelField``); the primary model's counters are the cycle's counters minus the
    /// other models' (exact: every counter is an integer). A cycle written before the primary
    /// model existed has `m:` counters for every model and no primary field.
    ///
    /// Values read back from Redis are checked (SPEC "Bad input"): a counter that is not a
    /// non-negative integer, or sums that leave 64 bits, are reported, never read as 0 or skipped.
    ///
    /// - Parameters:
    ///   - key: The cycle hash's key, named in the error.
    ///   - lenient: Skip counters that are not non-negative integers instead of refusing them (only
    ///     for `reset`, which repairs such a cycle).
    /// - Throws: ``LedgerError`` with code ``LedgerError/Code/corruptData`` naming the key and field.
    mutating func apply(cycleHash: [RedisReply], key: String, lenient: Bool = false) throws(LedgerError) {
        counts = try TokenCounts(cycleHash: cycleHash, key: key, lenient: lenient)
        money = try CycleCost(cycleHash: cycleHash, key: key, lenient: lenient)
        var primary: String?
        for index in stride(from: 0, to: cycleHash.count - 1, by: 2) {
            guard let field = cycleHash[index].string else { continue }
            if field == Self.primaryModelField {
                primary = cycleHash[index + 1].string
                continue
            }
            guard field.hasPrefix("m:") && Self.modelCounterPrefixes.contains(where: { field.hasPrefix($0) }) else {
                continue
            }
            let value: Int
            do {
                value = try TokenCounts.storedCounter(cycleHash[index + 1], key: key, field: field)
            } catch  where lenient {
                continue
            }
            models.apply(modelField: field, value: value)
        }
        func add(_ a: Int, _ b: Int, _ what: String) throws(LedgerError) -> Int {
            let (sum, overflow) = a.addingReportingOverflow(b)
            guard !overflow else {
                throw LedgerError(code: .corruptData, message: "\(key): \(what) (\(a) + \(b)) does not fit in 64 bits")
            }
            return sum
        }
        if let primary {
            var others = ModelUsage()
            for (model, entry) in models where model != primary {
                others.inputTokens = try add(others.inputTokens, entry.inputTokens, "the models' input tokens")
                others.outputTokens = try add(others.outputTokens, entry.outputTokens, "the models' output tokens")
                others.calls = try add(others.calls, entry.calls, "the models' calls")
                others.unpricedCalls = try add(others.unpricedCalls, entry.unpricedCalls, "the models' unpriced calls")
                others.cost = Cost(
                    nanoUSD: try add(others.cost?.nanoUSD ?? 0, entry.cost?.nanoUSD ?? 0, "the models' cost"))
            }
            // Both sides are non-negative, so these differences cannot overflow.
            models[primary] = ModelUsage(
                inputTokens: inputTokens - others.inputTokens, outputTokens: outputTokens - others.outputTokens,
                calls: calls - others.calls,
                cost: money.cost.map { Cost(nanoUSD: $0.nanoUSD - (others.cost?.nanoUSD ?? 0)) },
                unpricedCalls: money.unpricedCalls - others.unpricedCalls)
        }
        // A cycle that holds a cost gives every model one (0 when it has no priced event); one that
        // holds none (legacy, before pricing) gives none.
        let costKnown = money.cost != nil
        for (model, entry) in models {
            models[model]?.cost = costKnown ? (entry.cost ?? .zero) : nil
        }
        // Totals are derived: the scripts store input and output only.
        for (model, entry) in models {
            models[model]?.totalTokens = try add(
                entry.inputTokens, entry.outputTokens, "model '\(model)' input + output tokens")
        }
    }

    /// The per-model counter fields' prefixes (`m:<counter>:<model>`).
    static let modelCounterPrefixes = [
        "m:input_tokens:", "m:output_tokens:", "m:total_tokens:", "m:calls:", "m:cost_nano:", "m:unpriced_calls:",
    ]
}
extension [String: UserUsage.ModelUsage] {
    /// Stores a per-model counter from its hash field `m:<counter>:<model>` (as the record script
    /// and the history totals write them); any other field is ignored.
    mutating func apply(modelField field: String, value: Int) {
        guard field.hasPrefix("m:") else { return }
        let rest = field.dropFirst(2)
        guard let colon = rest.firstIndex(of: ":") else { return }
        let model = String(rest[rest.index(after: colon)...])
        var entry = self[model] ?? UserUsage.ModelUsage()
        switch rest[..<colon] {
        case "input_tokens": entry.inputTokens = value
        case "output_tokens": entry.outputTokens = value
        case "total_tokens": entry.totalTokens = value
        case "calls": entry.calls = value
        case "cost_nano": entry.cost = Cost(nanoUSD: value)
        case "unpriced_calls": entry.unpricedCalls = value
        default: return
        }
        self[model] = entry
    }
}
