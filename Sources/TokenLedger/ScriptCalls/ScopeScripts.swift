import RedisClient

/// A user's groups as the scripts store them: a team id and an org id, `""` for none.
struct ScopeGroups: Sendable, Hashable {
    var team = ""
    var org = ""

    /// Reads `team\norg\ncycle` (the lease-scopes entry; the cycle is absent from entries written
    /// before it was stored, and is not a group); `""` is no groups.
    init(encoded: String) {
        let parts = encoded.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        self.init(team: String(parts[0]), org: parts.count > 1 ? String(parts[1]) : "")
    }

    init(team: String = "", org: String = "") {
        self.team = team
        self.org = org
    }

    /// The groups as scopes, in booking and admission order: team, then org.
    var scopes: [LedgerScope] {
        (team.isEmpty ? [] : [.team(team)]) + (org.isEmpty ? [] : [.org(org)])
    }
}

/// `scopes.lua`: the groups a user's write is booked to (the lease's, else the profile's), or, with
/// `forget`, drops the call's lease-scopes entry once every group is booked.
struct ScopesScript: LedgerScriptCall {
    var userKeys: LedgerKeys.User
    var callID: String
    var forget = false

    var script: ScriptName { .scopes }
    var keys: [any RedisArgumentConvertible] { [userKeys.profile, userKeys.leaseScopes, userKeys.leases] }
    var arguments: [any RedisArgumentConvertible] { [callID, forget ? "forget" : "read"] }

    /// The groups and whether they came from the call's lease (an entry to forget after booking).
    func read(_ reply: RedisReply) throws -> (groups: ScopeGroups, fromLease: Bool) {
        if forget { return (ScopeGroups(), false) }
        guard let fields = reply.array, fields.count == 3 else { throw ScriptReply.unexpected(reply, script: script) }
        let groups = ScopeGroups(team: fields[0].string ?? "", org: fields[1].string ?? "")
        return (groups, fields[2].string == "lease" && !groups.scopes.isEmpty)
    }
}

/// `membership.lua`: sets or clears a user's team and org in one step.
struct MembershipScript: LedgerScriptCall {
    /// What to do with one field.
    enum Change: Sendable, Hashable {
        case keep, set(String), clear
    }

    var userKeys: LedgerKeys.User
    var team: Change
    var org: Change

    var script: ScriptName { .membership }
    var keys: [any RedisArgumentConvertible] { [userKeys.profile] }
    var arguments: [any RedisArgumentConvertible] { Self.arguments(team) + Self.arguments(org) }

    static func arguments(_ change: Change) -> [any RedisArgumentConvertible] {
        switch change {
        case .keep: ["keep", ""]
        case .set(let id): ["set", id]
        case .clear: ["clear", ""]
        }
    }

    /// The team and org after the change.
    func read(_ reply: RedisReply) throws -> ScopeGroups {
        guard let fields = reply.array, fields.count == 2 else { throw ScriptReply.unexpected(reply, script: script) }
        return ScopeGroups(team: fields[0].string ?? "", org: fields[1].string ?? "")
    }
}
