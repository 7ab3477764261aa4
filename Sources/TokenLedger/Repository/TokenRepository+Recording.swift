import Foundation
import RedisClient

// TokenRepository: recording and settling usage (validation, the cycle, the prepared write and its retry).
extension TokenRepository {
    /// Records one call's usage for a user, once per call id.
    ///
    /// - Parameters:
    ///   - user: The user id (1–256 bytes of UTF-8, no control characters).
    ///   - callID: The call's id (1–128 bytes); a second record with the same id changes nothing.
    ///   - usage: The counts (each 0…10^12; subsets not above their parent).
    ///   - model: The model name (≤ 128 bytes; `""` when unknown).
    ///   - provider: The provider name (≤ 128 bytes; `""` when unknown).
    ///   - cycle: An explicit cycle start date, which wins over the user's policy.
    ///   - instant: The time of the call, which picks the cycle. Default now.
    /// The event is priced once, here, at the prices in effect (``eventCost(of:model:)``); its cost is
    /// stored with its tokens in the same script and returned in ``RecordResult/cost``.
    ///
    /// - Returns: Whether it was applied (false: a duplicate with the same total), with the cycle's new total.
    /// - Throws: ``ValidationError`` before anything is written; ``CallConflict`` when the call id
    ///   was already recorded with another total (nothing changes); ``LedgerError``; `RedisError`.
    public func record(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        cycle: CalendarDate? = nil, at instant: Date = Date()
    ) async throws -> RecordResult {
        try await UnreplicatedWrite.rethrowingError {
            try await write(
                .record, user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: cycle,
                at: instant)
        }
    }

    /// Replaces a call's reservation with its actual usage, exactly once. With no live lease the
    /// usage is still recorded: the call happened. A repeat with another total than the call id was
    /// recorded with throws ``CallConflict`` and keeps the lease.
    ///
    /// - Throws: as ``record(user:callID:usage:model:provider:cycle:at:)``.
    public func settle(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        at instant: Date = Date()
    ) async throws -> RecordResult {
        try await UnreplicatedWrite.rethrowingError {
            try await write(
                .settle, user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: nil,
                at: instant)
        }
    }

    /// The wait as sent on the pool: its timeout kept below the pool's command timeout, so the
    /// `WAIT` reply is read before the connection's read would time out (a write that applied would
    /// otherwise read as failed). A shorter wait can only report fewer replicas, which spools the
    /// write too.
    static func bounded(_ wait: RedisReplicaWait, by pool: RedisConnectionPool) -> RedisReplicaWait {
        let ceiling = pool.configuration.commandTimeout * 0.8
        guard wait.timeout > ceiling, ceiling >= .milliseconds(1) else { return wait }
        return RedisReplicaWait(replicas: wait.replicas, timeout: ceiling)
    }

    /// Record or settle: validate, then run the script at the cycle the user's policy gives
    /// (retrying with the stored policy if the assumed one was stale), then the index write when
    /// the script says it is due. With ``LedgerConfiguration/replicaWait``, the script is followed
    /// by `WAIT` on the same connection.
    ///
    /// - Throws: ``UnreplicatedWrite`` when the write applied but too few replicas acknowledged it.
    ///
    /// - Parameter cost: The event's cost as it was priced when first built (a spooled event's);
    ///   `nil`: priced now (``eventCost(of:model:)``).
    /// - Parameter force: Apply it even when the cycle's call ids were dropped (a parked event an
    ///   administrator applies knowingly).
    /// - Parameter chargesRate: Whether it charges the scopes' rate windows (false for a spool replay
    ///   of an event older than the window and for a parked event: `RateWindow`).
    func write(
        _ kind: WriteKind, user: String, callID: String, usage: UsageRecord, model: String,
        provider: String, cycle: CalendarDate?, at instant: Date, cost: EventCost? = nil, force: Bool = false,
        chargesRate: Bool = true
    ) async throws -> RecordResult {
        try Self.validateRecord(user: user, callID: callID, usage: usage, model: model, provider: provider)
        try Validation.validateEventInstant(instant)
        // A spooled event's cost is checked as a freshly priced one is: -0.000000001 would read as
        // the script's "unpriced" (-1 nano), a larger one past 2^53 - 1 as nothing Redis can add.
        if case .priced(let given)? = cost { try EventCost.check(given, field: "cost_usd") }
        let settings = try await settings()
        let cost = try await resolvedCost(cost, of: usage, model: model)
        try await ensureWritableSchema()  // no round trip once settings() found it writable
        var acknowledged = Int.max
        let written = try await retryingStalePolicy(user: user) {
            let prepared = try prepareWrite(
                kind, user: user, callID: callID, usage: usage, model: model, cycle: cycle, at: instant,
                settings: settings, cost: cost, force: force, chargesRate: chargesRate)
            guard let wait = configuration.replicaWait else {
                return try prepared.decode(try await pool.evaluateMany(prepared.calls))
            }
            let (replies, replicas) = try await pool.evaluateMany(prepared.calls, wait: Self.bounded(wait, by: pool))
            acknowledged = replicas
            return try prepared.decode(replies)
        }
        let result = await finishWrite(written)
        try await bookGroups(
            written, kind: kind, callID: callID, usage: usage, model: model, cycle: cycle, at: instant,
            settings: settings, force: force, chargesRate: chargesRate)
        try checkReplicated(result, acknowledged: acknowledged)
        return result
    }

