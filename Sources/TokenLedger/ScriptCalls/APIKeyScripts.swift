import RedisClient

/// `apikey_create.lua`: adds an API key's record and its name together, unless the name (or the
/// key id) is taken.
struct APIKeyCreateScript: LedgerScriptCall {
    /// What the script answered.
    enum Outcome: Sendable, Hashable {
        /// Both written.
        case applied
        /// The name is taken: nothing written.
        case exists
        /// The key id is taken (a 1 in 2^64 chance): nothing written; try another id.
        case collision
    }

    var keySet: LedgerKeys
    var keyID: String
    var record: APIKeyRecord

    var script: ScriptName { .apikeyCreate }
    var keys: [any RedisArgumentConvertible] { [keySet.apiKeys, keySet.apiKeyNames] }
    var arguments: [any RedisArgumentConvertible] { [record.name, keyID, record.encoded()] }

    func read(_ reply: RedisReply) throws -> Outcome {
        switch try ScriptReply.status(reply, script: script).status {
        case .applied: return .applied
        case .other("exists"): return .exists
        case .other("collision"): return .collision
        default: throw ScriptReply.unexpected(reply, script: script)
        }
    }
}

/// `apikey_revoke.lua`: removes an API key's record and its name together.
struct APIKeyRevokeScript: LedgerScriptCall {
    var keySet: LedgerKeys
    var name: String

    var script: ScriptName { .apikeyRevoke }
    var keys: [any RedisArgumentConvertible] { [keySet.apiKeys, keySet.apiKeyNames] }
    var arguments: [any RedisArgumentConvertible] { [name] }

    /// Whether a key had that name.
    func read(_ reply: RedisReply) throws -> Bool {
        guard let removed = try ScriptReply.integer(reply, script: script) else {
            throw ScriptReply.unexpected(reply, script: script)
        }
        return removed == 1
    }
}
