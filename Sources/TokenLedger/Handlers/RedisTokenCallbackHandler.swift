import Foundation
import Logging

/// Records each call's usage for its user and cycle, with the run id as the call id.
///
/// The basic handler of the seed, without its faults: it keeps no state between callbacks (one
/// instance serves any number of concurrent calls), records idempotently (a retried call counts
/// once), and never throws into the LLM call, but for the admission of a handler made with a
/// ``quota`` guard (``onLLMStart(messages:context:)``). It records what the response reports; a response
/// with only a total is stored as output (use ``DetailedRedisTokenCallbackHandler`` to split it
/// with a prompt estimate), and a response with no usage is estimated from its text.
public struct RedisTokenCallbackHandler: LLMCallbackHandler {
    /// Where usage is recorded (Redis, else the spool when it has one).
    public let recorder: UsageRecorder
    /// Whether `onLLMEnd` waits for the usage to be durable.
    public let delivery: HandlerDelivery
    /// How output tokens are estimated when a response reports none.
    public let counting: TokenCounting
    /// The admission `onLLMStart` makes (`nil`: none, the start hook does nothing).
    public let quota: QuotaGuard?
    private let logger: Logger

    /// Creates a handler.
    ///
    /// - Parameters:
    ///   - recorder: Where usage is recorded: Redis, else its spool.
    ///   - counting: Estimates output tokens when a response reports none (exact with a rank file).
    ///   - delivery: Wait for durability (default) or return once the usage is queued.
    ///   - quota: When given, `onLLMStart` checks that every scope of the user admits the prompt
    ///     (``QuotaGuard/admit(context:messages:)``) and throws ``QuotaExceededError`` when one
    ///     denies. Default none.
    ///   - logger: Receives a warning for each call whose usage could not be recorded.
    public init(
        recorder: UsageRecorder, counting: TokenCounting = .fromEnvironment(),
        delivery: HandlerDelivery = .awaitDurable, quota: QuotaGuard? = nil,
        logger: Logger = Logger(label: "tokenledger.handler", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.recorder = recorder
        self.delivery = delivery
        self.counting = counting
        self.quota = quota
        self.logger = logger
    }

    /// Creates a handler that records straight into Redis (no spool: if Redis fails, the event is
    /// logged as lost). Prefer ``init(recorder:counting:delivery:quota:logger:)`` with a spool in production.
    ///
    /// - Parameters:
    ///   - repository: The repository the handler's own ``UsageRecorder`` writes to.
    ///   - counting: Estimates output tokens when a response reports none (exact with a rank file).
    ///   - metrics: Where the recorder and this handler count (`tokenledger_handler_…`,
    ///     `tokenledger_records_total`; see ``LedgerMetrics``).
    ///   - logger: Receives a warning for each call whose usage could not be recorded (and the
    ///     recorder's messages).
    public init(
        repository: TokenRepository, counting: TokenCounting = .fromEnvironment(),
        metrics: LedgerMetrics = LedgerMetrics(),
        logger: Logger = Logger(label: "tokenledger.handler", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.init(
            recorder: UsageRecorder(repository: repository, metrics: metrics, logger: logger), counting: counting,
            logger: logger)
    }

    /// With a ``quota`` guard, checks that every scope of the user admits the prompt now; without
    /// one, does nothing.
    ///
    /// - Throws: ``QuotaExceededError`` when a scope denies: its decision names the scope
    ///   (`deniedScope`), the limit (`deniedBy`: tokens, usd, tpm or rpm) and, for a rate limit,
    ///   the wait (``QuotaExceededError/retryAfter``). Call it before the request, outside a
    ///   ``CompositeCallbackHandler`` (which isolates, logs and counts what its handlers throw).
    ///   ``QuotaUnavailableError`` when Redis cannot decide and the guard fails closed.
    public func onLLMStart(messages: [ChatMessage], context: LLMCallContext) async throws {
        if let quota { try await quota.admit(context: context, messages: messages) }
    }

    /// Records the response's usage. Never throws.
    public func onLLMEnd(response: LLMResponse, context: LLMCallContext) async {
        let outcome = UsageResolution.resolve(
            response, provider: context.provider, promptEstimate: nil, outputText: response.text,
            estimator: counting.estimator(forModel: context.model))
        await HandlerRecording.record(
            outcome, context: context, recorder: recorder, delivery: delivery, logger: logger)
    }

    /// Counts the failed call (`tokenledger_handler_calls_total{result=error}`); nothing is recorded (the provider did not bill a failed request).
    public func onLLMError(_ error: any Error, context: LLMCallContext) async {
        recorder.metrics.handlerCall("error")
    }
}

/// The recording step both handlers share.
enum HandlerRecording {
    static func record(
        _ outcome: UsageResolution.Outcome, context: LLMCallContext, recorder: UsageRecorder,
        delivery: HandlerDelivery, logger: Logger
    ) async {
        let metrics = recorder.metrics
        guard case .record(let usage) = outcome else {
            if case .failed(let reason) = outcome {
                metrics.handlerCall("failed")
                logger.warning(
                    "llm usage not recorded",
                    metadata: ["tokenledger.run_id": "\(context.runID)", "tokenledger.reason": "\(reason)"])
            }
            return
        }
        if delivery == .fireAndForget {
            await recorder.recordInBackground(
                user: context.user, callID: context.runID, usage: usage, model: context.model,
                provider: context.provider)
            metrics.handlerCall("queued")
            return
        }
        let result = await recorder.record(
            user: context.user, callID: context.runID, usage: usage, model: context.model, provider: context.provider)
        switch result {
        case .applied: metrics.handlerCall("recorded", estimated: usage.source == .estimated)
        case .duplicate: metrics.handlerCall("duplicate")
        case .spooled: metrics.handlerCall("spooled")
        case .conflict, .rejected, .failed, .parked: metrics.handlerCall("failed")
        }
        if case .conflict(let error) = result {
            logger.warning(
                "llm usage refused: the run id was already recorded with another total",
                metadata: ["tokenledger.run_id": "\(context.runID)", "tokenledger.error": "\(error)"])
        }
        if case .rejected(let error) = result {
            logger.warning(
                "llm usage rejected",
                metadata: ["tokenledger.run_id": "\(context.runID)", "tokenledger.error": "\(error)"])
        }
    }
}
