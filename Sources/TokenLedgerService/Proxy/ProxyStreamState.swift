import AsyncHTTPClient
import NIOCore
import Synchronization
import TokenLedger

/// What the proxy knows of one successful provider answer as it passes through: the splitter that
/// cuts an event stream into events and the tracker that follows its usage.
struct ProxyStreamState: Sendable {
    /// The usage seen so far.
    private(set) var tracker: ProxyUsageTracker
    private var splitter = SSEEventSplitter()
    /// Whether the answer is an event stream (else a body read whole for its usage).
    let isStream: Bool
    /// Whether the usage chunk the proxy asked for is kept from the client.
    let hidesUsageChunk: Bool

    /// A state for a call's answer.
    init(call: ProxyCall, estimator: any TokenEstimator, isStream: Bool) {
        tracker = ProxyUsageTracker(endpoint: call.request.endpoint, estimator: estimator)
        self.isStream = isStream
        hidesUsageChunk = call.request.hidesUsageChunk
    }

    /// Takes one chunk of the provider's answer; returns the bytes the client sees (a stream's
    /// complete events, the usage chunk left out when it was not asked for; a body as it came).
    mutating func take(_ chunk: ByteBuffer) -> ByteBuffer {
        guard isStream else {
            tracker.observeBody(chunk.readableBytesView)
            return chunk
        }
        return visible(splitter.feed(chunk.readableBytesView))
    }

    /// Ends the answer: the bytes of a last event that had no blank line after it (`nil` when none).
    mutating func finish() -> ByteBuffer? {
        guard isStream, let rest = splitter.finish() else { return nil }
        return visible([(rest, true)])
    }

    /// The usage to settle and the model the provider named: see ``ProxyUsageTracker/usage(stream:promptTokens:)``.
    func usage(promptTokens: Int) -> (record: UsageRecord, model: String?) {
        tracker.usage(stream: isStream, promptTokens: promptTokens)
    }

    private mutating func visible(_ events: [(bytes: [UInt8], complete: Bool)]) -> ByteBuffer {
        var out = ByteBuffer()
        for (bytes, complete) in events {
            let shown = !complete || tracker.observe(SSEEvent(bytes), hidingUsageChunk: hidesUsageChunk)
            if shown { out.writeBytes(bytes) }
        }
        return out
    }
}

/// The provider's answer body, read by one task at a time: the response writer while the client
/// is there, then (the client gone) a drain task raced against the drain bound, which cancels it.
///
/// `@unchecked Sendable`: the iterator is used by one task at a time, never concurrently; the
/// writer's task hands it to the drain task and waits for that task to end before going on.
final class ProxyUpstreamSource: @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    /// A source reading `body`.
    init(_ body: HTTPClientResponse.Body) { iterator = body.makeAsyncIterator() }

    /// The next chunk; `nil` at the end. Throws when the provider's stream fails, stalls past the
    /// read timeout, or the reading task is cancelled.
    func next() async throws -> ByteBuffer? { try await iterator.next() }
}

/// Runs an action when it is dropped before ``disarm()``: a response body Hummingbird never
/// writes (the client left before the response head went out) still settles its call.
final class ProxyBodyGuard: Sendable {
    private let action: Mutex<(@Sendable () async -> Void)?>

    /// A guard that runs `action` in a task of its own if it is dropped armed.
    init(_ action: @escaping @Sendable () async -> Void) { self.action = Mutex(action) }

    /// The body is being written: the action will not run.
    func disarm() { action.withLock { $0 = nil } }

    deinit {
        // A deinit cannot await: the settle runs in a task of its own, unstructured by necessity
        // (no caller is left to wait for it); it is shielded from nothing and retried by nothing,
        // as a settle from a request handler is.
        if let action = action.withLock({ $0 }) { Task { await action() } }
    }
}
