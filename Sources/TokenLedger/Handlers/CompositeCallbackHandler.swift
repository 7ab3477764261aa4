import Dispatch
import Foundation
import Logging
import Synchronization

/// Runs many handlers for each callback, isolated from each other and from the LLM call.
///
/// Handlers run concurrently. One that throws is logged and counted; one that takes longer than
/// ``timeout`` is abandoned (asked to cancel, and no longer waited for), logged and counted. The
/// composite itself never throws, and returns within about ``timeout`` whatever its handlers do.
///
/// ### Threading
/// Callbacks run on a dispatch-backed task executor, not on Swift's cooperative thread pool, so a
/// handler that blocks its thread (synchronous I/O, a sleep) cannot starve the caller or the
/// other handlers of threads.
public struct CompositeCallbackHandler: LLMCallbackHandler {
    /// Counts per handler, by its position in ``handlers``.
    public struct Failures: Sendable, Hashable {
        /// Callbacks that threw.
        public var errors: [Int] = []
        /// Callbacks abandoned after the timeout.
        public var timeouts: [Int] = []
    }

    /// The handlers, in order.
    public let handlers: [any LLMCallbackHandler]
    /// How long one handler's callback may take. Default 2 seconds.
    public let timeout: Duration
    private let logger: Logger
    private let failureCounts: FailureCounts

    /// Creates a composite.
    ///
    /// - Parameters:
    ///   - handlers: The handlers to run.
    ///   - timeout: How long one handler's callback may take before it is abandoned.
    ///   - logger: Receives one error per failed or abandoned callback.
    public init(
        _ handlers: [any LLMCallbackHandler], timeout: Duration = .seconds(2),
        logger: Logger = Logger(label: "tokenledger.composite", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.handlers = handlers
        self.timeout = timeout
        self.logger = logger
        self.failureCounts = FailureCounts(count: handlers.count)
    }

    /// Failures so far, per handler.
    public var failures: Failures { failureCounts.snapshot }

    /// Runs every handler's `onLLMStart`.
    public func onLLMStart(messages: [ChatMessage], context: LLMCallContext) async {
        await fanOut("on_llm_start", context) { try await $0.onLLMStart(messages: messages, context: context) }
    }

    /// Runs every handler's `onLLMNewToken`.
    public func onLLMNewToken(_ token: String, context: LLMCallContext) async {
        await fanOut("on_llm_new_token", context) { try await $0.onLLMNewToken(token, context: context) }
    }

    /// Runs every handler's `onLLMEnd`.
    public func onLLMEnd(response: LLMResponse, context: LLMCallContext) async {
        await fanOut("on_llm_end", context) { try await $0.onLLMEnd(response: response, context: context) }
    }

    /// Runs every handler's `onLLMError`.
    public func onLLMError(_ error: any Error, context: LLMCallContext) async {
        await fanOut("on_llm_error", context) { try await $0.onLLMError(error, context: context) }
    }

    private func fanOut(
        _ callback: String, _ context: LLMCallContext,
        _ body: @escaping @Sendable (any LLMCallbackHandler) async throws -> Void
    ) async {
        let timeout = self.timeout
        await withTaskGroup(of: (Int, DeadlineOutcome<Bool>).self) { group in
            for (index, handler) in handlers.enumerated() {
                group.addTask {
                    (
                        index,
                        await withDeadline(timeout, executor: HandlerExecutor.shared) {
                            try await body(handler); return true
                        }
                    )
                }
            }
            for await (index, outcome) in group {
                switch outcome {
                case .value:
                    break
                case .error(let error):
                    failureCounts.record(error: index)
                    logger.error(
                        "callback handler failed",
                        metadata: [
                            "tokenledger.callback": "\(callback)",
                            "tokenledger.handler": "\(type(of: handlers[index]))",
                            "tokenledger.run_id": "\(context.runID)", "tokenledger.error": "\(error)",
                        ])
                case .timedOut:
                    failureCounts.record(timeout: index)
                    logger.error(
                        "callback handler timed out",
                        metadata: [
                            "tokenledger.callback": "\(callback)",
                            "tokenledger.handler": "\(type(of: handlers[index]))",
                            "tokenledger.run_id": "\(context.runID)", "tokenledger.timeout": "\(timeout)",
                        ])
                }
            }
        }
    }
}

/// Runs handler callbacks on dispatch's thread pool, which adds threads when some block, instead of
/// Swift's cooperative pool, which has one thread per core and no more.
final class HandlerExecutor: TaskExecutor {
    static let shared = HandlerExecutor()
    private let queue = DispatchQueue(label: "tokenledger.handlers", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

/// Per-handler failure counters.
final class FailureCounts: Sendable {
    private let value: Mutex<CompositeCallbackHandler.Failures>

    init(count: Int) {
        value = Mutex(.init(errors: Array(repeating: 0, count: count), timeouts: Array(repeating: 0, count: count)))
    }

    func record(error index: Int) { value.withLock { $0.errors[index] += 1 } }
    func record(timeout index: Int) { value.withLock { $0.timeouts[index] += 1 } }
    var snapshot: CompositeCallbackHandler.Failures { value.withLock { $0 } }
}
