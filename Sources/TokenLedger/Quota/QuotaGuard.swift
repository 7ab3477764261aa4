import Foundation
import Logging
import RedisClient

/// Guards an LLM call with the user's quota: reserves an estimate before the call, settles the
/// actual usage after it, and releases the reservation if the call fails or is cancelled.
///
/// The estimate is priced at the model's rates (the prompt as input, `maxOutputTokens` as output,
/// from the repository's cached price table, the one records are priced with), so a currency limit is enforced before the
/// call too; a model without a price is reserved by tokens only. A user over either limit gets
/// ``QuotaExceededError`` (carrying the decision, which names the limit) and the model is never
/// called. Concurrent calls of one user cannot together overspend the limit, because each holds a
/// lease for its estimate until it settles. When Redis cannot be reached for the reservation, the
/// ``UnavailablePolicy`` decides, and the decision is logged and counted either way.
public struct QuotaGuard: Sendable {
    /// What to do when Redis cannot be reached to reserve.
    public enum UnavailablePolicy: String, Sendable, Hashable, CaseIterable {
        /// Let the call run without a reservation; its usage is still recorded (spooled).
        case failOpen
        /// Refuse the call with ``QuotaUnavailableError``.
        case failClosed
    }

    /// Where usage goes (Redis, else the recorder's spool).
    public let recorder: UsageRecorder
    /// Counts the prompt's tokens per model (exact with a rank file, heuristic otherwise).
    public let counting: TokenCounting
    /// How long a reservation lives if this process dies before settling it.
    public let leaseTTL: Duration
    /// What to do when Redis cannot be reached to reserve.
    public let whenUnavailable: UnavailablePolicy
    private let logger: Logger

    /// The repository behind the recorder.
    public var repository: TokenRepository { recorder.repository }

