import Foundation
import RedisClient
import Synchronization

// TokenRepository: recording and settling usage, the script calls that do it and the reading of their replies.
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
    /// - Throws: ``ValidationError`` before anything is written; ``LedgerError``; ``RedisClient/RedisError``.
    public func record(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        cycle: CalendarDate? = nil, at instant: Date = Date()
    ) async throws -> RecordResult {
        try await write(
            .record, user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: cycle, at: instant)
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
            .settle, user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: nil, at: instant)
    }

    /// Record or settle: validate, then run the script at the cycle the user's policy gives
    /// (retrying with the stored policy if the assumed one was stale).
    private func write(
        _ operation: SpooledEvent.Operation, user: String, callID: String, usage: UsageRecord, model: String,
        provider: String, cycle: CalendarDate?, at instant: Date
    ) async throws -> RecordResult {
        try Self.validateRecord(user: user, callID: callID, usage: usage, model: model, provider: provider)
        try Validation.validateEventInstant(instant)
        let settings = try await settings()
        try await ensureWritableSchema()  // no round trip once settings() found it writable
        let result = try await withCycle(user: user, explicit: cycle, at: instant, settings: settings) { target, assumed in
            let calls = recordCalls(
                operation, user: user, callID: callID, usage: usage, model: model, cycle: target, assumed: assumed,
                settings: settings)
            let replies = try await pool.evaluateMany(calls)
            return try recordOutcome(replies, user: user, cycle: target.start)
        }
        if result.amendsHistory { await amendHistoryNow(user: user, cycle: result.cycle) }
        return result
    }

    /// The script calls that record (or settle) one call's usage at `cycle`: the record script and,
    /// unless this process indexed the user for that cycle within the last minute, the index script.
    /// Usage is assumed valid (``validateRecord(user:callID:usage:model:provider:)``); the provider
    /// is not aggregated, so it is not an argument.
    func recordCalls(
        _ operation: SpooledEvent.Operation, user: String, callID: String, usage: UsageRecord, model: String,
        cycle: BillingCycle, assumed: String, settings: Settings
    ) -> [RedisScriptCall] {
        // The user id was validated, so building its keys cannot fail.
        let userKeys = try! keys.user(user)
        let name = cycle.name  // formatted once for both keys and the argument
        var keyList: [any RedisArgumentConvertible] = [
            userKeys.profile, userKeys.cycle(named: name), userKeys.calls(named: name), userKeys.events,
        ]
        if operation == .settle { keyList += [userKeys.leases, userKeys.leaseExpiry, userKeys.reserved] }
        keyList.append(userKeys.late(named: name))
        let arguments: [any RedisArgumentConvertible] =
            [assumed] + Self.usageArguments(callID, usage, model)
            + [Self.limitArgument(settings.defaultLimit), thresholdsArgument, user, name]
        var calls = [RedisScriptCall(operation == .settle ? scripts.settle : scripts.record, keys: keyList, arguments: arguments)]
        if !recentlyIndexed(user: user, cycle: cycle.start) { calls.append(indexCall(cycle.start, users: [user])) }
        return calls
    }

    private func recentlyIndexed(user: String, cycle: CalendarDate) -> Bool {
        let now = ContinuousClock.now
        return indexed.withLock { $0[IndexedUser(cycle: cycle, user: user)].map { now - $0 < Self.indexMemory } ?? false }
    }

    private func noteIndexed(user: String, cycle: CalendarDate) {
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

    /// Reads the replies of ``recordCalls(_:user:callID:usage:model:cycle:assumed:settings:)``.
    func recordOutcome(_ replies: [RedisReply], user: String, cycle: CalendarDate) throws -> Attempt<RecordResult> {
        let reply = replies[0]
        if case .error(let error) = reply {
            if error.serverCode == "OVERFLOW" {
                throw LedgerError(code: .overflow, message: "user '\(user)' cycle \(cycle): \(error.message)")
            }
            if error.serverCode == "BADINPUT" {
                throw ValidationError(code: .invalidTokenCount, field: "usage", message: error.message)
            }
            if error.serverCode == "BADSTATE" { throw Self.corruptState(error) }
            throw error
        }
        guard let fields = reply.array, let status = fields.first?.string else {
            throw Self.unexpected(reply, what: "record")
        }
        if status == "policy" { return .retry(fields.count > 1 ? fields[1].string ?? "" : "") }
        if status == "retired" {
            throw LedgerError(
                code: .cycleRetired,
                message: "user '\(user)' cycle \(cycle) is past retention (its counters and call ids were deleted); "
                    + "the event was not applied, so it cannot count twice: an administrator must book it by hand")
        }
        let numbers = try Self.integers(Array(fields.dropFirst()), count: fields.count - 1, what: "record")
        if replies.count > 1, case .integer = replies[1] { noteIndexed(user: user, cycle: cycle) }
        var result = RecordResult(
            applied: status == "applied" || status == "late", user: user, cycle: cycle, totalTokens: numbers[0],
            calls: numbers[1], releasedTokens: numbers.count > 2 ? numbers[2] : 0)
        result.amendsHistory = status == "late"
        return .done(result)
    }

    static func validateRecord(user: String, callID: String, usage: UsageRecord, model: String, provider: String)
        throws(ValidationError)
    {
        try Validation.validateUserID(user)
        try Validation.validateCallID(callID)
        try Validation.validateModel(model)
        try Validation.validateProvider(provider)
        try Validation.validateTokenCount(usage.inputTokens, field: "input_tokens")
        try Validation.validateTokenCount(usage.outputTokens, field: "output_tokens")
        if let cached = usage.cachedInputTokens { try Validation.validateTokenCount(cached, field: "cached_input_tokens") }
        if let write = usage.cacheWriteTokens { try Validation.validateTokenCount(write, field: "cache_write_tokens") }
        if let reasoning = usage.reasoningTokens { try Validation.validateTokenCount(reasoning, field: "reasoning_tokens") }
        let inputSubsets = (usage.cachedInputTokens ?? 0) + (usage.cacheWriteTokens ?? 0)
        if inputSubsets > usage.inputTokens {
            throw ValidationError(
                code: .invalidTokenCount, field: "cached_input_tokens",
                message: "cached_input_tokens + cache_write_tokens (\(inputSubsets)) is more than input_tokens (\(usage.inputTokens)); they are part of it")
        }
        if let reasoning = usage.reasoningTokens, reasoning > usage.outputTokens {
            throw ValidationError(
                code: .invalidTokenCount, field: "reasoning_tokens",
                message: "reasoning_tokens (\(reasoning)) is more than output_tokens (\(usage.outputTokens)); it is part of it")
        }
    }

    /// The usage arguments of the record and settle scripts: call id, the five counts (-1 = not
    /// reported) and the model. The provider is validated and kept in spooled events but not
    /// aggregated, so it is not sent (each argument costs Redis time on every record).
    static func usageArguments(_ callID: String, _ usage: UsageRecord, _ model: String) -> [any RedisArgumentConvertible] {
        [
            callID, usage.inputTokens, usage.outputTokens, usage.cachedInputTokens ?? -1, usage.cacheWriteTokens ?? -1,
            usage.reasoningTokens ?? -1, model,
        ]
    }
}
