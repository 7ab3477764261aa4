import Foundation
import Logging
import Synchronization

/// Records input and output (and cached and reasoning tokens when reported) for each call, and
/// estimates what the provider does not report.
///
/// At start it estimates the prompt's tokens; at the end it records the reported usage, splits a
/// total-only response using the start estimate, and when the response reports nothing it records
/// an estimate from the prompt and the streamed or returned text (marked estimated).
///
/// ### Threading
/// Per-call state is kept by run id under a lock, so one instance serves many concurrent calls.
/// State is dropped at the end or error of each call.
public final class DetailedRedisTokenCallbackHandler: LLMCallbackHandler {
    private struct CallState {
        var promptEstimate: Int
        var streamed: String = ""
    }

    /// Where usage is recorded (Redis, else the spool when it has one).
    public let recorder: UsageRecorder
    /// Whether `onLLMEnd` waits for the usage to be durable.
    public let delivery: HandlerDelivery
    /// How tokens are counted for each call's model (exact with a rank file, heuristic otherwise).
    public let counting: TokenCounting
    /// The admission `onLLMStart` makes (`nil`: none).
    public let quota: QuotaGuard?
    private let logger: Logger
    private let calls = Mutex<[String: CallState]>([:])

    /// Creates a handler.
    ///
    /// - Parameters:
    ///   - recorder: Where usage is recorded: Redis, else its spool.
    ///   - counting: Counts prompt and output tokens per model: exact when a rank file is configured
    ///     (`TOKENLEDGER_BPE_DIR` by default), heuristic otherwise.
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
    ///   - counting: Counts prompt and output tokens per model: exact when a rank file is configured
    ///     (`TOKENLEDGER_BPE_DIR` by default), heuristic otherwise.
    ///   - metrics: Where the recorder and this handler count (`tokenledger_handler_…`,
    ///     `tokenledger_records_total`; see ``LedgerMetrics``).
    ///   - logger: Receives a warning for each call whose usage could not be recorded (and the
    ///     recorder's messages).
    public convenience init(
        repository: TokenRepository, counting: TokenCounting = .fromEnvironment(),
        metrics: LedgerMetrics = LedgerMetrics(),
        logger: Logger = Logger(label: "tokenledger.handler", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.init(
            recorder: UsageRecorder(repository: repository, metrics: metrics, logger: logger), counting: counting,
            logger: logger)
    }

    /// With a ``quota`` guard, first checks that every scope of the user admits the prompt now; then
    /// estimates the prompt's tokens and remembers it for this run id
    /// (`tokenledger_handler_calls_in_flight` counts the calls remembered).
    ///
    /// - Throws: ``QuotaExceededError`` when a scope denies (nothing is remembered): its decision
    ///   names the scope, the limit (tokens, usd, tpm or rpm) and, for a rate limit, the wait
    ///   (``QuotaExceededError/retryAfter``). Call it before the request, outside a
    ///   ``CompositeCallbackHandler`` (which isolates, logs and counts what its handlers throw).
    ///   ``QuotaUnavailableError`` when Redis cannot decide and the guard fails closed.
    public func onLLMStart(messages: [ChatMessage], context: LLMCallContext) async throws {
        if let quota { try await quota.admit(context: context, messages: messages) }
        let estimate = counting.estimator(forModel: context.model).countTokens(in: messages)
        let replaced = calls.withLock { $0.updateValue(CallState(promptEstimate: estimate), forKey: context.runID) }
        if replaced == nil { recorder.metrics.handlerCallStarted() }
    }

    /// Collects streamed text for this run id, for an estimate if the stream reports no usage.
    public func onLLMNewToken(_ token: String, context: LLMCallContext) async {
        calls.withLock { calls in
            calls[context.runID]?.streamed += token
        }
    }

    /// Records the call's usage (reported, split or estimated). Never throws.
    public func onLLMEnd(response: LLMResponse, context: LLMCallContext) async {
        let state = calls.withLock { $0.removeValue(forKey: context.runID) }
        if state != nil { recorder.metrics.handlerCallEnded() }
        let text = [state?.streamed, response.text].compactMap { $0 }.filter { !$0.isEmpty }.first
        let outcome = UsageResolution.resolve(
            response, provider: context.provider, promptEstimate: state?.promptEstimate, outputText: text,
            estimator: counting.estimator(forModel: context.model))
        await HandlerRecording.record(
            outcome, context: context, recorder: recorder, delivery: delivery, logger: logger)
    }

    /// Drops the call's state; nothing is recorded (a failed request is not billed, and a retry
    /// with the same run id must still be able to record its real usage).
    public func onLLMError(_ error: any Error, context: LLMCallContext) async {
        if calls.withLock({ $0.removeValue(forKey: context.runID) }) != nil { recorder.metrics.handlerCallEnded() }
        recorder.metrics.handlerCall("error")
    }
}
