import RedisClient

/// A record or settle ready to send: the script calls (the write and, unless the user was indexed
/// for the cycle lately, the index write) and the reading of their replies. Built by
/// ``TokenRepository/prepareWrite(_:user:callID:usage:model:cycle:at:settings:)``, so a caller that
/// sends the calls itself (the recorder's shared pipeline) needs nothing else of the repository.
struct PreparedWrite: Sendable {
    /// The repository that prepared it (which remembers what it indexed).
    let repository: TokenRepository
    /// The write.
    let write: RecordScript
    /// The index write, when one is due.
    let index: IndexScript?
    /// The cycle the write goes to.
    let cycle: CalendarDate
    /// The calls to send, in order: the write, then the index write.
    let calls: [RedisScriptCall]

    /// Reads the replies of ``calls``: the result, or the stored policy to retry with.
    ///
    /// - Throws: ``LedgerError`` (``LedgerError/Code/cycleRetired``, overflow, corrupt data),
    ///   ``ValidationError``, `RedisError`.
    func decode(_ replies: [RedisReply]) throws -> TokenRepository.Attempt<RecordResult> {
        let user = write.user
        switch try write.decode(replies[0]) {
        case .policy(let stored):
            return .retry(stored)
        case .retired:
            throw LedgerError(
                code: .cycleRetired,
                message: "user '\(user)' cycle \(cycle) is past retention (its counters and call ids were deleted); "
                    + "the event was not applied, so it cannot count twice: an administrator must book it by hand")
        case .counted(let status, let total, let calls, let released):
            if let index, replies.count > 1, (try? index.decode(replies[1])) != nil {
                repository.noteIndexed(user: user, cycle: cycle)
            }
            var result = RecordResult(
                applied: status != .duplicate, user: user, cycle: cycle, totalTokens: total, calls: calls,
                releasedTokens: released)
            result.amendsHistory = status == .late
            return .done(result)
        }
    }
}
