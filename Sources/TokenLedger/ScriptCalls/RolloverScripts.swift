import RedisClient

/// `history.lua`: adds closed users' summaries to a cycle's immutable history, once per user.
struct HistoryScript: LedgerScriptCall {
    var keySet: LedgerKeys
    var cycle: CalendarDate
    /// (user or group id, summary JSON) pairs.
    var summaries: [(user: String, json: String)]
    /// Whose history: users' (default), or the teams' or orgs' (`scope-history…` keys).
    var kind = LedgerScope.Kind.user

    var script: ScriptName { .history }
    var keys: [any RedisArgumentConvertible] {
        [keySet.history(kind, cycle), keySet.historyTotals(kind, cycle), keySet.historyCycles(kind)]
    }
    var arguments: [any RedisArgumentConvertible] {
        var arguments: [any RedisArgumentConvertible] = [cycle.description, cycle.daysSince1970]
        for entry in summaries { arguments += [entry.user, entry.json] }
        return arguments
    }
    static var badInput: ScriptReply.BadInput { ScriptReply.BadInput(code: .invalidTokenCount, field: "summary") }

    /// The number of users newly added.
    func read(_ reply: RedisReply) throws -> Int { try ScriptReply.integer(reply, script: script) ?? 0 }
}

/// `history_adjust.lua`: adds one late call to a closed cycle's history, once per (user, call id).
struct HistoryAdjustScript: LedgerScriptCall {
    /// What the script did.
    enum Reply: Sendable, Hashable {
        /// Added to the history.
        case applied
        /// The history already held it.
        case duplicate
        /// The user's summary is not in the history yet: kept pending.
        case unclosed
    }

    var keySet: LedgerKeys
    var cycle: CalendarDate
    var user: String
    var callID: String
    /// The adjustment as the `late:<cycle>` hash holds it (JSON).
    var json: String
    /// Whose history: users' (default), or the teams' or orgs'.
    var kind = LedgerScope.Kind.user

    var script: ScriptName { .historyAdjust }
    var keys: [any RedisArgumentConvertible] {
        [keySet.history(kind, cycle), keySet.historyTotals(kind, cycle), keySet.historyAdjustments(kind, cycle)]
    }
    var arguments: [any RedisArgumentConvertible] { [user, callID, json] }
    static var badInput: ScriptReply.BadInput { ScriptReply.BadInput(code: .invalidTokenCount, field: "adjustment") }

    func read(_ reply: RedisReply) throws -> Reply {
        switch try ScriptReply.status(reply, script: script).status {
        case .applied: return .applied
        case .duplicate: return .duplicate
        case .other("unclosed"): return .unclosed
        default: throw ScriptReply.unexpected(reply, script: script)
        }
    }
}

/// `late_done.lua`: forgets late calls the history now holds, in the user's slot.
struct LateDoneScript: LedgerScriptCall {
    /// The user's `late:<cycle>` hash.
    var lateKey: String
    var callIDs: [String]

    var script: ScriptName { .lateDone }
    var keys: [any RedisArgumentConvertible] { [lateKey] }
    var arguments: [any RedisArgumentConvertible] { callIDs }

    /// The late calls still pending.
    func read(_ reply: RedisReply) throws -> Int { try ScriptReply.integer(reply, script: script) ?? 0 }
}

/// `retention.lua`: deletes a user's counters and call ids of a cycle past retention.
struct RetentionScript: LedgerScriptCall {
    var userKeys: LedgerKeys.User
    var cycle: CalendarDate

    var script: ScriptName { .retention }
    var keys: [any RedisArgumentConvertible] {
        [userKeys.cycle(cycle), userKeys.calls(cycle), userKeys.profile, userKeys.late(cycle)]
            + userKeys.callBuckets(cycle)
    }
    var arguments: [any RedisArgumentConvertible] { [cycle.description] }

    /// The keys deleted, or `nil` when a late call is not in the history yet (nothing deleted).
    func read(_ reply: RedisReply) throws -> Int? {
        let deleted = try ScriptReply.integer(reply, script: script) ?? 0
        return deleted < 0 ? nil : deleted
    }
}

