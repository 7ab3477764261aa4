import Foundation

/// A cycle's history: every closed user's summary and their totals.
public struct CycleHistory: Sendable, Hashable, Codable {
    /// The sums over the summaries (users with no usage are not counted in ``users``).
    public struct Totals: Sendable, Hashable, Codable, TokenCountsCarrying {
        /// Users with usage.
        public var users = 0
        /// The sums of the summaries' counters.
        public var counts = TokenCounts.zero
        /// Late calls added after the close (already counted in the sums above).
        public var adjustments = 0
        /// Per-model sums.
        public var models: [String: UserUsage.ModelUsage] = [:]
        /// The sums of the summaries' money (`cost_usd` `null` when no summary holds a cost).
        public var money = CycleCost()

        /// Empty totals.
        public init() {}

        enum CodingKeys: String, CodingKey {
            case users, models, adjustments
        }

        /// Decodes totals (`total_tokens` is derived and ignored).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            users = try c.decode(Int.self, forKey: .users)
            counts = try TokenCounts(from: decoder).reportingEverySubset
            adjustments = try c.decode(Int.self, forKey: .adjustments)
            models = try c.decode([String: UserUsage.ModelUsage].self, forKey: .models)
            money = try CycleCost(from: decoder)
        }

        /// Encodes `users`, the counters, `adjustments`, `models` and the money.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(users, forKey: .users)
            try counts.reportingEverySubset.encode(to: encoder)
            try c.encode(adjustments, forKey: .adjustments)
            try c.encode(models, forKey: .models)
            try money.encode(to: encoder)
        }
    }

    /// A late call: applied after rollover had closed its user's cycle, and added to the history
    /// (the user's summary and the totals include it). The audit entry of the amendment.
    public struct Adjustment: Sendable, Hashable, Codable, TokenCountsCarrying {
        /// The user id.
        public var user: String
        /// The call id of the late event.
        public var callID: String
        /// The call's model (`""` when none).
        public var model: String
        /// When it was applied to the user's counters (ISO 8601, UTC; the Redis server's clock).
        public var at: String
        /// The counts added (`calls` is 1).
        public var counts: TokenCounts
        /// The call's cost as it was recorded; `nil` for an entry written before events were priced.
        /// JSON `cost_usd` (`null` when unpriced or unknown).
        public var cost: EventCost?

        enum CodingKeys: String, CodingKey {
            case user, model, at
            case callID = "call_id"
            case costNano = "cost_nano"
            case cost = "cost_usd"
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
            counts = try TokenCounts(from: decoder).reportingEverySubset
            counts.calls = 1
            if let nano = try c.decodeIfPresent(Int.self, forKey: .costNano) {
                cost = nano >= 0 ? .priced(Cost(nanoUSD: nano)) : .unpriced
            } else if c.contains(.cost) {
                cost = try c.decodeIfPresent(Cost.self, forKey: .cost).map { .priced($0) } ?? .unpriced
            }
        }

        /// Encodes the entry with its counters (`calls` left out: an entry is one call).
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(user, forKey: .user)
            try c.encode(callID, forKey: .callID)
            try c.encode(model, forKey: .model)
            try c.encode(at, forKey: .at)
            try counts.reportingEverySubset.encode(to: encoder, calls: false)
            try c.encode(cost?.cost, forKey: .cost)
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
