import Foundation
import RedisClient
import Synchronization

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
    /// - Returns: Whether it was applied (false: duplicate), with the cycle's new total.
    /// - Throws: ``ValidationError`` before anything is written; ``LedgerError``; `RedisError`.
    public func record(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        cycle: CalendarDate? = nil, at instant: Date = Date()
    ) async throws -> RecordResult {
        try await write(
            .record, user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: cycle,
            at: instant)
    }

    /// Replaces a call's reservation with its actual usage, exactly once. With no live lease the
    /// usage is still recorded: the call happened.
    ///
    /// - Throws: as ``record(user:callID:usage:model:provider:cycle:at:)``.
    public func settle(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        at instant: Date = Date()
    ) async throws -> RecordResult {
        try await write(
            .settle, user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: nil, at: instant
        )
    }

    /// Record or settle: validate, then run the script at the cycle the user's policy gives
    /// (retrying with the stored policy if the assumed one was stale).
    private func write(
        _ kind: WriteKind, user: String, callID: String, usage: UsageRecord, model: String,
        provider: String, cycle: CalendarDate?, at instant: Date
    ) async throws -> RecordResult {
        try Self.validateRecord(user: user, callID: callID, usage: usage, model: model, provider: provider)
        try Validation.validateEventInstant(instant)
        let settings = try await settings()
        try await ensureWritableSchema()  // no round trip once settings() found it writable
        let result = try await retryingStalePolicy(user: user) {
            let prepared = try prepareWrite(
                kind, user: user, callID: callID, usage: usage, model: model, cycle: cycle, at: instant,
                settings: settings)
            return try prepared.decode(try await pool.evaluateMany(prepared.calls))
        }
        if result.amendsHistory { await amendHistoryNow(user: user, cycle: result.cycle) }
        return result
    }

    /// A record (or settle) of one call's usage at the cycle the user's policy gives now (or the
    /// explicit `cycle`), ready to send. Usage is assumed valid
    /// (``validateRecord(user:callID:usage:model:provider:)``).
    func prepareWrite(
        _ kind: WriteKind, user: String, callID: String, usage: UsageRecord, model: String, cycle: CalendarDate?,
        at instant: Date, settings: Settings
    ) throws -> PreparedWrite {
        let (target, assumed) = try resolveCycle(user: user, explicit: cycle, at: instant, settings: settings)
        let write = RecordScript(
            kind: kind, user: user,
            userKeys: try! keys.user(user),  // the user id was validated, so building its keys cannot fail
            cycleName: target.name, assumedPolicy: assumed, callID: callID, usage: usage, model: model,
            defaultLimit: settings.defaultLimit, thresholds: thresholdsArgument)
        let index =
            recentlyIndexed(user: user, cycle: target.start)
            ? nil : IndexScript(keySet: keys, cycle: target.start, users: [user])
        var calls = [write.call(scripts)]
        if let index { calls.append(index.call(scripts)) }
        return PreparedWrite(repository: self, write: write, index: index, cycle: target.start, calls: calls)
    }

    private func recentlyIndexed(user: String, cycle: CalendarDate) -> Bool {
        let now = ContinuousClock.now
        return indexed.withLock {
            $0[IndexedUser(cycle: cycle, user: user)].map { now - $0 < Self.indexMemory } ?? false
        }
    }

    func noteIndexed(user: String, cycle: CalendarDate) {
        let now = ContinuousClock.now
        indexed.withLock { memory in
            if memory.count > 200_000 { memory.removeAll(keepingCapacity: true) }
            memory[IndexedUser(cycle: cycle, user: user)] = now
        }
    }

    /// A (cycle, user) pair in the index memory.
    struct IndexedUser: Hashable {
        var cycle: CalendarDate
        var user: String
    }

    /// How long this process trusts that a user it indexed for a cycle is still in the index.
    static let indexMemory: Duration = .seconds(60)

    static func validateRecord(user: String, callID: String, usage: UsageRecord, model: String, provider: String)
        throws(ValidationError)
    {
        try Validation.validateUserID(user)
        try Validation.validateCallID(callID)
        try Validation.validateModel(model)
        try Validation.validateProvider(provider)
        try Validation.validateTokenCount(usage.inputTokens, field: "input_tokens")
        try Validation.validateTokenCount(usage.outputTokens, field: "output_tokens")
        if let cached = usage.cachedInputTokens {
            try Validation.validateTokenCount(cached, field: "cached_input_tokens")
        }
        if let write = usage.cacheWriteTokens { try Validation.validateTokenCount(write, field: "cache_write_tokens") }
        if let reasoning = usage.reasoningTokens {
            try Validation.validateTokenCount(reasoning, field: "reasoning_tokens")
        }
        let inputSubsets = (usage.cachedInputTokens ?? 0) + (usage.cacheWriteTokens ?? 0)
        if inputSubsets > usage.inputTokens {
            throw ValidationError(
                code: .invalidTokenCount, field: "cached_input_tokens",
                message:
                    "cached_input_tokens + cache_write_tokens (\(inputSubsets)) is more than input_tokens (\(usage.inputTokens)); they are part of it"
            )
        }
        if let reasoning = usage.reasoningTokens, reasoning > usage.outputTokens {
            throw ValidationError(
                code: .invalidTokenCount, field: "reasoning_tokens",
                message:
                    "reasoning_tokens (\(reasoning)) is more than output_tokens (\(usage.outputTokens)); it is part of it"
            )
        }
    }
}
