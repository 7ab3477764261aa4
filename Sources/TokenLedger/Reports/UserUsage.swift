import RedisClient

/// One user's usage in one billing cycle, as `tokenledger usage` prints it.
///
/// JSON (sorted keys): `user`, `cycle`, `cycle_end` (the next cycle's start, exclusive), the token
/// counters, `calls`, `limit`, `reserved`, `remaining` (`limit`/`remaining` are `null` when
/// unlimited), and `models` (per model: input, output, total tokens and calls).
public struct UserUsage: Sendable, Hashable, Codable {
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

        /// Creates a model's usage.
        public init(inputTokens: Int = 0, outputTokens: Int = 0, totalTokens: Int = 0, calls: Int = 0) {
            self.inputTokens = inputTokens
            self.outputTokens = outputTokens
            self.totalTokens = totalTokens
            self.calls = calls
        }

        enum CodingKeys: String, CodingKey {
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case totalTokens = "total_tokens"
            case calls
        }
    }

    /// The user id.
    public var user: String
    /// The cycle's start date.
    public var cycle: CalendarDate
    /// The next cycle's start date (exclusive end).
    public var cycleEnd: CalendarDate
    /// Input tokens, cache reads and writes included.
    public var inputTokens: Int
    /// Output tokens, reasoning included.
    public var outputTokens: Int
    /// Cache reads (part of input), summed over calls that reported them.
    public var cachedInputTokens: Int
    /// Cache writes (part of input), summed over calls that reported them.
    public var cacheWriteTokens: Int
    /// Reasoning tokens (part of output), summed over calls that reported them.
    public var reasoningTokens: Int
    /// Input plus output tokens.
    public var totalTokens: Int
    /// Recorded calls.
    public var calls: Int
    /// The limit that applies (the user's own, else the default), or `nil` when unlimited.
    public var limit: Int?
    /// Tokens held by live leases.
    public var reserved: Int
    /// Per-model breakdown, keyed by model name (`""` for calls without a model).
    public var models: [String: ModelUsage]

    /// `limit − used − reserved`, never negative; `nil` when unlimited.
    public var remaining: Int? { limit.map { Validation.remaining(limit: $0, used: totalTokens, reserved: reserved) } }

    /// Creates a usage value.
    public init(
        user: String, cycle: CalendarDate, cycleEnd: CalendarDate, inputTokens: Int = 0, outputTokens: Int = 0,
        cachedInputTokens: Int = 0, cacheWriteTokens: Int = 0, reasoningTokens: Int = 0, totalTokens: Int = 0,
        calls: Int = 0, limit: Int? = nil, reserved: Int = 0, models: [String: ModelUsage] = [:]
    ) {
        self.user = user
        self.cycle = cycle
        self.cycleEnd = cycleEnd
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.reasoningTokens = reasoningTokens
        self.totalTokens = totalTokens
        self.calls = calls
        self.limit = limit
        self.reserved = reserved
        self.models = models
    }

    enum CodingKeys: String, CodingKey {
        case user, cycle, calls, limit, reserved, remaining, models
        case cycleEnd = "cycle_end"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cachedInputTokens = "cached_input_tokens"
        case cacheWriteTokens = "cache_write_tokens"
        case reasoningTokens = "reasoning_tokens"
        case totalTokens = "total_tokens"
    }

    /// Decodes a usage value (`remaining` is derived and ignored).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        user = try c.decode(String.self, forKey: .user)
        cycle = try c.decode(CalendarDate.self, forKey: .cycle)
        cycleEnd = try c.decode(CalendarDate.self, forKey: .cycleEnd)
        inputTokens = try c.decode(Int.self, forKey: .inputTokens)
        outputTokens = try c.decode(Int.self, forKey: .outputTokens)
        cachedInputTokens = try c.decode(Int.self, forKey: .cachedInputTokens)
        cacheWriteTokens = try c.decode(Int.self, forKey: .cacheWriteTokens)
        reasoningTokens = try c.decode(Int.self, forKey: .reasoningTokens)
        totalTokens = try c.decode(Int.self, forKey: .totalTokens)
        calls = try c.decode(Int.self, forKey: .calls)
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        reserved = try c.decode(Int.self, forKey: .reserved)
        models = try c.decode([String: ModelUsage].self, forKey: .models)
    }

    /// Encodes every field; `limit` and `remaining` are `null` when unlimited.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(user, forKey: .user)
        try c.encode(cycle, forKey: .cycle)
        try c.encode(cycleEnd, forKey: .cycleEnd)
        try c.encode(inputTokens, forKey: .inputTokens)
        try c.encode(outputTokens, forKey: .outputTokens)
        try c.encode(cachedInputTokens, forKey: .cachedInputTokens)
        try c.encode(cacheWriteTokens, forKey: .cacheWriteTokens)
        try c.encode(reasoningTokens, forKey: .reasoningTokens)
        try c.encode(totalTokens, forKey: .totalTokens)
        try c.encode(calls, forKey: .calls)
        try c.encode(limit, forKey: .limit)
        try c.encode(reserved, forKey: .reserved)
        try c.encode(remaining, forKey: .remaining)
        try c.encode(models, forKey: .models)
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
        var primary: String?
        for index in stride(from: 0, to: cycleHash.count - 1, by: 2) {
            guard let field = cycleHash[index].string else { continue }
            if field == Self.primaryModelField {
                primary = cycleHash[index + 1].string
                continue
            }
            let isCounter =
                Self.counterFields.contains(field)
                || (field.hasPrefix("m:") && Self.modelCounterPrefixes.contains { field.hasPrefix($0) })
            guard isCounter else { continue }
            let value: Int
            do {
                value = try Self.storedCounter(cycleHash[index + 1], key: key, field: field)
            } catch where lenient {
                continue
            }
            switch field {
            case "input_tokens": inputTokens = value
            case "output_tokens": outputTokens = value
            case "cached_input_tokens": cachedInputTokens = value
            case "cache_write_tokens": cacheWriteTokens = value
            case "reasoning_tokens": reasoningTokens = value
            case "calls": calls = value
            default:
                models.apply(modelField: field, value: value)
            }
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
            }
            // Both sides are non-negative, so these differences cannot overflow.
            models[primary] = ModelUsage(
                inputTokens: inputTokens - others.inputTokens, outputTokens: outputTokens - others.outputTokens,
                calls: calls - others.calls)
        }
        // Totals are derived: the scripts store input and output only.
        totalTokens = try add(inputTokens, outputTokens, "input_tokens + output_tokens")
        for (model, entry) in models {
            models[model]?.totalTokens = try add(entry.inputTokens, entry.outputTokens, "model '\(model)' input + output tokens")
        }
    }

    /// The cycle hash's own counters.
    static let counterFields: Set<String> = [
        "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens", "calls",
    ]
    /// The per-model counter fields' prefixes (`m:<counter>:<model>`).
    static let modelCounterPrefixes = ["m:input_tokens:", "m:output_tokens:", "m:total_tokens:", "m:calls:"]

    /// A counter as stored: a non-negative integer, else a ``LedgerError`` naming the key and field.
    static func storedCounter(_ reply: RedisReply, key: String, field: String) throws(LedgerError) -> Int {
        guard let value = reply.int, value >= 0 else {
            let shown: String
            if let text = reply.string {
                shown = "'" + (text.count > 40 ? String(text.prefix(40)) + "…" : text) + "'"
            } else {
                shown = "not a string"
            }
            throw LedgerError(
                code: .corruptData,
                message: "\(key) field \(field) is \(shown), not a non-negative integer; fix or reset the cycle")
        }
        return Int(value)
    }
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
        default: return
        }
        self[model] = entry
    }
}

