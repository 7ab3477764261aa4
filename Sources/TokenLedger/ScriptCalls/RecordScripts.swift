import Foundation
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
        /// tokens its call id was first recorded with (0 otherwise); then the groups (team, org) the
        /// write is booked to as well (the call's `lease-scopes` entry: its lease's groups, or the
        /// profile's an applied write stored there, so a retry books the same), and whether there is
        /// such an entry to drop once they are booked.
        case counted(
            ScriptStatus, totalTokens: Int, calls: Int, releasedTokens: Int, indexDue: Bool, recordedTokens: Int,
            groups: ScopeGroups = ScopeGroups(), groupsFromLease: Bool = false)
    }

    var kind: WriteKind
    var user: String
    var userKeys: LedgerKeys.User
    /// The cycle's name, `YYYY-MM-DD` (formatted once for the keys and the argument).
    var cycleName: String
    /// The policy the cycle was computed from (`*`: an explicit cycle).
    var assumedPolicy: String
    let callID: String
    var usage: UsageRecord
    var model: String
    var defaultLimit: Int?
    /// The namespace's default currency limit in nano-USD (`nil`: none), for the currency soft
    /// thresholds of users without a currency limit of their own.
    var defaultLimitUSD: Int?
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
    /// The default rate limits (`nil`: none; a group's are always `nil`).
    var defaultTPM: Int? = nil
    var defaultRPM: Int? = nil
    /// Whether the write charges (or corrects) the scope's rate window: not for a spool replay of an
    /// event older than the window, nor for a parked event applied, whose tokens a live window must
    /// not take (`RateWindow.chargesRate(at:now:)`).
    var chargesRate = true

    /// What the cycle stores of the call id (its bucket key and field): computed once, when the call
    /// is made, and used for both the bucket key and the field argument.
    let fingerprint: CallFingerprint

    /// A write of one call; `fingerprint` is the call id's (``CallFingerprint``), computed here unless
    /// the caller already has it.
    init(
        kind: WriteKind, user: String, userKeys: LedgerKeys.User, cycleName: String, assumedPolicy: String,
        callID: String, usage: UsageRecord, model: String, defaultLimit: Int? = nil, defaultLimitUSD: Int? = nil,
        thresholds: String, replicaWait: Bool = false, cost: EventCost = .unpriced, force: Bool = false,
        defaultTPM: Int? = nil, defaultRPM: Int? = nil, chargesRate: Bool = true, fingerprint: CallFingerprint? = nil
    ) {
        self.kind = kind
        self.user = user
        self.userKeys = userKeys
        self.cycleName = cycleName
        self.assumedPolicy = assumedPolicy
        self.callID = callID
        self.usage = usage
        self.model = model
        self.defaultLimit = defaultLimit
        self.defaultLimitUSD = defaultLimitUSD
        self.thresholds = thresholds
        self.replicaWait = replicaWait
        self.cost = cost
        self.force = force
        self.defaultTPM = defaultTPM
        self.defaultRPM = defaultRPM
        self.chargesRate = chargesRate
        self.fingerprint = fingerprint ?? CallFingerprint(callID: callID)
    }

    var script: ScriptName { kind == .settle ? .settle : .record }

    var keys: [any RedisArgumentConvertible] {
        var keys: [any RedisArgumentConvertible] = [
            userKeys.profile, userKeys.cycle(named: cycleName),
            userKeys.callBucket(named: cycleName, fingerprint: fingerprint), userKeys.events,
        ]
        if kind == .settle { keys += userKeys.leaseKeys }
        keys.append(userKeys.late(named: cycleName))
        keys += kind == .settle ? userKeys.costKeys + [userKeys.leaseScopes] : [userKeys.leaseScopes, userKeys.leases]
        return chargesRate ? keys + userKeys.rateKeys : keys
    }

    /// The policy, the usage (call id, the five counts with -1 = not reported, the model), the
    /// default limit, thresholds, user and cycle, the WAIT flag, and the event's cost and reported
    /// cost in nano-USD (-1 = unpriced / not reported), the default currency limit (-1 = none) for
    /// the currency soft thresholds, the call's fingerprint field and the force flag. The provider is
    /// validated and kept in spooled
    /// events but not aggregated, so it is not sent (each argument costs Redis time on every record).
    var arguments: [any RedisArgumentConvertible] {
        [
            assumedPolicy, callID, usage.inputTokens, usage.outputTokens, usage.cachedInputTokens ?? -1,
            usage.cacheWriteTokens ?? -1, usage.reasoningTokens ?? -1, model, defaultLimit ?? -1, thresholds, user,
            cycleName, replicaWait ? "1" : "0", cost.scriptArgument, usage.reportedCost?.nanoUSD ?? -1,
            defaultLimitUSD ?? -1, fingerprint.field, force ? "1" : "0",
        ] + LedgerKeys.User.rateArguments(defaultTPM, defaultRPM)
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
            // The groups (team, org, and where they came from) follow the numbers.
            var numeric = values
            var groups = ScopeGroups()
            var fromLease = false
            if values.count >= 5, let source = values[values.count - 1].string, source == "lease" || source == "profile"
            {
                groups = ScopeGroups(
                    team: values[values.count - 3].string ?? "", org: values[values.count - 2].string ?? "")
                fromLease = source == "lease" && !groups.scopes.isEmpty
                numeric.removeLast(3)
            }
            let numbers = try ScriptReply.integers(numeric, count: max(2, numeric.count), script: script)
            func number(_ index: Int) -> Int { numbers.count > index ? numbers[index] : 0 }
            // record.lua: total, calls, recorded, index due; settle.lua: total, calls, released,
            // index due, recorded.
            return .counted(
                status, totalTokens: numbers[0], calls: numbers[1], releasedTokens: kind == .settle ? number(2) : 0,
                indexDue: number(3) != 0, recordedTokens: kind == .settle ? number(4) : number(2), groups: groups,
                groupsFromLease: fromLease)
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
    /// `.user`: the users' index; a group kind: that kind's index (``LedgerKeys/scopeIndex(_:_:)``).
    var kind: LedgerScope.Kind = .user

    var script: ScriptName { .index }
    var keys: [any RedisArgumentConvertible] {
        kind == .user
            ? [keySet.index(cycle), keySet.indexedCycles]
            : [keySet.scopeIndex(kind, cycle), keySet.scopeIndexedCycles(kind)]
    }
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

/// The rule of which writes the sliding rate window takes.
enum RateWindow {
    /// The window's length: 60 s (`RATE_WINDOW_MS` in common.lua).
    static let length: TimeInterval = 60

    /// Whether a write of an event that happened at `instant` charges the window at `now`: only one
    /// inside the window. A spool replay after an outage, or a parked event applied days later, would
    /// otherwise fill the live window with old tokens and deny the calls being made now.
    static func chargesRate(at instant: Date, now: Date = Date()) -> Bool {
        now.timeIntervalSince(instant) < length
    }
}
