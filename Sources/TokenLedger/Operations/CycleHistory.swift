import Foundation

/// One user's closed cycle as rollover wrote it to the history, amended only by late calls.
///
/// JSON (sorted keys, one object per user in `<ns>:{global}:history:<cycle>`): `user`, `cycle`,
/// `cycle_end`, the token counters, `calls`, `limit` (the limit that applied when the cycle was
/// closed; `null` when unlimited), `models` (per model: input, output, total tokens and calls) and
/// `adjustments` (late calls added since; see ``CycleHistory/Adjustment``). The counters include
/// those late calls: `history_adjust.lua` rewrites the summary with each, once.
public struct CycleSummary: Sendable, Hashable, Codable {
    /// The user id.
    public var user: String
    /// The cycle's start date.
    public var cycle: CalendarDate
    /// The next cycle's start date (exclusive end), by the user's policy when the cycle was closed.
    public var cycleEnd: CalendarDate
    /// Input tokens, cache reads and writes included.
    public var inputTokens: Int
    /// Output tokens, reasoning included.
    public var outputTokens: Int
    /// Cache reads (part of input).
    public var cachedInputTokens: Int
    /// Cache writes (part of input).
    public var cacheWriteTokens: Int
    /// Reasoning tokens (part of output).
    public var reasoningTokens: Int
    /// Input plus output tokens.
    public var totalTokens: Int
    /// Recorded calls.
    public var calls: Int
    /// The limit that applied when the cycle was closed, or `nil` when unlimited.
    public var limit: Int?
    /// Per-model breakdown, keyed by model name (`""` for calls without a model).
    public var models: [String: UserUsage.ModelUsage]
    /// Late calls added after the close (each also in ``CycleHistory/adjustments`` and counted in the
    /// totals above). 0 for a summary as rollover wrote it.
    public var adjustments = 0

    /// The summary of a user's usage of a cycle.
    ///
    /// - Parameter usage: The usage as ``TokenRepository/usage(user:cycle:at:)`` reads it; leases
    ///   (`reserved`) are not part of a closed cycle and are left out.
    public init(_ usage: UserUsage) {
        user = usage.user
        cycle = usage.cycle
        cycleEnd = usage.cycleEnd
        inputTokens = usage.inputTokens
        outputTokens = usage.outputTokens
        cachedInputTokens = usage.cachedInputTokens
        cacheWriteTokens = usage.cacheWriteTokens
        reasoningTokens = usage.reasoningTokens
        totalTokens = usage.totalTokens
        calls = usage.calls
        limit = usage.limit
        models = usage.models
    }

    enum CodingKeys: String, CodingKey {
        case user, cycle, calls, limit, models, adjustments
        case cycleEnd = "cycle_end"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cachedInputTokens = "cached_input_tokens"
        case cacheWriteTokens = "cache_write_tokens"
        case reasoningTokens = "reasoning_tokens"
        case totalTokens = "total_tokens"
    }

    /// Decodes a summary; a missing `limit` means unlimited, missing `adjustments` none.
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
        models = try c.decode([String: UserUsage.ModelUsage].self, forKey: .models)
        adjustments = try c.decodeIfPresent(Int.self, forKey: .adjustments) ?? 0
    }

    /// Encodes every field; `limit` is `null` when unlimited.
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
        try c.encode(models, forKey: .models)
        try c.encode(adjustments, forKey: .adjustments)
    }
}

/// A cycle's history: every closed user's summary and their totals.
public struct CycleHistory: Sendable, Hashable, Codable {
    /// The sums over the summaries (users with no usage are not counted in ``users``).
    public struct Totals: Sendable, Hashable, Codable {
        /// Users with usage.
        public var users = 0
        /// Input tokens.
        public var inputTokens = 0
        /// Output tokens.
        public var outputTokens = 0
        /// Cache reads.
        public var cachedInputTokens = 0
        /// Cache writes.
        public var cacheWriteTokens = 0
        /// Reasoning tokens.
        public var reasoningTokens = 0
        /// Input plus output tokens.
        public var totalTokens = 0
        /// Recorded calls.
        public var calls = 0
        /// Late calls added after the close (already counted in the sums above).
        public var adjustments = 0
        /// Per-model sums.
        public var models: [String: UserUsage.ModelUsage] = [:]

        /// Empty totals.
        public init() {}

        enum CodingKeys: String, CodingKey {
            case users, calls, models, adjustments
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cachedInputTokens = "cached_input_tokens"
            case cacheWriteTokens = "cache_write_tokens"
            case reasoningTokens = "reasoning_tokens"
            case totalTokens = "total_tokens"
        }
    }

    /// A late call: applied after rollover had closed its user's cycle, and added to the history
    /// (the user's summary and the totals include it). The audit entry of the amendment.
    public struct Adjustment: Sendable, Hashable, Codable {
        /// The user id.
        public var user: String
        /// The call id of the late event.
        public var callID: String
        /// The call's model (`""` when none).
        public var model: String
        /// When it was applied to the user's counters (ISO 8601, UTC; the Redis server's clock).
        public var at: String
        /// Input tokens added.
        public var inputTokens: Int
        /// Output tokens added.
        public var outputTokens: Int
        /// Cache reads added (part of input).
        public var cachedInputTokens: Int
        /// Cache writes added (part of input).
        public var cacheWriteTokens: Int
        /// Reasoning tokens added (part of output).
        public var reasoningTokens: Int
        /// Input plus output tokens added.
        public var totalTokens: Int

        enum CodingKeys: String, CodingKey {
            case user, model, at
            case callID = "call_id"
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cachedInputTokens = "cached_input_tokens"
            case cacheWriteTokens = "cache_write_tokens"
            case reasoningTokens = "reasoning_tokens"
            case totalTokens = "total_tokens"
        }

        /// Decodes an entry; `at` is stored as milliseconds since 1970 and shown as ISO 8601.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            user = try c.decode(String.self, forKey: .user)
            callID = try c.decode(String.self, forKey: .callID)
            model = try c.decode(String.self, forKey: .model)
            if let milliseconds = try? c.decode(Int.self, forKey: .at) {
                at = ISO8601Instant.format(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
            } else {
                at = try c.decode(String.self, forKey: .at)
            }
            inputTokens = try c.decode(Int.self, forKey: .inputTokens)
            outputTokens = try c.decode(Int.self, forKey: .outputTokens)
            cachedInputTokens = try c.decode(Int.self, forKey: .cachedInputTokens)
            cacheWriteTokens = try c.decode(Int.self, forKey: .cacheWriteTokens)
            reasoningTokens = try c.decode(Int.self, forKey: .reasoningTokens)
            totalTokens = try c.decode(Int.self, forKey: .totalTokens)
        }
    }

    /// The cycle's start date.
    public var cycle: CalendarDate
    /// The closed users' summaries, by user id.
    public var users: [CycleSummary]
    /// The sums, as stored beside the summaries.
    public var totals: Totals
    /// The late calls that amended the history, by user id, then time, then call id.
    public var adjustments: [Adjustment]

    /// Creates a history value.
    public init(cycle: CalendarDate, users: [CycleSummary], totals: Totals, adjustments: [Adjustment] = []) {
        self.cycle = cycle
        self.users = users
        self.totals = totals
        self.adjustments = adjustments
    }
}