/// How `report` orders users.
public enum ReportSort: String, Sendable, CaseIterable, Codable {
    /// By total tokens, largest first.
    case total
    /// By input tokens, largest first.
    case input
    /// By output tokens, largest first.
    case output
}

/// All users of one cycle, as `tokenledger report` prints it: `{"cycle","users":[…],"totals":{…}}`.
public struct UsageReport: Sendable, Hashable, Codable {
    /// Sums over every user in the cycle (not only the ones shown with `--top`).
    public struct Totals: Sendable, Hashable, Codable {
        /// Users with usage in the cycle.
        public var users: Int = 0
        /// Input tokens.
        public var inputTokens: Int = 0
        /// Output tokens.
        public var outputTokens: Int = 0
        /// Cache reads.
        public var cachedInputTokens: Int = 0
        /// Cache writes.
        public var cacheWriteTokens: Int = 0
        /// Reasoning tokens.
        public var reasoningTokens: Int = 0
        /// Input plus output tokens.
        public var totalTokens: Int = 0
        /// Recorded calls.
        public var calls: Int = 0
        /// Tokens held by live leases.
        public var reserved: Int = 0

        /// Empty totals.
        public init() {}

        enum CodingKeys: String, CodingKey {
            case users, calls, reserved
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cachedInputTokens = "cached_input_tokens"
            case cacheWriteTokens = "cache_write_tokens"
            case reasoningTokens = "reasoning_tokens"
            case totalTokens = "total_tokens"
        }

