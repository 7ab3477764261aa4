import RedisClient

/// `migration.lua`: the schema version, a migration's checkpoint, and marking a version applied.
struct MigrationScript: LedgerScriptCall {
    /// What to do.
    enum Operation: Sendable {
        /// Records the schema version unless one is there (`keys`: the schema key).
        case schema(version: Int)
        /// Records the schema version when none or an older one is stored (`keys`: the schema key).
        case upgradeSchema(version: Int)
        /// Saves where an interrupted migration resumes (`keys`: its checkpoint hash).
        case checkpoint([(String, String)])
        /// Marks a version applied, once, and drops its checkpoint (`keys`: the migrations hash,
        /// the checkpoint hash).
        case applied(version: Int, record: String)
    }

    var keys: [any RedisArgumentConvertible]
    var operation: Operation

    var script: ScriptName { .migration }
    var arguments: [any RedisArgumentConvertible] {
        switch operation {
        case .schema(let version): return ["schema", version]
        case .upgradeSchema(let version): return ["upgrade", version]
        case .checkpoint(let fields):
            var arguments: [any RedisArgumentConvertible] = ["checkpoint"]
            for (field, value) in fields { arguments += [field, value] }
            return arguments
        case .applied(let version, let record): return ["applied", version, record]
        }
    }
    static var badInput: ScriptReply.BadInput { ScriptReply.BadInput(code: .invalidIdentifier, field: "operation") }

    /// The script's number: the stored schema version, the fields saved, or 1 when newly applied.
    func read(_ reply: RedisReply) throws -> Int? { reply.int.map(Int.init) }
}

/// `legacy_import.lua`: books one legacy hash as the call `legacy:<date>` in the user's cycle and
/// takes over its limit.
struct LegacyImportScript: LedgerScriptCall {
    /// What the script did.
    struct Reply: Sendable, Hashable {
        /// `.applied`, `.duplicate`, `.parked` (the cycle's call ids were dropped after the dedupe
        /// window: nothing counted), `.other("closed")` (rollover closed the cycle: nothing counted),
        /// or `.other("empty")` (no tokens: only the limit).
        var status: ScriptStatus
        /// `set`, `kept` (a limit set in TokenLedger stays) or `none`.
        var limit: String
    }

    var userKeys: LedgerKeys.User
    let cycle: CalendarDate
    var input: Int
    var output: Int
    var limit: Int?
    /// The fingerprint of ``callID``: hashed once, when the call is made, for both its bucket key and
    /// its field argument.
    let fingerprint: CallFingerprint

    /// The import of one legacy hash of `cycle`.
    init(userKeys: LedgerKeys.User, cycle: CalendarDate, input: Int, output: Int, limit: Int?) {
        self.userKeys = userKeys
        self.cycle = cycle
        self.input = input
        self.output = output
        self.limit = limit
        self.fingerprint = CallFingerprint(callID: Self.callID(cycle))
    }

    var script: ScriptName { .legacyImport }
    /// The call id of the import: `legacy:<date>`.
    var callID: String { Self.callID(cycle) }
    /// The call id of the import of `cycle`.
    static func callID(_ cycle: CalendarDate) -> String { "legacy:\(cycle)" }
    var keys: [any RedisArgumentConvertible] {
        [
            userKeys.profile, userKeys.cycle(cycle),
            userKeys.callBucket(named: cycle.description, fingerprint: fingerprint),
        ]
    }
    var arguments: [any RedisArgumentConvertible] {
        [
            callID, input, output, -1, -1, -1, "", limit.map(String.init) ?? "", cycle.description,
            fingerprint.field,
        ]
    }
    static var badInput: ScriptReply.BadInput { ScriptReply.BadInput(code: .invalidLimit, field: "limit") }

    func read(_ reply: RedisReply) throws -> Reply {
        let (status, values) = try ScriptReply.status(reply, script: script)
        guard values.count == 1, let limit = values[0].string else {
            throw ScriptReply.unexpected(reply, script: script)
        }
        return Reply(status: status, limit: limit)
    }
}

/// `calls_convert.lua`: moves a batch of schema version 1's call ids (one `calls:<D>` hash) to
/// their fingerprint buckets (migration 3).
struct CallsConvertScript: LedgerScriptCall {
    /// What the script did with the batch.
    struct Reply: Sendable, Hashable {
        /// Written to their bucket.
        var moved: Int
        /// Their bucket already had them (recorded again meanwhile): only deleted from the old hash.
        var kept: Int
        /// No longer in the old hash (a batch redone after a crash).
        var skipped: Int
    }

    var oldKey: String
    /// Every bucket key of the cycle, in bucket order.
    var buckets: [String]
    var callIDs: [String]

    var script: ScriptName { .callsConvert }
    var keys: [any RedisArgumentConvertible] { [oldKey] + buckets }
    var arguments: [any RedisArgumentConvertible] {
        callIDs.flatMap { callID -> [any RedisArgumentConvertible] in
            let fingerprint = CallFingerprint(callID: callID)
            return [callID, fingerprint.bucket + 2, fingerprint.field]
        }
    }

    func read(_ reply: RedisReply) throws -> Reply {
        let numbers = try ScriptReply.integers(reply.array ?? [], count: 3, script: script)
        return Reply(moved: numbers[0], kept: numbers[1], skipped: numbers[2])
    }
}

/// `legacy_delete.lua`: deletes a legacy hash only when it still holds exactly what was read.
struct LegacyDeleteScript: LedgerScriptCall {
    var key: [UInt8]
    /// The field values read (`""`: absent), in the script's field order.
    var expected: [String]

    var script: ScriptName { .legacyDelete }
    var keys: [any RedisArgumentConvertible] { [key] }
    var arguments: [any RedisArgumentConvertible] { expected }

    /// Whether it was deleted.
    func read(_ reply: RedisReply) throws -> Bool { reply.int == 1 }
}
