import RedisClient

/// What `check.lua` and `reserve.lua` answer beside their status: the cycle's usage and spend, the
/// live reservations of both kinds, both limits, and which limit denied.
struct QuotaCounts: Sendable, Hashable {
    var used: Int
    var reserved: Int
    /// `nil`: unlimited.
    var limit: Int?
    /// The cycle's recorded spend, nano-USD.
    var spent: Int
    /// Nano-USD held by live leases.
    var reservedCost: Int
    /// `nil`: no currency limit.
    var limitUSD: Int?
    /// The limit that denied (`nil`: none did).
    var deniedBy: QuotaLimitKind?
    /// A user's groups (reserve.lua for a user: the profile's, or for a held lease those it was taken in).
    var groups = ScopeGroups()
    /// A rate denial's wait until the request fits (`-1`: never; `nil` otherwise).
    var retryAfterMilliseconds: Int?
    /// The rate limits that apply (`nil`: none).
    var tpm: Int?
    /// The requests-per-minute limit that applies (`nil`: none).
    var rpm: Int?
    /// The tokens and requests in the scope's rate window (0 without a rate limit).
    var windowTokens = 0
    /// The requests in the scope's rate window.
    var windowRequests = 0

    /// Reads `used, reserved, limit, spent, reserved cost, currency limit, denied by` (the last four
    /// absent from a script older than currency limits: zero and none).
    init(_ values: [RedisReply], reply: RedisReply, script: ScriptName) throws {
        let numbers = try ScriptReply.integers(values, count: min(max(values.count, 3), 6), script: script)
        func number(_ index: Int) -> Int { numbers.count > index ? numbers[index] : 0 }
        used = numbers[0]
        reserved = numbers[1]
        limit = numbers[2] < 0 ? nil : numbers[2]
        spent = number(3)
        reservedCost = number(4)
        limitUSD = numbers.count > 5 && numbers[5] >= 0 ? numbers[5] : nil
        deniedBy = values.count > 6 ? values[6].string.flatMap(QuotaLimitKind.init(rawValue:)) : nil
        if values.count > 8 { groups = ScopeGroups(team: values[7].string ?? "", org: values[8].string ?? "") }
        if values.count > 13 {
            // retry after (0 none, -1 never), tpm, rpm (-1 none), window tokens, window requests.
            let rate = try ScriptReply.integers(Array(values[9...13]), count: 5, script: script)
            retryAfterMilliseconds = rate[0] == 0 ? nil : rate[0]
            tpm = rate[1] < 0 ? nil : rate[1]
            rpm = rate[2] < 0 ? nil : rate[2]
            windowTokens = rate[3]
            windowRequests = rate[4]
        }
    }

    /// The decision these counts describe.
    func decision(
        allowed: Bool, user: String, cycle: CalendarDate, requested: Int, requestedCost: Cost
    ) -> QuotaDecision {
        var decision = QuotaDecision(
            allowed: allowed, user: user, cycle: cycle, used: used, reserved: reserved, limit: limit,
            requested: requested)
        decision.usedCost = Cost(nanoUSD: spent)
        decision.reservedCost = Cost(nanoUSD: reservedCost)
        decision.limitUSD = limitUSD.map { Cost(nanoUSD: $0) }
        decision.requestedCost = requestedCost
        decision.deniedBy = allowed ? nil : deniedBy
        decision.tpm = tpm
        decision.rpm = rpm
        decision.windowTokens = windowTokens
        decision.windowRequests = windowRequests
        if !allowed, let retryAfterMilliseconds, retryAfterMilliseconds > 0 {
            decision.retryAfterMilliseconds = retryAfterMilliseconds
        }
        if !allowed { decision.deniedScope = LedgerScope.user(user).description }
        return decision
    }
}

/// `check.lua`: the read-only quota decision for `tokens` (costing `cost`) more in a user's cycle.
struct CheckScript: LedgerScriptCall {
    /// What the script answered.
    enum Reply: Sendable, Hashable {
        /// The assumed policy was stale.
        case policy(stored: String)
        /// The decision and the counts it was made from.
        case decided(allowed: Bool, QuotaCounts)
    }

    var userKeys: LedgerKeys.User
    var cycle: CalendarDate
    /// The cycles of previous policies that still count against the limit (a carry).
    var carried: [String]
    var assumedPolicy: String
    var tokens: Int
    var defaultLimit: Int?
    /// The nano-USD asked for.
    var cost = 0
    /// The default currency limit, nano-USD (`nil`: none).
    var defaultLimitUSD: Int? = nil
    /// The default rate limits (`nil`: none; a group's are always `nil`).
    var defaultTPM: Int? = nil
    var defaultRPM: Int? = nil

    var script: ScriptName { .check }
    var keys: [any RedisArgumentConvertible] {
        userKeys.snapshotKeys(cycle) + userKeys.costKeys + userKeys.rateKeys + carried
    }
    var arguments: [any RedisArgumentConvertible] {
        [assumedPolicy, tokens, defaultLimit ?? -1, cost, defaultLimitUSD ?? -1]
            + LedgerKeys.User.rateArguments(defaultTPM, defaultRPM)
    }

    func read(_ reply: RedisReply) throws -> Reply {
        if let stored = ScriptReply.storedPolicy(reply) { return .policy(stored: stored) }
        guard let fields = reply.array, let allowed = fields.first?.int else {
            throw ScriptReply.unexpected(reply, script: script)
        }
        return .decided(allowed: allowed == 1, try QuotaCounts(Array(fields.dropFirst()), reply: reply, script: script))
    }
}