        /// Adds one user's phase-1 counters (input, output, calls, cached, cache write, reasoning,
        /// reserved), all or nothing: returns why not when a sum would leave 64 bits.
        mutating func adding(_ v: [Int]) -> String? {
            var next = self
            var overflow = false
            func add(_ a: inout Int, _ b: Int) {
                let (sum, o) = a.addingReportingOverflow(b)
                overflow = overflow || o
                a = sum
            }
            next.users += 1
            add(&next.inputTokens, v[0])
            add(&next.outputTokens, v[1])
            add(&next.totalTokens, v[0])
            add(&next.totalTokens, v[1])
            add(&next.calls, v[2])
            add(&next.cachedInputTokens, v[3])
            add(&next.cacheWriteTokens, v[4])
            add(&next.reasoningTokens, v[5])
            add(&next.reserved, v[6])
            if overflow { return "its counters would make the cycle's totals pass 64 bits" }
            self = next
            return nil
        }

        /// Takes back what ``adding(_:)`` added for one user.
        mutating func subtract(_ v: [Int]) {
            users -= 1
            inputTokens -= v[0]
            outputTokens -= v[1]
            totalTokens -= v[0] + v[1]
            calls -= v[2]
            cachedInputTokens -= v[3]
            cacheWriteTokens -= v[4]
            reasoningTokens -= v[5]
            reserved -= v[6]
        }

        mutating func add(_ usage: UserUsage) {
            users += 1
            inputTokens += usage.inputTokens
            outputTokens += usage.outputTokens
            cachedInputTokens += usage.cachedInputTokens
            cacheWriteTokens += usage.cacheWriteTokens
            reasoningTokens += usage.reasoningTokens
            totalTokens += usage.totalTokens
            calls += usage.calls
            reserved += usage.reserved
        }
    }

    /// A user of the cycle whose stored values cannot be trusted (a key of the wrong type, a
    /// non-numeric or negative counter): listed, never silently skipped or read as 0.
    public struct UnreadableUser: Sendable, Hashable, Codable {
        /// The user id.
        public var user: String
        /// What is wrong, naming the key and field.
        public var reason: String

        /// Creates an entry.
        public init(user: String, reason: String) {
            self.user = user
            self.reason = reason
        }
    }

    /// The cycle's start date.
    public var cycle: CalendarDate
    /// Users, sorted as asked and cut to `top` when given.
    public var users: [UserUsage]
    /// Sums over all readable users of the cycle.
    public var totals: Totals
    /// Users whose stored data cannot be read (not in ``users`` nor ``totals``), by user id. JSON:
    /// `unreadable` (`[{"reason","user"}]`), present only when not empty; the CLI then exits 65.
    public var unreadable: [UnreadableUser]

    /// Creates a report.
    public init(cycle: CalendarDate, users: [UserUsage], totals: Totals, unreadable: [UnreadableUser] = []) {
        self.cycle = cycle
        self.users = users
        self.totals = totals
        self.unreadable = unreadable
    }

    enum CodingKeys: String, CodingKey {
        case cycle, users, totals, unreadable
    }

    /// Decodes a report (`unreadable` may be absent).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cycle = try c.decode(CalendarDate.self, forKey: .cycle)
        users = try c.decode([UserUsage].self, forKey: .users)
        totals = try c.decode(Totals.self, forKey: .totals)
        unreadable = try c.decodeIfPresent([UnreadableUser].self, forKey: .unreadable) ?? []
    }

    /// Encodes the report; `unreadable` only when some user is unreadable, so a healthy cycle's
    /// report keeps its documented shape `{"cycle","totals","users"}`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cycle, forKey: .cycle)
        try c.encode(users, forKey: .users)
        try c.encode(totals, forKey: .totals)
        if !unreadable.isEmpty { try c.encode(unreadable, forKey: .unreadable) }
    }
}