    /// Creates a guard.
    ///
    /// - Parameters:
    ///   - recorder: Where settled usage goes; with a spool, a settle never blocks longer than its bound.
    ///   - counting: Counts the prompt's tokens per model: exact when a rank file is configured
    ///     (`TOKENLEDGER_BPE_DIR` by default), heuristic otherwise.
    ///   - leaseTTL: How long a reservation lives if never settled or released. Default 10 minutes.
    ///   - whenUnavailable: Fail open or closed when Redis cannot be reached. Default fail-closed.
    ///   - logger: Receives quota decisions made without Redis and settle/release errors.
    public init(
        recorder: UsageRecorder, counting: TokenCounting = .fromEnvironment(), leaseTTL: Duration = .seconds(600),
        whenUnavailable: UnavailablePolicy = .failClosed,
        logger: Logger = Logger(label: "tokenledger.quota", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.recorder = recorder
        self.counting = counting
        self.leaseTTL = leaseTTL
        self.whenUnavailable = whenUnavailable
        self.logger = logger
    }

    /// Creates a guard that settles straight into Redis (no spool).
    public init(
        repository: TokenRepository, counting: TokenCounting = .fromEnvironment(), leaseTTL: Duration = .seconds(600),
        whenUnavailable: UnavailablePolicy = .failClosed,
        logger: Logger = Logger(label: "tokenledger.quota", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.init(
            recorder: UsageRecorder(repository: repository, logger: logger), counting: counting, leaseTTL: leaseTTL,
            whenUnavailable: whenUnavailable, logger: logger)
    }

    /// Runs `call` if the user's quota admits `prompt estimate + maxOutputTokens` (a heuristic prompt
    /// estimate with ``TokenCounting/reservationMargin`` added).
    ///
    /// - Parameters:
    ///   - context: Who is calling; its run id is the reservation's and the record's call id.
    ///   - messages: The prompt, whose tokens are counted.
    ///   - maxOutputTokens: The most output the call may produce (its `max_tokens`), reserved too.
    ///   - call: The LLM call. It returns its result and the actual usage.
    /// - Returns: The call's result.
    /// - Throws: ``QuotaExceededError`` before calling when the quota does not admit it;
    ///   ``QuotaUnavailableError`` when Redis is unreachable and the policy is fail-closed; the
    ///   call's own error (after releasing the reservation); ``ValidationError`` for bad input.
    public func run<T: Sendable>(
        context: LLMCallContext, messages: [ChatMessage], maxOutputTokens: Int,
        _ call: () async throws -> (result: T, usage: UsageRecord)
    ) async throws -> T {
        // Saturating: an absurd maxOutputTokens is refused by reserve's count check, never a trap. A
        // heuristic prompt count carries the counting's reservation margin (docs/estimation.md), in
        // tokens and in the priced estimate alike.
        let promptTokens = counting.estimator(forModel: context.model).reservationCount(in: messages)
        let estimate = Validation.saturatingSum(promptTokens, max(0, maxOutputTokens))
        var reserved = false
        do {
            let cost = try await estimateCost(
                model: context.model, inputTokens: promptTokens, maxOutputTokens: max(0, maxOutputTokens))
            let reservation = try await repository.reserve(
                user: context.user, callID: context.runID, tokens: estimate, cost: cost, ttl: leaseTTL)
            if reservation.status == .denied {
                recorder.metrics.quota("denied")
                throw QuotaExceededError(decision: reservation.decision)
            }
            recorder.metrics.quota("allowed")
            reserved = true
        } catch let error where Self.meansUnavailable(error) {
            try decideWithoutRedis(context: context, error: error)
        }
        let outcome: (result: T, usage: UsageRecord)
        do {
            try Task.checkCancellation()
            outcome = try await call()
        } catch {
            if reserved { await releaseDetached(context) }
            throw error
        }
        let settled = await recorder.settle(
            user: context.user, callID: context.runID, usage: outcome.usage, model: context.model,
            provider: context.provider)
        if !settled.isDurable {
            logger.error(
                "settle failed after a successful call; the reservation will expire by itself",
                metadata: ["tokenledger.run_id": "\(context.runID)", "tokenledger.outcome": "\(settled)"])
        }
        return outcome.result
    }

    /// The cost of an estimate at the model's price: `inputTokens` as input, `maxOutputTokens` as
    /// output; zero for a model without a price (or no model), which is then reserved by tokens only.
    ///
    /// - Throws: ``ValidationError`` for counts out of range; `RedisError` reading the prices.
    public func estimateCost(model: String, inputTokens: Int, maxOutputTokens: Int) async throws -> Cost {
        guard !model.isEmpty,
            inputTokens >= 0, inputTokens <= Validation.maximumTokenCount,
            maxOutputTokens >= 0, maxOutputTokens <= Validation.maximumTokenCount
        else { return .zero }  // out-of-range counts are refused by reserve, with the field named
        let record = UsageRecord(inputTokens: inputTokens, outputTokens: maxOutputTokens)
        return try await repository.priceTable().cost(of: record, model: model)?.cost ?? .zero
    }

    /// Checks that every scope of the user (the user, its team, its org: token, currency and rate
    /// limits) admits the call's prompt now, holding nothing: the admission a callback handler's
    /// start hook makes (``RedisTokenCallbackHandler``, ``DetailedRedisTokenCallbackHandler``). The
    /// prompt is counted as ``run(context:messages:maxOutputTokens:_:)`` counts it, and priced at the
    /// model's input rate.
    ///
    /// - Returns: The decision (allowed), or `nil` when Redis could not decide and the policy is
    ///   fail-open.
    /// - Throws: ``QuotaExceededError`` carrying the decision when a scope denies (its
    ///   `deniedScope`, the limit that denied, and for a rate limit `retryAfterMilliseconds`,
    ///   also as ``QuotaExceededError/retryAfter``); ``QuotaUnavailableError`` when Redis cannot
    ///   decide and the policy is fail-closed; ``ValidationError`` for bad input.
    @discardableResult
    public func admit(context: LLMCallContext, messages: [ChatMessage]) async throws -> QuotaDecision? {
        let promptTokens = counting.estimator(forModel: context.model).reservationCount(in: messages)
        do {
            let cost = try await estimateCost(model: context.model, inputTokens: promptTokens, maxOutputTokens: 0)
            let decision = try await repository.check(user: context.user, tokens: promptTokens, cost: cost)
            guard decision.allowed else {
                recorder.metrics.quota("denied")
                throw QuotaExceededError(decision: decision)
            }
            recorder.metrics.quota("allowed")
            return decision
        } catch let error where Self.meansUnavailable(error) {
            try decideWithoutRedis(context: context, error: error)
            return nil
        }
    }

    /// Whether the user may spend `tokens` (costing `cost`) more now, applying ``whenUnavailable``
    /// when Redis cannot be reached (fail-open answers yes, fail-closed throws ``QuotaUnavailableError``).
    public func isAllowed(user: String, tokens: Int, cost: Cost = .zero) async throws -> Bool {
        do {
            let decision = try await repository.check(user: user, tokens: tokens, cost: cost)
            recorder.metrics.quota(decision.allowed ? "allowed" : "denied")
            return decision.allowed
        } catch let error where Self.meansUnavailable(error) {
            try decideWithoutRedis(context: LLMCallContext(runID: "check", user: user), error: error)
            return true
        }
    }

    private func decideWithoutRedis(context: LLMCallContext, error: any Error) throws {
        switch whenUnavailable {
        case .failOpen:
            recorder.metrics.quota("fail_open")
            logger.warning(
                "redis unavailable: quota not checked, call allowed (fail-open)",
                metadata: ["tokenledger.run_id": "\(context.runID)", "tokenledger.error": "\(error)"])
        case .failClosed:
            recorder.metrics.quota("fail_closed")
            logger.warning(
                "redis unavailable: call refused (fail-closed)",
                metadata: ["tokenledger.run_id": "\(context.runID)", "tokenledger.error": "\(error)"])
            throw QuotaUnavailableError(user: context.user, underlying: error)
        }
    }

    /// Whether the error means Redis could not decide: a transient failure
    /// (`ErrorCategory.unavailable`: an outage, a server that cannot serve now, a policy that kept
    /// changing), or a server that does not look like ours (a wrong password, a reply that is not
    /// RESP). Other refusals (`NOPERM`, bad input, corrupt data) reach the caller as they are.
    static func meansUnavailable(_ error: any Error) -> Bool {
        if ErrorCategory.of(error) == .unavailable { return true }
        guard let error = error as? RedisError else { return false }
        return error.code == .authenticationFailed || error.code == .protocolError
    }

    /// Releases in a task of its own, so a cancelled caller still gets its reservation dropped.
    ///
    /// Structured enough: the caller awaits the task's value before returning, so it never outlives
    /// the call. It is a task of its own only because Swift has no way to shield a child task from
    /// its parent's cancellation, and a cancelled release would leave the reservation held until it
    /// expires.
    private func releaseDetached(_ context: LLMCallContext) async {
        let repository = self.repository
        let logger = self.logger
        await Task {  // awaited below: see above
            do {
                _ = try await repository.release(user: context.user, callID: context.runID)
            } catch {
                logger.error(
                    "release failed; the reservation will expire by itself",
                    metadata: ["tokenledger.run_id": "\(context.runID)", "tokenledger.error": "\(error)"])
            }
        }.value
    }
}