    /// The event's cost: `cost` as given, else priced now (``eventCost(of:model:)``).
    func resolvedCost(_ cost: EventCost?, of usage: UsageRecord, model: String) async throws -> EventCost {
        if let cost { return cost }
        return try await eventCost(of: usage, model: model)
    }

    /// Throws ``UnreplicatedWrite`` when fewer replicas than ``LedgerConfiguration/replicaWait``
    /// asks for acknowledged a write (`Int.max`: no wait was asked for).
    func checkReplicated(_ result: RecordResult, acknowledged: Int) throws {
        guard let wait = configuration.replicaWait, acknowledged < wait.replicas else { return }
        throw UnreplicatedWrite(result: result, acknowledged: acknowledged, wait: wait)
    }

    /// What follows a decoded write: the index write when due, the history amendment of a late call.
    func finishWrite(_ written: PreparedWrite.Written) async -> RecordResult {
        let result = written.result
        if written.indexDue { await addToIndex(user: result.user, cycle: result.cycle) }
        if result.amendsHistory { await amendHistoryNow(user: result.user, cycle: result.cycle) }
        return result
    }

    /// A record (or settle) of one call's usage at the cycle the user's policy gives now (or the
    /// explicit `cycle`), ready to send, with the event's `cost`. Usage is assumed valid
    /// (``validateRecord(user:callID:usage:model:provider:)``).
    func prepareWrite(
        _ kind: WriteKind, user: String, callID: String, usage: UsageRecord, model: String, cycle: CalendarDate?,
        at instant: Date, settings: Settings, cost: EventCost, force: Bool = false, chargesRate: Bool = true
    ) throws -> PreparedWrite {
        let (target, assumed) = try resolveCycle(user: user, explicit: cycle, at: instant, settings: settings)
        let write = RecordScript(
            kind: kind, user: user,
            userKeys: try! keys.user(user),  // the user id was validated, so building its keys cannot fail
            cycleName: target.name, assumedPolicy: assumed, callID: callID, usage: usage, model: model,
            defaultLimit: settings.defaultLimit, defaultLimitUSD: settings.defaultLimitUSD?.nanoUSD,
            thresholds: thresholdsArgument, replicaWait: configuration.replicaWait != nil, cost: cost, force: force,
            defaultTPM: settings.defaultTPM, defaultRPM: settings.defaultRPM,
            chargesRate: chargesRate)
        return PreparedWrite(write: write, cycle: target.start, calls: [write.call(scripts)])
    }

    /// Adds a user to a cycle's derived index (`index.lua`, the `{global}` slot), then marks the
    /// user's cycle hash (`index_mark.lua`, the user's slot) so their later records stop asking.
    /// The mark is set only after the index write succeeded; when it failed the claim is dropped
    /// and the user's next record asks again, and a crash in between leaves a claim that expires
    /// (`SADD` makes a repeat harmless). A failure is logged and counted, never thrown: the record
    /// itself is already counted.
    func addToIndex(user: String, cycle: CalendarDate) async {
        let userKeys = try! keys.user(user)  // the user id was validated before the write
        var indexed = false
        do {
            _ = try await run(IndexScript(keySet: keys, cycle: cycle, users: [user]))
            indexed = true
            metrics.indexWrite()
            _ = try await run(IndexMarkScript(userKeys: userKeys, cycle: cycle, done: true))
        } catch {
            metrics.redisError(error)
            logger.warning(
                "the cycle index write failed; the user's next record retries it",
                metadata: [LoggingKeys.cycle: "\(cycle)", LoggingKeys.error: "\(error)"])
            if !indexed { _ = try? await run(IndexMarkScript(userKeys: userKeys, cycle: cycle, done: false)) }
        }
    }

    static func validateRecord(user: String, callID: String, usage: UsageRecord, model: String, provider: String)
        throws(ValidationError)
    {
        try Validation.validateUserID(user)
        try Validation.validateCallID(callID)
        try Validation.validateModel(model)
        try Validation.validateProvider(provider)
        try usage.validateCounts()
        if let reported = usage.reportedCost { try EventCost.check(reported, field: "reported_cost_usd") }
    }
}
