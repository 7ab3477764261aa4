import Foundation
import RedisClient

// TokenRepository: scopes (teams and orgs): membership, and booking a user's writes to its groups.
extension TokenRepository {
    /// Sets a user's team and/or org (a `nil` argument leaves that one as it is). Calls that start
    /// after the change are booked to, and admitted by, the new groups; a live lease keeps the groups
    /// it was taken in.
    ///
    /// - Parameters:
    ///   - user: The user id.
    ///   - team: The team id (validated as user ids are), or `nil` to keep the current one.
    ///   - org: The org id, or `nil` to keep the current one.
    /// - Returns: The membership after the change.
    /// - Throws: ``ValidationError`` naming `user`, `team` or `org` (nothing stored); `RedisError`.
    public func setMembership(user: String, team: String?, org: String?) async throws -> Membership {
        let userKeys = try keys.user(user)
        if let team { try Validation.validateUserID(team, field: "team") }
        if let org { try Validation.validateUserID(org, field: "org") }
        try await ensureWritableSchema()
        let groups = try await run(
            MembershipScript(
                userKeys: userKeys, team: team.map { .set($0) } ?? .keep, org: org.map { .set($0) } ?? .keep))
        return Self.membership(user: user, groups)
    }

    /// Removes a user from its team and org.
    ///
    /// - Returns: The membership after the change (no team, no org).
    public func clearMembership(user: String) async throws -> Membership {
        let userKeys = try keys.user(user)
        try await ensureWritableSchema()
        return Self.membership(
            user: user, try await run(MembershipScript(userKeys: userKeys, team: .clear, org: .clear)))
    }

    /// A user's team and org.
    public func membership(user: String) async throws -> Membership {
        let userKeys = try keys.user(user)
        return Self.membership(user: user, try await run(MembershipScript(userKeys: userKeys, team: .keep, org: .keep)))
    }

    static func membership(user: String, _ groups: ScopeGroups) -> Membership {
        Membership(
            user: user, team: groups.team.isEmpty ? nil : groups.team, org: groups.org.isEmpty ? nil : groups.org)
    }

    /// The id a user's call has in a group's keys (its calls hash and its leases): the escaped user
    /// id, `:`, the call id. Two users of a team may use the same call id; an escaped user id holds
    /// no raw `:`, so the pair is read back unambiguously.
    static func scopedCallID(user: String, callID: String) -> String {
        RedisKeyEscaping.escape(user) + ":" + callID
    }

    /// ``bookGroups(_:kind:callID:usage:model:cycle:at:settings:force:chargesRate:)`` for an event of the recorder.
    func bookGroups(_ written: PreparedWrite.Written, event: SpooledEvent) async throws {
        guard written.groups != ScopeGroups() else { return }
        try await bookGroups(
            written, kind: event.operation.writeKind, callID: event.callID, usage: event.usage, model: event.model,
            cycle: event.operation == .settle ? nil : event.cycle, at: event.at, settings: try await settings())
    }

