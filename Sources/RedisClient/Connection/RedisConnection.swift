import CoreMetrics
import Dispatch
import Synchronization

/// One connection to Redis, with a serial dispatch queue of its own that runs every blocking hiredis call.
///
/// Get one from ``RedisConnectionPool/withConnection(_:)``; a connection must not be used after the
/// closure returns, and its calls are made one after another (each awaited), never concurrently.
///
/// ### Threading
/// hiredis blocks on the socket, so each connection owns a serial `DispatchQueue` where blocking
/// calls run while the caller awaits. An opt-in exception keeps a lone caller from paying two
/// thread hand-offs per round trip: with ``RedisConnectionPool/Options/inlineReplyWait`` set and the
/// caller the only task of the process holding a pooled connection, a call whose commands are small
/// writes them on the caller's thread and waits there for the replies up to that budget; replies
/// that take longer are read on the queue while the caller awaits. The cooperative thread pool is
/// therefore not blocked for more than about the budget, even when Redis hangs. (The inline write
/// itself is bounded by the command timeout in theory; in practice it never waits: it carries at
/// most 16 KiB, and every earlier call on the connection was answered or closed the connection, so
/// the socket's send buffer is empty.)
/// A broken or stale connection (the server restarted or closed it) reconnects on its next use.
public final class RedisConnection: @unchecked Sendable {
    // @unchecked Sendable: `context` is used by one party at a time. Calls on a connection are
    // sequential (the lease contract), and each call touches the context either on `queue` or, for
    // the inline steps, on its caller's thread before it awaits anything. `inline` is set by the
    // pool for each new holder, on the holder's task, before the holder uses the connection.
    private let queue: DispatchQueue
    private let context: HiredisContext
    private var inline: InlineLease?
    /// The configuration this connection was opened with.
    public let configuration: RedisConfiguration

    /// What the pool allows its holders: how long a lone holder may wait for replies on its own thread.
    struct InlineLease {
        var replyWait: Duration
        var counters: InlineCounters
    }

    /// Shared by a pool and its connections: calls answered on the caller's thread, and calls
    /// whose replies were then read on the queue.
    final class InlineCounters: Sendable {
        /// `tokenledger_redis_inline_replies_total{outcome=answered}`.
        let answered: CoreMetrics.Counter
        /// `tokenledger_redis_inline_replies_total{outcome=handed_over}`.
        let handedOver: CoreMetrics.Counter

        init(metrics: any MetricsFactory, dimensions: [(String, String)] = []) {
            let label = "tokenledger_redis_inline_replies_total"
            answered = CoreMetrics.Counter(
                label: label, dimensions: [("outcome", "answered")] + dimensions, factory: metrics)
            handedOver = CoreMetrics.Counter(
                label: label, dimensions: [("outcome", "handed_over")] + dimensions, factory: metrics)
        }
    }

    /// Tasks holding a pooled connection now, across every pool of the process. A call may wait
    /// inline only while its task is the only one: several pools (or several callers) mean the
    /// process is busy, and its cooperative threads must not wait on sockets. (Measured: with
    /// per-pool counting, the test suite's parallel suites each looked alone, their inline waits
    /// kept both cooperative threads on sockets, and unrelated timers resumed seconds late.)
    static let holders = Atomic<Int>(0)

    /// Commands larger than this in total always go through the queue: an inline write must not
    /// block on a full socket buffer (Linux gives every TCP or unix socket at least this much).
    static let inlineWriteLimit = 16 * 1024

    private init(configuration: RedisConfiguration, queue: DispatchQueue) {
        self.configuration = configuration
        self.queue = queue
        self.context = HiredisContext(configuration: configuration)
    }

    /// Opens a connection, authenticating and selecting the database as configured.
    ///
    /// - Throws: ``RedisError`` (`connectionRefused`, `timeout`, `authenticationFailed`, …).
    public static func connect(configuration: RedisConfiguration) async throws -> RedisConnection {
        let connection = RedisConnection(
            configuration: configuration,
            queue: DispatchQueue(label: "tokenledger.redis.connection")
        )
        try await connection.run { context in try context.connect() }
        return connection
    }

    /// Sets what the next holder may do inline (`nil`: nothing). Called by the pool between leases.
    func lend(inline lease: InlineLease?) {
        inline = lease
    }

    /// Runs a blocking operation on this connection's queue and awaits its result.
    private func run<T: Sendable>(_ operation: @escaping @Sendable (HiredisContext) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do {
                    continuation.resume(returning: try operation(self.context))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Sends one command and returns its reply.
    ///
    /// - Throws: ``RedisError``; an error reply is thrown as a ``RedisError/Code/server`` error keeping Redis's code.
    public func send(_ command: RedisCommand) async throws -> RedisReply {
        try await pipeline([command])[0].throwingError()
    }

    /// Sends many commands in one write and reads all their replies (pipelining).
    ///
    /// - Returns: One reply per command, in order. A command that failed on the server has an
    ///   ``RedisReply/error(_:)`` in its slot; the others are unaffected.
    /// - Throws: ``RedisError`` when the transport fails (the connection then reconnects on next use).
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        if commands.isEmpty { return [] }
        // Decided per call: a long lease that began alone stops waiting inline once others arrive.
        if let inline, Self.holders.load(ordering: .relaxed) == 1, context.isConnected,
            commands.reduce(0, { $0 + $1.wireArguments.count }) <= Self.inlineWriteLimit, !context.isStale()
        {
            return RedisReply.naming(try await pipelineInline(commands, lease: inline), after: commands)
        }
        let replies = try await run { context in
            if context.isConnected && context.isStale() { context.close() }
            return try context.execute(commands)
        }
        return RedisReply.naming(replies, after: commands)
    }

    /// Writes on the caller's thread and reads the replies that arrive within the lease's budget;
    /// the queue reads the rest.
    private func pipelineInline(_ commands: [RedisCommand], lease: InlineLease) async throws -> [RedisReply] {
        try context.write(commands)
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        let deadline = ContinuousClock.now + lease.replyWait
        while replies.count < commands.count,
            let reply = try context.nextReply(waitingUpTo: deadline - ContinuousClock.now)
        {
            replies.append(reply)
        }
        if replies.count == commands.count {
            lease.counters.answered.increment()
            return replies
        }
        lease.counters.handedOver.increment()
        let received = replies
        return try await run { context in
            var all = received
            while all.count < commands.count { all.append(try context.readReply()) }
            return all
        }
    }

    /// Closes the socket. The connection reconnects if it is used again.
    public func close() async {
        _ = try? await run { context in context.close() }
    }
}
