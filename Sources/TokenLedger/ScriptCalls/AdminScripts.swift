import RedisClient

/// `profile.lua`: sets (or with `""` removes) one field of a user's profile (`limit`, `policy`).
struct ProfileScript: LedgerScriptCall {
    var userKeys: LedgerKeys.User
    var field: String
    /// The new value; `""` removes the field.
    var value: String
    /// More fields changed in the same script (a reader sees all of them or none), each with its
    /// value (`""` removes it).
    var more: [Change] = []

    /// A field and its new value.
    struct Change: Sendable, Hashable {
        var field: String
        var value: String
    }

    var script: ScriptName { .profile }
    var keys: [any RedisArgumentConvertible] { [userKeys.profile] }
    var arguments: [any RedisArgumentConvertible] { [field, value] + more.flatMap { [$0.field, $0.value] } }

    /// The previous value (`nil`: none).
    func read(_ reply: RedisReply) throws -> String? { reply.string }
}

/// `config.lua`: sets (or with `""` removes) one namespace-wide setting, recording the schema
/// version when none is stored.
struct ConfigScript: LedgerScriptCall {
    var keySet: LedgerKeys
    var field: String
    var value: String
    /// More settings changed in the same script (a reader sees all of them or none).
    var more: [ProfileScript.Change] = []

    var script: ScriptName { .config }
    var keys: [any RedisArgumentConvertible] { [keySet.config, keySet.schema] }
    var arguments: [any RedisArgumentConvertible] {
        [field, value, LedgerKeys.schemaVersion] + more.flatMap { [$0.field, $0.value] }
    }

    /// The previous value (`nil`: none).
    func read(_ reply: RedisReply) throws -> String? { reply.string }
}

/// `reset.lua`: zeroes a user's cycle counters, with an audit event holding what they were.
struct ResetScript: LedgerScriptCall {
    /// What the script did.
    enum Reply: Sendable, Hashable {
        /// The counters were zeroed (an audit event holds what they were).
        case reset
        /// The cycle had no counters: nothing written.
        case nothing
        /// Rollover folded the cycle into its history summary: nothing changed.
        case folded
    }

    var userKeys: LedgerKeys.User
    var user: String
    var cycle: CalendarDate
    /// Who asked (kept in the audit event).
    var actor: String

    var script: ScriptName { .reset }
    var keys: [any RedisArgumentConvertible] { [userKeys.cycle(cycle), userKeys.events, userKeys.profile] }
    var arguments: [any RedisArgumentConvertible] { [user, cycle.description, actor] }

    func read(_ reply: RedisReply) throws -> Reply {
        if reply.isNull { return .nothing }
        if reply.string == "folded" { return .folded }
        return .reset
    }
}