    /// Books a user's applied (or duplicate) write to the user's groups: `record.lua` (or `settle.lua`,
    /// which also drops the group's lease) on each group's keys, at the cycle of the group's own policy
    /// (for an explicit `cycle`, the group's cycle containing it: ``resolveGroupCycle(scope:explicit:at:settings:)``),
    /// under ``scopedCallID(user:callID:)`` so each group counts the call once. All groups go in one
    /// batch (in a cluster each to its own slot). A retry of a write whose user part was a duplicate
    /// books the groups a failure missed; one already booked answers duplicate.
    ///
    /// A group whose cycle's call ids were dropped (rollover folded it after the dedupe window)
    /// cannot tell the call from a replay: it is not booked, and once the other groups are, the write
    /// throws ``ParkedWrite`` naming the group, so the recorder parks the event (the user's part is
    /// counted; `spool parked apply --yes` books the group with `force`, the user's part then a
    /// duplicate).
    ///
    /// - Throws: `RedisError` (the write must be retried or spooled: the user's part is idempotent);
    ///   ``LedgerError`` (`policy_changed`) when a group's policy kept changing; ``ParkedWrite``
    ///   when a group's cycle is past its dedupe window and `force` is false.
    func bookGroups(
        _ written: PreparedWrite.Written, kind: WriteKind, callID: String, usage: UsageRecord, model: String,
        cycle: CalendarDate?, at instant: Date, settings: Settings, force: Bool = false, chargesRate: Bool = true
    ) async throws {
        let user = written.result.user
        var pending = written.groups.scopes
        if pending.isEmpty { return }
        let scopedID = Self.scopedCallID(user: user, callID: callID)
        let cost = written.result.cost ?? .unpriced
        var parked: ParkedWrite?
        for _ in 0..<4 where !pending.isEmpty {
            let writes = try pending.map { scope in
                let (target, assumed) = try resolveGroupCycle(
                    scope: scope, explicit: cycle, at: instant, settings: settings)
                return (
                    scope, target.start,
                    RecordScript(
                        kind: kind, user: scope.description, userKeys: try keys.scope(scope), cycleName: target.name,
                        assumedPolicy: assumed, callID: scopedID, usage: usage, model: model,
                        defaultLimit: nil, thresholds: thresholdsArgument, cost: cost, force: force,
                        chargesRate: chargesRate)
                )
            }
            let replies = try await pool.evaluateMany(writes.map { $0.2.call(scripts) })
            var stale: [LedgerScope] = []
            for ((scope, start, write), reply) in zip(writes, replies) {
                switch try write.decode(reply) {
                case .policy(let stored):
                    notePolicy(scope: scope, stored: stored)
                    stale.append(scope)
                case .retired:
                    logger.warning(
                        "a group's cycle is past retention; the call was not booked to it",
                        metadata: [LoggingKeys.cycle: "\(start)"])
                case .parked:
                    // Past the group's dedupe window: not booked here, the event is parked (see above).
                    logger.warning(
                        "a group's cycle has no call ids left (past the dedupe window); the event is parked",
                        metadata: [LoggingKeys.cycle: "\(start)"])
                    parked = parked ?? ParkedWrite(user: scope.description, callID: callID, cycle: start)
                case .counted(_, _, _, _, let indexDue, _, _, _):
                    if indexDue { await addToScopeIndex(scope, cycle: start) }
                }
            }
            pending = stale
        }
        if let scope = pending.first {
            throw LedgerError(
                code: .policyChanged, message: "the cycle policy of scope '\(scope)' kept changing; try again")
        }
        if let parked { throw parked }
        if written.groupsFromLease {
            _ = try await run(ScopesScript(userKeys: try keys.user(user), callID: callID, forget: true))
        }
    }

    /// Adds a group to its kind's derived index of a cycle, then marks the group's cycle hash (as
    /// ``addToIndex(user:cycle:)`` does for users). A failure is logged, never thrown; the group's
    /// next booking asks again.
    func addToScopeIndex(_ scope: LedgerScope, cycle: CalendarDate) async {
        guard let scopeKeys = try? keys.scope(scope) else { return }
        var indexed = false
        do {
            _ = try await run(IndexScript(keySet: keys, cycle: cycle, users: [scope.id], kind: scope.kind))
            indexed = true
            metrics.indexWrite()
            _ = try await run(IndexMarkScript(userKeys: scopeKeys, cycle: cycle, done: true))
        } catch {
            metrics.redisError(error)
            logger.warning(
                "the group index write failed; the group's next booking retries it",
                metadata: [LoggingKeys.cycle: "\(cycle)", LoggingKeys.error: "\(error)"])
            if !indexed { _ = try? await run(IndexMarkScript(userKeys: scopeKeys, cycle: cycle, done: false)) }
        }
    }
}
