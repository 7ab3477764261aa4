/// All users of one cycle, as `tokenledger report` prints it: `{"cycle","users":[…],"totals":{…}}`.
public struct UsageReport: Sendable, Hashable, Codable {
    /// Sums over every user in the cycle (not only the ones shown with `--top`).
    public struct Totals: Sendable, Hashable, Codable, TokenCountsCarrying {
        /// Users with usage in the cycle.
        public var users: Int = 0
        /// The sums of the users' counters.
        public var counts: TokenCounts = .zero
        /// Tokens held by live leases.
        public var reserved: Int = 0
        /// The sums of the users' money: `cost_usd` sums every user whose cycle holds a cost (`null`
        /// only when none does), `unpriced_calls`, and `reported_cost_usd` (`null` when no provider
        /// reported a cost).
        public var money = CycleCost()

        /// Empty totals.
        public init() {}

        enum CodingKeys: String, CodingKey {
            case users, reserved
        }

        /// Decodes totals (`total_tokens` is derived and ignored).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            users = try c.decode(Int.self, forKey: .users)
            counts = try TokenCounts(from: decoder).reportingEverySubset
            reserved = try c.decode(Int.self, forKey: .reserved)
            money = try CycleCost(from: decoder)
        }

        /// Encodes `users`, the counters, `reserved` and the money.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(users, forKey: .users)
            try counts.reportingEverySubset.encode(to: encoder)
            try c.encode(reserved, forKey: .reserved)
            try money.encode(to: encoder)
        }

        /// Adds one user's phase-1 report counters, money and reservation (as `TokenRepository.report`
        /// reads them), all or nothing: returns why not when a sum would leave 64 bits.
        mutating func adding(_ userCounts: TokenCounts, money userMoney: CycleCost, reserved userReserved: Int)
            -> String?
        {
            let (sum, overflow) = counts.addingReportingOverflow(userCounts)
            let (reservedSum, reservedOverflow) = reserved.addingReportingOverflow(userReserved)
            guard !overflow, !reservedOverflow, let moneySum = money.adding(userMoney) else {
                return "its counters would make the cycle's totals pass 64 bits"
            }
            users += 1
            counts = sum
            reserved = reservedSum
            money = moneySum
            return nil
        }

        /// Takes back what ``adding(_:money:reserved:)`` added for one user (whose phase-2 read failed).
        ///
        /// A subtracted cost leaves the total cost known (0 when it was the only one): the users
        /// that remain are not re-read to tell whether any of them held a cost.
        mutating func subtract(_ userCounts: TokenCounts, money userMoney: CycleCost, reserved userReserved: Int) {
            users -= 1
            counts = counts - userCounts
            reserved -= userReserved
            if let cost = money.cost, let userCost = userMoney.cost {
                money.cost = Cost(nanoUSD: cost.nanoUSD - userCost.nanoUSD)
            }
            if let reported = money.reportedCost, let userReported = userMoney.reportedCost {
                money.reportedCost = Cost(nanoUSD: reported.nanoUSD - userReported.nanoUSD)
            }
            money.unpricedCalls -= userMoney.unpricedCalls
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
