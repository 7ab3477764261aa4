import RedisClient

/// What a write of one call's usage does: record it, or settle it (record it and drop its lease).
enum WriteKind: Sendable, Hashable {
    /// ``TokenRepository/record(user:callID:usage:model:provider:cycle:at:)``.
    case record
    /// ``TokenRepository/settle(user:callID:usage:model:provider:at:)``.
    case settle
}

/// `record.lua` and `settle.lua`: apply one call's usage to a user's cycle, once per call id
/// (settle also drops the call's lease).
struct RecordScript: LedgerScriptCall {
    /// What the script answered.
    enum Reply: Sendable, Hashable {
        /// The assumed policy was stale; nothing was written.
        case policy(stored: String)
        /// The cycle is past retention; nothing was written.
        case retired
        /// The cycle's call ids were dropped (its dedupe window passed); nothing was written.
        case parked
        /// Applied (`.applied`, or `.late` into a closed cycle) or a duplicate (`.duplicate`), with
        /// the cycle's total and calls after it, (settle) the tokens of the lease dropped, whether
        /// the user's cycle still has to be added to the cycle's derived index (no `index:done`
        /// mark yet: ``IndexScript`` then ``IndexMarkScript``) and, for a duplicate, the total
        /// tokens its call id was first recorded with (0 otherwise).
        case counted(
            ScriptStatus, totalTokens: Int, calls: Int, releasedTokens: Int, indexDue: Bool, recordedTokens: Int)
    }

    var kind: WriteKind
    var user: String
    var userKeys: LedgerKeys.User
    /// The cycle's name, `YYYY-MM-DD` (formatted once for the keys and the argument).
    var cycleName: String
    /// The policy the cycle was computed from (`*`: an explicit cycle).
    var assumedPolicy: String
    var callID: String
    var usage: UsageRecord
    var model: String
    var defaultLimit: Int?
    /// The thresholds argument (`80,100`).
    var thresholds: String
    /// Whether the caller sends `WAIT` after the call: a duplicate then makes a write (the same
    /// value again), so the `WAIT` also covers the original write of the call, wherever it came from.
    var replicaWait = false
    /// The event's cost, priced once when the event was first built (``EventCost``).
    var cost: EventCost = .unpriced
    /// Apply it even when the cycle's call ids were dropped (an administrator's
    /// `spool parked apply`: it may count twice).
    var force = false

    /// What the cycle stores of the call id (its bucket key and field).
    var fingerprint: CallFingerprint { CallFingerprint(callID: callID) }

    var script: ScriptName { kind == .settle ? .settle : .record }

    var keys: [any RedisArgumentConvertible] {
        var keys: [any RedisArgumentConvertible] = [
            userKeys.profile, userKeys.cycle(named: cycleName),
            userKeys.callBucket(named: cycleName, fingerprint: fingerprint), userKeys.events,
        ]
        if kind == .settle { keys += userKeys.leaseKeys }
        keys.append(userKeys.late(named: cycleName))
        if kind == .settle { keys += userKeys.costKeys }
        return keys
    }

    /// The policy, the usage (call id, the five counts with -1 = not reported, the model), the
    /// default limit, thresholds, user and cycle, the WAIT flag, and the event's cost and reported
    /// cost in nano-USD (-1 = unpriced / not reported), the call's fingerprint field and the force
    /// flag. The provider is validated and kept in spooled
    /// events but not aggregated, so it is not sent (each argument costs Redis time on every record).
    var arguments: [any RedisArgumentConvertible] {
        [
            assumedPolicy, callID, usage.inputTokens, usage.outputTokens, usage.cachedInputTokens ?? -1,
            usage.cacheWriteTokens ?? -1, usage.reasoningTokens ?? -1, model, defaultLimit ?? -1, thresholds, user,
            cycleName, replicaWait ? "1" : "0", cost.scriptArgument, usage.reportedCost?.nanoUSD ?? -1,
            fingerprint.field, force ? "1" : "0",
        ]
    }

    var subject: String? { "user '\(user)' cycle \(cycleName)" }

    func read(_ reply: RedisReply) throws -> Reply {
        let (status, values) = try ScriptReply.status(reply, script: script)
        switch status {
        case .policy(let stored):
            return .policy(stored: stored)
        case .retired:
            return .retired
        case .parked:
            return .parked
        case .applied, .duplicate, .late:
            let numbers = try ScriptReply.integers(values, count: max(2, values.count), script: script)
            func number(_ index: Int) -> Int { numbers.count > index ? numbers[index] : 0 }
            // record.lua: total, calls, recorded, index due; settle.lua: total, calls, released,
            // index due, recorded.
            return .counted(
                status, totalTokens: numbers[0], calls: numbers[1], releasedTokens: kind == .settle ? number(2) : 0,
                indexDue: number(3) != 0, recordedTokens: kind == .settle ? number(4) : number(2))
        case .ok, .other:
            throw ScriptReply.unexpected(reply, script: script)
        }
    }
}

/// `index.lua`: adds users to a cycle's derived index (and the cycle to the indexed cycles).
struct IndexScript: LedgerScriptCall {
    var keySet: LedgerKeys
    var cycle: CalendarDate
    var users: [String]

    var script: ScriptName { .index }
    var keys: [any RedisArgumentConvertible] { [keySet.index(cycle), keySet.indexedCycles] }
    var arguments: [any RedisArgumentConvertible] { [cycle.description] + users }

    /// The number of users newly added.
    func read(_ reply: RedisReply) throws -> Int { try ScriptReply.integer(reply, script: script) ?? 0 }
}

/// `index_mark.lua`: ends the index write a record claimed. Done: marks the user's cycle hash as
/// listed in the cycle's derived index (field `index:done`), so the record script stops asking;
/// not done (``IndexScript`` failed): drops the claim, so the user's next record asks again.
struct IndexMarkScript: LedgerScriptCall {
    var userKeys: LedgerKeys.User
    var cycle: CalendarDate
    /// Whether ``IndexScript`` succeeded.
    var done: Bool

    var script: ScriptName { .indexMark }
    var keys: [any RedisArgumentConvertible] { [userKeys.cycle(cycle)] }
    var arguments: [any RedisArgumentConvertible] { [done ? "done" : "release"] }

    /// Whether the cycle hash existed (false: nothing was written).
    func read(_ reply: RedisReply) throws -> Bool { (try ScriptReply.integer(reply, script: script) ?? 0) == 1 }
}