/// `calls_drop.lua`: drops the call fingerprints and the cycle hash of a user's closed cycle whose
/// dedupe window has passed, recording the cycle in the profile's `folded` field so later records and
/// settles of it are parked; the user's `lease-scopes` entries of the cycle or earlier whose call holds
/// no lease (a group booking that never finished) go too.
struct CallsDropScript: LedgerScriptCall {
    /// What the script did.
    enum Reply: Sendable, Hashable {
        /// Dropped: the number of keys deleted.
        case dropped(keys: Int)
        /// Late calls are not in the history yet: kept for a later run.
        case latePending
        /// The cycle is not closed: nothing changed.
        case notClosed
    }

    var userKeys: LedgerKeys.User
    var cycle: CalendarDate

    var script: ScriptName { .callsDrop }
    var keys: [any RedisArgumentConvertible] {
        [userKeys.cycle(cycle), userKeys.late(cycle), userKeys.profile, userKeys.leaseScopes, userKeys.leases]
            + [userKeys.calls(cycle)] + userKeys.callBuckets(cycle)
    }
    var arguments: [any RedisArgumentConvertible] { [cycle.description] }

    func read(_ reply: RedisReply) throws -> Reply {
        let value = try ScriptReply.integer(reply, script: script) ?? 0
        switch value {
        case -1: return .latePending
        case -2: return .notClosed
        default: return .dropped(keys: value)
        }
    }
}

/// `history_compact.lua`: rewrites summaries past the dedupe window in their compact form, each only
/// if it still holds the text read.
struct HistoryCompactScript: LedgerScriptCall {
    /// The history hash (`history:D` or `scope-history:KIND:D`).
    var historyKey: String
    /// (id, the stored summary as read, its compact form) triples.
    var entries: [(id: String, stored: String, compact: String)]

    var script: ScriptName { .historyCompact }
    var keys: [any RedisArgumentConvertible] { [historyKey] }
    var arguments: [any RedisArgumentConvertible] { entries.flatMap { [$0.id, $0.stored, $0.compact] } }

    /// The number of summaries rewritten.
    func read(_ reply: RedisReply) throws -> Int { try ScriptReply.integer(reply, script: script) ?? 0 }
}

/// `cycle_drop.lua`: drops a cycle with nothing left from the derived index.
struct CycleDropScript: LedgerScriptCall {
    var keySet: LedgerKeys
    var cycle: CalendarDate
    /// Whose index: users' (default), or the teams' or orgs' (`scope-index…` keys).
    var kind = LedgerScope.Kind.user

    var script: ScriptName { .cycleDrop }
    var keys: [any RedisArgumentConvertible] {
        kind == .user
            ? [keySet.index(cycle), keySet.indexedCycles]
            : [keySet.scopeIndex(kind, cycle), keySet.scopeIndexedCycles(kind)]
    }
    var arguments: [any RedisArgumentConvertible] { [cycle.description] }

    func read(_ reply: RedisReply) throws -> Int { try ScriptReply.integer(reply, script: script) ?? 0 }
}

/// `rollover_state.lua`: keeps what the last rollover run did.
struct RolloverStateScript: LedgerScriptCall {
    var keySet: LedgerKeys
    /// (field, value) pairs.
    var fields: [(String, String)]

    var script: ScriptName { .rolloverState }
    var keys: [any RedisArgumentConvertible] { [keySet.rolloverState] }
    var arguments: [any RedisArgumentConvertible] {
        var arguments: [any RedisArgumentConvertible] = []
        for (field, value) in fields { arguments += [field, value] }
        return arguments
    }

    func read(_ reply: RedisReply) throws -> Int { try ScriptReply.integer(reply, script: script) ?? 0 }
}

/// `lock.lua`: takes, extends or releases a namespace-wide job lock held by a token.
struct LockScript: LedgerScriptCall {
    /// What to do with the lock.
    enum Operation: String, Sendable {
        case acquire, extend, release
    }

    var key: String
    var operation: Operation
    var token: String
    var milliseconds: Int

    var script: ScriptName { .lock }
    var keys: [any RedisArgumentConvertible] { [key] }
    var arguments: [any RedisArgumentConvertible] { [operation.rawValue, token, milliseconds] }
    static var badInput: ScriptReply.BadInput { ScriptReply.BadInput(code: .invalidDuration, field: "lock_ttl") }

    /// Whether the operation succeeded (`false`: another owner holds the lock, or none does).
    func read(_ reply: RedisReply) throws -> Bool { reply.int == 1 }
}
