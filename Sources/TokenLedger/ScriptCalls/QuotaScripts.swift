import RedisClient

/// `check.lua`: the read-only quota decision for `tokens` more in a user's cycle.
struct CheckScript: LedgerScriptCall {
    /// What the script answered.
    enum Reply: Sendable, Hashable {
        /// The assumed policy was stale.
        case policy(stored: String)
        /// The decision; `limit` `nil` = unlimited.
        case decided(allowed: Bool, used: Int, reserved: Int, limit: Int?)
    }

    var userKeys: LedgerKeys.User
    var cycle: CalendarDate
    /// The cycles of previous policies that still count against the limit (a carry).
    var carried: [String]
    var assumedPolicy: String
    var tokens: Int
    var defaultLimit: Int?

    var script: ScriptName { .check }
    var keys: [any RedisArgumentConvertible] { userKeys.snapshotKeys(cycle) + carried }
    var arguments: [any RedisArgumentConvertible] { [assumedPolicy, tokens, defaultLimit ?? -1] }

    func read(_ reply: RedisReply) throws -> Reply {
        if let stored = ScriptReply.storedPolicy(reply) { return .policy(stored: stored) }
        guard let fields = reply.array else { throw ScriptReply.unexpected(reply, script: script) }
        let numbers = try ScriptReply.integers(fields, count: 4, script: script)
        return .decided(
            allowed: numbers[0] == 1, used: numbers[1], reserved: numbers[2], limit: numbers[3] < 0 ? nil : numbers[3])
    }
}

/// `reserve.lua`: takes a lease of `tokens` for a call if the user's limit allows it.
struct ReserveScript: LedgerScriptCall {
    /// What the script answered.
    enum Reply: Sendable, Hashable {
        /// The assumed policy was stale; nothing changed.
        case policy(stored: String)
        /// The call id holds a lease of another amount (`held`, as stored); nothing changed.
        case conflict(held: String?)
        /// The decision, with the cycle's usage, the live reservations and the limit (`nil` = unlimited).
        case decided(ReservationStatus, used: Int, reserved: Int, limit: Int?)
    }

    var userKeys: LedgerKeys.User
    var cycle: CalendarDate
    var carried: [String]
    var assumedPolicy: String
    var callID: String
    var tokens: Int
    var ttlMilliseconds: Int
    var defaultLimit: Int?

    var script: ScriptName { .reserve }
    var keys: [any RedisArgumentConvertible] {
        [userKeys.profile, userKeys.cycle(cycle), userKeys.calls(cycle)] + userKeys.leaseKeys + carried
    }
    var arguments: [any RedisArgumentConvertible] {
        [assumedPolicy, callID, tokens, ttlMilliseconds, defaultLimit ?? -1]
    }
    static var badInput: ScriptReply.BadInput { ScriptReply.BadInput(code: .invalidTokenCount, field: "tokens") }

    func read(_ reply: RedisReply) throws -> Reply {
        let (status, values) = try ScriptReply.status(reply, script: script)
        switch status {
        case .policy(let stored):
            return .policy(stored: stored)
        case .other("conflict"):
            return .conflict(held: values.count > 3 ? values[3].string : nil)
        case .other(let name):
            guard let decision = ReservationStatus(rawValue: name) else {
                throw ScriptReply.unexpected(reply, script: script)
            }
            let numbers = try ScriptReply.integers(values, count: 3, script: script)
            return .decided(decision, used: numbers[0], reserved: numbers[1], limit: numbers[2] < 0 ? nil : numbers[2])
        default:
            throw ScriptReply.unexpected(reply, script: script)
        }
    }
}

/// `release.lua`: drops a call's lease without recording usage.
struct ReleaseScript: LedgerScriptCall {
    var userKeys: LedgerKeys.User
    var callID: String

    var script: ScriptName { .release }
    /// `reserved` first: the order release.lua reads them in.
    var keys: [any RedisArgumentConvertible] { [userKeys.reserved, userKeys.leases, userKeys.leaseExpiry] }
    var arguments: [any RedisArgumentConvertible] { [callID] }

    /// The tokens released (0 when the call held no live lease).
    func read(_ reply: RedisReply) throws -> Int {
        guard let fields = reply.array else { throw ScriptReply.unexpected(reply, script: script) }
        return try ScriptReply.integers(fields, count: 2, script: script)[0]
    }
}
