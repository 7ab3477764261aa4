import RedisClient

/// The status a TokenLedger script puts first in its reply, read in one place for every script.
enum ScriptStatus: Sendable, Hashable {
    /// `{'policy', stored}`: the policy the caller assumed is not the stored one; here is the stored
    /// one (`""`: none, the default applies). Nothing was written.
    case policy(stored: String)
    /// The write was applied.
    case applied
    /// The call id was already recorded (or the adjustment already applied): nothing changed.
    case duplicate
    /// Applied to a cycle rollover had closed: the history is to be amended.
    case late
    /// `{'retired', cycle}`: the cycle is past retention; nothing was written.
    case retired(cycle: String)
    /// `{'parked', used, calls}`: rollover dropped the cycle's call ids (its dedupe window passed), so
    /// the call cannot be deduplicated; nothing was written and the caller parks the event.
    case parked
    /// A read's values follow (`{'ok', …}`).
    case ok
    /// A status of one script only (`unclosed`, `empty`, `admitted`, `denied`, `held`, `settled`,
    /// `conflict`): that script's type reads it.
    case other(String)

    init(_ name: String, argument: RedisReply?) {
        switch name {
        case "policy": self = .policy(stored: argument?.string ?? "")
        case "applied": self = .applied
        case "duplicate": self = .duplicate
        case "late": self = .late
        case "retired": self = .retired(cycle: argument?.string ?? "")
        case "ok": self = .ok
        case "parked": self = .parked
        default: self = .other(name)
        }
    }
}

/// Reads the replies of TokenLedger's scripts: the server error codes the scripts raise and the
/// shared statuses are decoded here once, for every script type (``LedgerScriptCall``).
///
/// - `BADINPUT <what>` (an argument the script refused) → ``ValidationError``;
/// - `OVERFLOW <what>` (a counter would pass 2^53 − 1) → ``LedgerError/Code/overflow``;
/// - `BADSTATE <key> [field] holds <value>` (a stored value another program wrote) →
///   ``LedgerError/Code/corruptData``;
/// - any other error reply is thrown as the `RedisError` it is.
enum ScriptReply {
    /// How a script's `BADINPUT` is reported: the ``ValidationError`` code and field.
    struct BadInput: Sendable {
        var code: ValidationError.Code
        var field: String
    }

    /// The reply, or its error reply thrown as what it means.
    ///
    /// - Parameters:
    ///   - subject: Whose data it was (e.g. `user 'u' cycle 2025-01-01`), put in front of an
    ///     overflow's message.
    static func checked(
        _ reply: RedisReply, subject: String? = nil,
        badInput: BadInput = BadInput(code: .invalidTokenCount, field: "usage")
    ) throws -> RedisReply {
        guard case .error(let error) = reply else { return reply }
        switch error.serverCode {
        case "BADINPUT":
            throw ValidationError(code: badInput.code, field: badInput.field, message: error.message)
        case "OVERFLOW":
            throw LedgerError(code: .overflow, message: subject.map { "\($0): \(error.message)" } ?? error.message)
        case "BADSTATE":
            throw corruptState(error)
        case "WRONGTYPE":
            // A key of ours holds another type: written by another program or a raw command.
            // Retrying cannot fix it, so it is corrupt data (a spooled event is set aside, not
            // retried forever ahead of the others).
            throw LedgerError(
                code: .corruptData,
                message: (subject.map { "\($0): " } ?? "")
                    + "a stored key holds a value of the wrong type (WRONGTYPE); the script stopped there. "
                    + "Another program or a raw command wrote it: fix or delete the key as the administrator (docs/operations.md)"
            )
        default:
            throw error
        }
    }

    /// The leading status of a reply (`{status, values…}` or a lone status string) and the values after it.
    static func status(_ reply: RedisReply, script: ScriptName) throws -> (status: ScriptStatus, values: [RedisReply]) {
        if case .array(let fields) = reply, let name = fields.first?.string {
            return (ScriptStatus(name, argument: fields.count > 1 ? fields[1] : nil), Array(fields.dropFirst()))
        }
        if let name = reply.string { return (ScriptStatus(name, argument: nil), []) }
        throw unexpected(reply, script: script)
    }

    /// The stored policy when the reply is `{'policy', stored}` (a script that answers with values,
    /// not a status, otherwise); `nil` for any other reply.
    static func storedPolicy(_ reply: RedisReply) -> String? {
        guard case .array(let fields) = reply, fields.first?.string == "policy" else { return nil }
        return fields.count > 1 ? fields[1].string ?? "" : ""
    }

    /// The first `count` values as integers.
    static func integers(_ values: [RedisReply], count: Int, script: ScriptName) throws -> [Int] {
        guard values.count >= count else { throw unexpected(.array(values), script: script) }
        return try values.prefix(count).map { reply in
            guard let value = reply.int else { throw unexpected(reply, script: script) }
            return Int(value)
        }
    }

    /// An integer reply (`nil`: the script returned nil or false).
    static func integer(_ reply: RedisReply, script: ScriptName) throws -> Int? {
        if reply.isNull { return nil }
        guard let value = reply.int else { throw unexpected(reply, script: script) }
        return Int(value)
    }

    /// A script's `BADSTATE <key> [field] holds <value>` (a stored value it did not expect: negative,
    /// non-numeric, leases that disagree with `reserved`) as ``LedgerError/Code/corruptData``.
    static func corruptState(_ error: RedisError) -> LedgerError {
        var detail = error.message
        if let range = detail.range(of: "BADSTATE ") { detail = String(detail[range.upperBound...]) }
        if let range = detail.range(of: " script: ") { detail = String(detail[..<range.lowerBound]) }
        return LedgerError(
            code: .corruptData,
            message:
                "stored value is corrupt: \(detail); nothing was changed. Another program or a raw command wrote it: fix the value or reset the cycle as the administrator (docs/operations.md)"
        )
    }

    /// A reply of a shape the script never returns (the error itself for an error reply).
    static func unexpected(_ reply: RedisReply, script: ScriptName) -> any Error {
        unexpected(reply, what: script.rawValue)
    }

    /// A reply of a shape `what` (a script or a command name) never returns (the error itself for
    /// an error reply).
    static func unexpected(_ reply: RedisReply, what: String) -> any Error {
        if case .error(let error) = reply { return error }
        return LedgerError(code: .unexpectedReply, message: "unexpected reply to \(what): \(reply)")
    }
}
