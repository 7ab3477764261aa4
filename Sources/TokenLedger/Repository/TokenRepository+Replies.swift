import RedisClient

// TokenRepository: reading script replies (integers, a corrupt stored value, an unexpected reply).
extension TokenRepository {
    static func integers(_ replies: [RedisReply], count: Int, what: String) throws -> [Int] {
        guard replies.count >= count else { throw unexpected(.array(replies), what: what) }
        return try replies.prefix(count).map { reply in
            guard let value = reply.int else { throw unexpected(reply, what: what) }
            return Int(value)
        }
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
                "stored value is corrupt: \(detail); nothing was changed. Another program or a raw command wrote it: fix the value or reset the cycle as the administrator (docs/operations.md)")
    }

    static func unexpected(_ reply: RedisReply, what: String) -> Error {
        if case .error(let error) = reply { return error }
        return LedgerError(code: .unexpectedReply, message: "unexpected reply to \(what): \(reply)")
    }
}
