import Foundation
import Logging

/// Thrown by ``QuotaGuard`` when a user's quota does not admit the call; the model was not called.
public struct QuotaExceededError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The decision that refused the call.
    public var decision: QuotaDecision

    /// Creates the error.
    public init(decision: QuotaDecision) { self.decision = decision }

    /// Names the user, the request and what was left.
    public var description: String {
        "quota exceeded for user '\(decision.user)' in cycle \(decision.cycle): asked \(decision.requested) tokens, "
            + "\(decision.remaining.map(String.init) ?? "unlimited") remaining (used \(decision.used), reserved \(decision.reserved))"
    }
}

/// Guards an LLM call with the user's quota: reserves an estimate before the call, settles the
/// actual usage after it, and releases the reservation if the call fails or is cancelled.
///
/// A user over quota gets ``QuotaExceededError`` (carrying the decision) and the model is never
/// called. Concurrent calls of one user cannot together overspend the limit, because each holds a
/// lease for its estimate until it settles.
public struct QuotaGuard: Sendable {
    /// Where reservations and usage go.
    public let repository: TokenRepository
    /// Counts the prompt's tokens per model (exact with a rank file, heuristic otherwise).
    public let counting: TokenCounting
    /// How long a reservation lives if this process dies before settling it.
    public let leaseTTL: Duration
    private let logger: Logger

    /// Creates a guard.
    ///
    /// - Parameters:
    ///   - repository: Where reservations and usage go.
    ///   - counting: Counts the prompt's tokens per model: exact when a rank file is configured
    ///     (`TOKENLEDGER_BPE_DIR` by default), heuristic otherwise.
    ///   - leaseTTL: How long a reservation lives if never settled or released. Default 10 minutes.
    ///   - logger: Receives errors from settle and release (the call's result is still returned).
    public init(
        repository: TokenRepository, counting: TokenCounting = .fromEnvironment(),
        leaseTTL: Duration = .seconds(600), logger: Logger = Logger(label: "tokenledger.quota")
    ) {
        self.repository = repository
        self.counting = counting
        self.leaseTTL = leaseTTL
        self.logger = logger
    }

    /// Runs `call` if the user's quota admits `prompt estimate + maxOutputTokens`.
    ///
    /// - Parameters:
    ///   - context: Who is calling; its run id is the reservation's and the record's call id.
    ///   - messages: The prompt, whose tokens are estimated.
    ///   - maxOutputTokens: The most output the call may produce (its `max_tokens`), reserved too.
    ///   - call: The LLM call. It returns its result and the actual usage.
    /// - Returns: The call's result.
    /// - Throws: ``QuotaExceededError`` before calling when the quota does not admit it; the call's
    ///   own error (after releasing the reservation); errors reaching Redis for the reservation.
    public func run<T: Sendable>(
        context: LLMCallContext, messages: [ChatMessage], maxOutputTokens: Int,
        _ call: () async throws -> (result: T, usage: UsageRecord)
    ) async throws -> T {
        let estimate = counting.estimator(forModel: context.model).countTokens(in: messages) + max(0, maxOutputTokens)
        let reservation = try await repository.reserve(
            user: context.user, callID: context.runID, tokens: estimate, ttl: leaseTTL)
        switch reservation.status {
        case .denied:
            throw QuotaExceededError(decision: reservation.decision)
        case .admitted, .held, .settled:
            break
        }
        let outcome: (result: T, usage: UsageRecord)
        do {
            try Task.checkCancellation()
            outcome = try await call()
        } catch {
            await releaseDetached(context)
            throw error
        }
        do {
            _ = try await repository.settle(
                user: context.user, callID: context.runID, usage: outcome.usage, model: context.model,
                provider: context.provider)
        } catch {
            // The call happened and its result is the caller's; the lease expires by itself.
            logger.error(
                "settle failed after a successful call",
                metadata: ["tokenledger.run_id": "\(context.runID)", "tokenledger.error": "\(error)"])
        }
        return outcome.result
    }

    /// Releases in a task of its own, so a cancelled caller still gets its reservation dropped.
    private func releaseDetached(_ context: LLMCallContext) async {
        let repository = self.repository
        let logger = self.logger
        await Task {
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
