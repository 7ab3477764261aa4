import RedisClient

/// A read of one user's cycle, as `usage.lua` and `close.lua` return it.
struct CycleSnapshot: Sendable, Hashable {
    /// The user's limit (own, else the default); `nil`: unlimited.
    var limit: Int?
    /// The tokens held by live leases (as stored: a negative value is corrupt data).
    var reserved: Int
    /// The cycle hash as `HGETALL` returns it.
    var cycleHash: [RedisReply]
    /// The user's stored `policy` field (`""`: none).
    var storedPolicy: String
    /// The pending late calls (`close.lua` only) as `HGETALL` of the `late:<cycle>` hash returns them.
    var pendingLate: [RedisReply]
    /// The currency limit in nano-USD (`usage.lua` only); `nil`: none.
    var limitUSD: Int? = nil
    /// The nano-USD held by live leases (`usage.lua` only).
    var reservedCost = 0
    /// Whether rollover folded the cycle into its history summary after the dedupe window (`usage.lua`
    /// only): its counters are then the summary's.
    var folded = false

    /// Reads `limit, reserved, {hash}, policy[, {late}]` (the values after `'ok'`).
    init(_ values: [RedisReply], reply: RedisReply, script: ScriptName, withLate: Bool) throws {
        guard values.count >= (withLate ? 5 : 3), let limit = values[0].int, let reserved = values[1].int,
            let hash = values[2].array
        else { throw ScriptReply.unexpected(reply, script: script) }
        self.limit = limit < 0 ? nil : Int(limit)
        self.reserved = Int(reserved)
        self.cycleHash = hash
        self.storedPolicy = values.count > 3 ? values[3].string ?? "" : ""
        if withLate {
            guard let late = values[4].array else { throw ScriptReply.unexpected(reply, script: script) }
            self.pendingLate = late
        } else {
            self.pendingLate = []
            if values.count >= 6, let limitUSD = values[4].int, let reservedCost = values[5].int {
                self.limitUSD = limitUSD < 0 ? nil : Int(limitUSD)
                self.reservedCost = Int(reservedCost)
            }
            self.folded = values.count >= 7 && values[6].int == 1
        }
    }
}

/// `usage.lua`: the read-only snapshot of one user's cycle.
struct UsageScript: LedgerScriptCall {
    /// What the script answered.
    enum Reply: Sendable, Hashable {
        /// The assumed policy was stale (never for an explicit cycle, `*`).
        case policy(stored: String)
        /// The cycle as it is.
        case snapshot(CycleSnapshot)
    }

    var userKeys: LedgerKeys.User
    var cycle: CalendarDate
    /// The policy the cycle was computed from (`*`: an explicit cycle).
    var assumedPolicy: String
    var defaultLimit: Int?
    /// The default currency limit in nano-USD (`nil`: none).
    var defaultLimitUSD: Int? = nil

    var script: ScriptName { .usage }
    var keys: [any RedisArgumentConvertible] { userKeys.snapshotKeys(cycle) + userKeys.costKeys }
    var arguments: [any RedisArgumentConvertible] {
        [assumedPolicy, defaultLimit ?? -1, defaultLimitUSD ?? -1, cycle.description]
    }

    func read(_ reply: RedisReply) throws -> Reply {
        let (status, values) = try ScriptReply.status(reply, script: script)
        switch status {
        case .policy(let stored): return .policy(stored: stored)
        case .ok: return .snapshot(try CycleSnapshot(values, reply: reply, script: script, withLate: false))
        default: throw ScriptReply.unexpected(reply, script: script)
        }
    }
}

/// `close.lua`: rollover's snapshot of one user's ended cycle, atomically with the mark that closes
/// it (unless a dry run), with the late calls still pending.
struct CloseScript: LedgerScriptCall {
    var userKeys: LedgerKeys.User
    var cycle: CalendarDate
    var defaultLimit: Int?
    /// Whether to mark the cycle closed (`false`: a dry run, read only).
    var mark: Bool

    var script: ScriptName { .close }
    var keys: [any RedisArgumentConvertible] { userKeys.snapshotKeys(cycle) + [userKeys.late(cycle)] }
    var arguments: [any RedisArgumentConvertible] { [defaultLimit ?? -1, mark ? "1" : "0"] }

    func read(_ reply: RedisReply) throws -> CycleSnapshot {
        let (status, values) = try ScriptReply.status(reply, script: script)
        guard status == .ok else { throw ScriptReply.unexpected(reply, script: script) }
        return try CycleSnapshot(values, reply: reply, script: script, withLate: true)
    }
}