/// `reserve.lua`: takes a lease of `tokens` and `cost` nano-USD for a call if the user's limits allow it.
struct ReserveScript: LedgerScriptCall {
    /// What the script answered.
    enum Reply: Sendable, Hashable {
        /// The assumed policy was stale; nothing changed.
        case policy(stored: String)
        /// The call id holds a lease of other amounts (`held` tokens and `heldCost` nano-USD, as
        /// stored); nothing changed.
        case conflict(held: String?, heldCost: String?)
        /// The decision, with the cycle's usage, the live reservations and the limits.
        case decided(ReservationStatus, QuotaCounts)
    }

    var userKeys: LedgerKeys.User
    var cycle: CalendarDate
    var carried: [String]
    var assumedPolicy: String
    let callID: String
    /// What the cycle stores of the call id (`settled` is read from its bucket): hashed once, when
    /// the call is made, for both its bucket key and its field argument.
    let fingerprint: CallFingerprint
    var tokens: Int
    var ttlMilliseconds: Int
    var defaultLimit: Int?
    /// The nano-USD to hold.
    var cost = 0
    /// The default currency limit, nano-USD (`nil`: none).
    var defaultLimitUSD: Int? = nil
    /// The soft thresholds (`80,100`), for the currency ones reserve fires.
    var thresholds = ""
    /// The user id, named in threshold events (a group's name for a group).
    var user = ""
    /// Whether these are a user's keys: the user's groups are read, stored with an admitted lease and returned.
    var forUser = true
    /// The default rate limits (`nil`: none; a group's are always `nil`).
    var defaultTPM: Int? = nil
    var defaultRPM: Int? = nil

    /// A reservation of `tokens` (and `cost` nano-USD) for `callID`; `fingerprint` is the call id's
    /// (``CallFingerprint``), computed here unless the caller has it already.
    init(
        userKeys: LedgerKeys.User, cycle: CalendarDate, carried: [String], assumedPolicy: String, callID: String,
        tokens: Int, ttlMilliseconds: Int, defaultLimit: Int?, cost: Int = 0, defaultLimitUSD: Int? = nil,
        thresholds: String = "", user: String = "", forUser: Bool = true, defaultTPM: Int? = nil,
        defaultRPM: Int? = nil, fingerprint: CallFingerprint? = nil
    ) {
        self.userKeys = userKeys
        self.cycle = cycle
        self.carried = carried
        self.assumedPolicy = assumedPolicy
        self.callID = callID
        self.fingerprint = fingerprint ?? CallFingerprint(callID: callID)
        self.tokens = tokens
        self.ttlMilliseconds = ttlMilliseconds
        self.defaultLimit = defaultLimit
        self.cost = cost
        self.defaultLimitUSD = defaultLimitUSD
        self.thresholds = thresholds
        self.user = user
        self.forUser = forUser
        self.defaultTPM = defaultTPM
        self.defaultRPM = defaultRPM
    }

    var script: ScriptName { .reserve }
    var keys: [any RedisArgumentConvertible] {
        [
            userKeys.profile, userKeys.cycle(cycle),
            userKeys.callBucket(named: cycle.description, fingerprint: fingerprint),
        ]
            + userKeys.leaseKeys + userKeys.costKeys
            + [userKeys.events, userKeys.leaseScopes] + userKeys.rateKeys + carried
    }
    var arguments: [any RedisArgumentConvertible] {
        [
            assumedPolicy, callID, tokens, ttlMilliseconds, defaultLimit ?? -1, cost, defaultLimitUSD ?? -1,
            thresholds, user, cycle.description, forUser ? "1" : "0", fingerprint.field,
        ] + LedgerKeys.User.rateArguments(defaultTPM, defaultRPM)
    }
    static var badInput: ScriptReply.BadInput { ScriptReply.BadInput(code: .invalidTokenCount, field: "tokens") }

    func read(_ reply: RedisReply) throws -> Reply {
        let (status, values) = try ScriptReply.status(reply, script: script)
        switch status {
        case .policy(let stored):
            return .policy(stored: stored)
        case .other("conflict"):
            return .conflict(
                held: values.count > 3 ? values[3].string : nil, heldCost: values.count > 4 ? values[4].string : nil)
        case .other(let name):
            guard let decision = ReservationStatus(rawValue: name) else {
                throw ScriptReply.unexpected(reply, script: script)
            }
            return .decided(decision, try QuotaCounts(values, reply: reply, script: script))
        default:
            throw ScriptReply.unexpected(reply, script: script)
        }
    }
}

/// `release.lua`: drops a call's lease (tokens and cost) without recording usage.
struct ReleaseScript: LedgerScriptCall {
    var userKeys: LedgerKeys.User
    var callID: String

    var script: ScriptName { .release }
    /// `reserved` first: the order release.lua reads them in; a group's `lease-scopes` holds nothing
    /// (it is read, never written), then the rate keys (the call's charge is returned).
    var keys: [any RedisArgumentConvertible] {
        [userKeys.reserved, userKeys.leases, userKeys.leaseExpiry] + userKeys.costKeys + [userKeys.leaseScopes]
            + userKeys.rateKeys
    }
    var arguments: [any RedisArgumentConvertible] { [callID] }

    /// The tokens and the nano-USD released (0 when the call held no live lease), and the lease's groups.
    func read(_ reply: RedisReply) throws -> (lease: ReleasedLease, groups: ScopeGroups) {
        guard let fields = reply.array else { throw ScriptReply.unexpected(reply, script: script) }
        let numbers = try ScriptReply.integers(fields, count: min(max(fields.count, 2), 4), script: script)
        let lease = ReleasedLease(tokens: numbers[0], cost: Cost(nanoUSD: numbers.count > 2 ? numbers[2] : 0))
        return (lease, ScopeGroups(encoded: fields.count > 4 ? fields[4].string ?? "" : ""))
    }
}
