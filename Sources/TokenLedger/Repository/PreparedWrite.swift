import RedisClient

/// A record or settle ready to send: its one script call (one user's slot) and the reading of its
/// reply. Built by ``TokenRepository/prepareWrite(_:user:callID:usage:model:cycle:at:settings:cost:)``,
/// so a caller that sends the call itself (the recorder's shared pipeline) needs nothing else of
/// the repository.
///
/// The derived index write is not part of it: the script's reply says when the user's cycle is not
/// in the cycle's index yet (``Written/indexDue``), and the caller then runs
/// ``TokenRepository/addToIndex(user:cycle:)``, its own round trips to the `{global}` slot and back.
struct PreparedWrite: Sendable {
    /// The write.
    let write: RecordScript
    /// The cycle the write goes to.
    let cycle: CalendarDate
    /// The calls to send: the write alone (its reply also names the groups to book).
    let calls: [RedisScriptCall]
    /// The index of the write's reply in the replies of ``calls``.
    static let writeIndex = 0

    /// A decoded write: its result, and whether the user's cycle still has to be indexed.
    struct Written: Sendable {
        /// What the write did.
        var result: RecordResult
        /// True while the cycle hash has no `index:done` mark (see `index_mark.lua`).
        var indexDue: Bool
        /// The groups (team, org) the write is booked to as well, from the write's own reply.
        var groups = ScopeGroups()
        /// Whether ``groups`` came from the call's `lease-scopes` entry (its lease's groups, or those
        /// the write stored for its retries), which is dropped once they are booked.
        var groupsFromLease = false
    }

    /// Reads the reply of ``calls``: the result, or the stored policy to retry with.
    ///
    /// - Throws: ``CallConflict`` for a duplicate whose call id was recorded with another total;
    ///   ``ParkedWrite`` when the cycle's call ids were dropped (its dedupe window passed);
    ///   ``LedgerError`` (``LedgerError/Code/cycleRetired``, overflow, corrupt data),
    ///   ``ValidationError``, `RedisError`.
    func decode(_ replies: [RedisReply]) throws -> TokenRepository.Attempt<Written> {
        let user = write.user
        switch try write.decode(replies[Self.writeIndex]) {
        case .policy(let stored):
            return .retry(stored)
        case .retired:
            throw LedgerError(
                code: .cycleRetired,
                message: "user '\(user)' cycle \(cycle) is past retention (its counters and call ids were deleted); "
                    + "the event was not applied, so it cannot count twice: an administrator must book it by hand")
        case .parked:
            throw ParkedWrite(user: user, callID: write.callID, cycle: cycle)
        case .counted(
            let status, let total, let calls, let released, let indexDue, let recorded, let groups, let fromLease):
            if status == .duplicate, recorded != write.usage.totalTokens {
                // A reused call id, not a retry: the script wrote nothing (settle kept the lease).
                throw CallConflict(
                    user: user, callID: write.callID, cycle: cycle, recordedTotalTokens: recorded,
                    totalTokens: write.usage.totalTokens)
            }
            var result = RecordResult(
                applied: status != .duplicate, user: user, cycle: cycle, totalTokens: total, calls: calls,
                releasedTokens: released)
            result.cost = write.cost
            result.amendsHistory = status == .late
            if status == .duplicate { result.recordedTotalTokens = recorded }
            return .done(
                Written(
                    result: result, indexDue: indexDue, groups: groups, groupsFromLease: fromLease))
        }
    }
}
