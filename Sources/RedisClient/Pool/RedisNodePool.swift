import CoreMetrics
import Logging
import Synchronization

/// A bounded pool of connections to one Redis node: what ``RedisConnectionPool`` uses for a
/// standalone server, and one per node of a Redis Cluster (see ``RedisConnectionPool`` for the
/// behaviour, threading, lifecycle and metrics, which are this type's).
final class RedisNodePool: Sendable {
    typealias Options = RedisConnectionPool.Options

    private enum Lease: Sendable {
        case connection(RedisConnection)
        case openSlot
    }

    private typealias Waiter = CheckedContinuation<Lease, any Error>

    private struct State {
        var idle: [RedisConnection] = []
        var open = 0
        var waiters: [UInt64: Waiter] = [:]
        var waitOrder: [UInt64] = []
        /// Waiters whose timeout fired before they were queued (the timer races the queueing): they
        /// fail with `poolTimeout` as they queue, instead of waiting without a timeout.
        var expired: Set<UInt64> = []
        var nextWaiterID: UInt64 = 0
        var closed = false

        mutating func popFirstWaiter() -> Waiter? {
            while !waitOrder.isEmpty {
                let id = waitOrder.removeFirst()
                if let waiter = waiters.removeValue(forKey: id) { return waiter }
            }
            return nil
        }
    }

    /// Where and how to connect.
    let configuration: RedisConfiguration
    /// Sizing and waiting.
    let options: Options
    private let logger: Logger
    private let state = Mutex(State())
    /// Calls answered inline and handed over (see ``Options/inlineReplyWait``).
    private let inlineCounters: RedisConnection.InlineCounters
    private let gauges: (open: Gauge, idle: Gauge, waiting: Gauge)
    private let roundTrip: Timer
    private let poolWait: Timer

    /// Creates a pool. No connection is opened until one is needed.
    ///
    /// - Parameters:
    ///   - configuration: Where and how to connect.
    ///   - options: Sizing and waiting.
    ///   - logger: Receives debug-level pool events; by default nothing is logged.
    ///   - metrics: Where the pool's timers, gauges and counters go (default: the process's
    ///     bootstrapped `MetricsSystem`).
    ///   - dimensions: Added to every metric (a cluster node's `node`); none for a standalone server.
    init(
        configuration: RedisConfiguration,
        options: Options,
        logger: Logger,
        metrics: any MetricsFactory,
        dimensions: [(String, String)] = []
    ) {
        self.configuration = configuration
        self.options = options
        self.logger = logger
        self.gauges = (
            open: Gauge(
                label: "tokenledger_redis_pool_connections", dimensions: [("state", "open")] + dimensions,
                factory: metrics),
            idle: Gauge(
                label: "tokenledger_redis_pool_connections", dimensions: [("state", "idle")] + dimensions,
                factory: metrics),
            waiting: Gauge(label: "tokenledger_redis_pool_waiting", dimensions: dimensions, factory: metrics)
        )
        self.roundTrip = Timer(
            label: "tokenledger_redis_round_trip_seconds", dimensions: [("path", "pool")] + dimensions,
            factory: metrics)
        self.poolWait = Timer(label: "tokenledger_redis_pool_wait_seconds", dimensions: dimensions, factory: metrics)
        self.inlineCounters = RedisConnection.InlineCounters(metrics: metrics, dimensions: dimensions)
    }

    /// Changes the pool's state and records its gauges from the new state, under the same lock,
    /// so the gauges' last values are always the pool's state (two updates cannot record out of order).
    private func update<R>(_ body: (inout State) -> R) -> R {
        state.withLock { s in
            let result = body(&s)
            gauges.open.record(s.open)
            gauges.idle.record(s.idle.count)
            gauges.waiting.record(s.waiters.count)
            return result
        }
    }

    /// Leases a connection for the duration of `body`, then returns it to the pool.
    /// `allowInline: false` keeps the holder off the inline path (the mode probe: not a caller's call).
    ///
    /// - Throws: ``RedisError`` (`poolTimeout`, `poolClosed`, connection errors) or whatever `body` throws.
    func withConnection<T>(
        allowInline: Bool = true, _ body: (RedisConnection) async throws -> T
    ) async throws -> T {
        let connection = try await acquire()
        RedisConnection.holders.add(1, ordering: .relaxed)
        let leased = ContinuousClock.now
        defer {
            roundTrip.recordInterval(since: leased)
            RedisConnection.holders.subtract(1, ordering: .relaxed)
        }
        connection.lend(
            inline: allowInline && options.inlineReplyWait > .zero
                ? RedisConnection.InlineLease(replyWait: options.inlineReplyWait, counters: inlineCounters) : nil)
        do {
            let result = try await body(connection)
            await release(connection)
            return result
        } catch {
            await release(connection)
            throw error
        }
    }

    /// Sends one command on a pooled connection.
    ///
    /// - Throws: ``RedisError``; error replies are thrown keeping Redis's code.
    func send(_ command: RedisCommand) async throws -> RedisReply {
        try await withConnection { try await $0.send(command) }
    }

    /// Sends a pipeline on one pooled connection; one reply (or error reply) per command, in order.
    func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        try await withConnection { try await $0.pipeline(commands) }
    }

    /// Runs a script with `EVALSHA` on a pooled connection, loading it on `NOSCRIPT`.
    func evaluate(
        _ script: RedisScript, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]
    ) async throws -> RedisReply {
        try await withConnection { try await $0.evaluate(script, keys: keys, arguments: arguments) }
    }

    /// Runs calls of possibly different scripts in one pipeline on a pooled connection
    /// (see ``RedisConnection/evaluateMany(_:)``).
    func evaluateMany(_ calls: [RedisScriptCall]) async throws -> [RedisReply] {
        try await withConnection { try await $0.evaluateMany(calls) }
    }

    /// Closes the pool: waiting tasks fail with ``RedisError/Code/poolClosed``, idle connections close,
    /// leased ones close when returned. Safe to call more than once.
    func close() async {
        let (idle, waiters) = update { s -> ([RedisConnection], [Waiter]) in
            s.closed = true
            let idle = s.idle
            s.open -= idle.count
            s.idle = []
            let waiters = Array(s.waiters.values)
            s.waiters = [:]
            s.waitOrder = []
            return (idle, waiters)
        }
        for waiter in waiters { waiter.resume(throwing: RedisError.poolClosed) }
        for connection in idle { await connection.close() }
    }

    private enum Decision {
        case use(RedisConnection)
        case open
        case wait
        case closed
    }

    private func acquire() async throws -> RedisConnection {
        let decision = update { s -> Decision in
            if s.closed { return .closed }
            if let connection = s.idle.popLast() { return .use(connection) }
            if s.open < options.maximumConnections {
                s.open += 1
                return .open
            }
            return .wait
        }
        switch decision {
        case .closed:
            throw RedisError.poolClosed
        case .use(let connection):
            return connection
        case .open:
            return try await openConnection()
        case .wait:
            let waitStart = ContinuousClock.now
            defer { poolWait.recordInterval(since: waitStart) }
            switch try await waitForLease() {
            case .connection(let connection): return connection
            case .openSlot: return try await openConnection()
            }
        }
    }

    /// Opens a connection in a slot already counted in `open`; gives the slot back on failure.
    private func openConnection() async throws -> RedisConnection {
        do {
            let connection = try await RedisConnection.connect(configuration: configuration)
            logger.debug("redis connection opened", metadata: ["redis.endpoint": "\(configuration.endpoint)"])
            return connection
        } catch {
            // The slot is free again: hand it to the next waiter, who will try to open in turn.
            let waiter = update { s -> Waiter? in
                if let waiter = s.popFirstWaiter() { return waiter }
                s.open -= 1
                return nil
            }
            waiter?.resume(returning: .openSlot)
            throw error
        }
    }

    /// Waits in line for a connection or an open slot, for at most ``Options/waitTimeout``.
    ///
    /// The timeout is a child task racing the wait: whichever way the wait ends (a lease, the
    /// timeout, the caller's cancellation, ``close()``), the timer is cancelled and awaited before
    /// this returns, so no task outlives the wait.
    private func waitForLease() async throws -> Lease {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiterID += 1
            return s.nextWaiterID
        }
        let timeout = options.waitTimeout
        // After the group has awaited the timer: forget a mark it left after the wait had ended.
        defer { update { s in _ = s.expired.remove(id) } }
        return try await withThrowingTaskGroup(of: Void.self, returning: Lease.self) { group in
            group.addTask {
                do {
                    // At most a year: Task.sleep traps on a deadline past Int64.max seconds.
                    try await Task.sleep(for: min(timeout, .seconds(31_536_000)))
                } catch {
                    return  // the wait ended first
                }
                self.expireWaiter(id, after: timeout)
            }
            defer { group.cancelAll() }
            return try await waitInLine(id, timeout: timeout)
        }
    }

    /// Queues the caller as waiter `id` until a lease comes, ``failWaiter(_:with:)`` fails it or the
    /// task is cancelled.
    private func waitInLine(_ id: UInt64, timeout: Duration) async throws -> Lease {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                let outcome = update { s -> Result<Lease, any Error>? in
                    if s.closed { return .failure(RedisError.poolClosed) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if s.expired.remove(id) != nil { return .failure(RedisError.poolTimeout(after: timeout)) }
                    // A connection may have come back between the first look and now.
                    if let connection = s.idle.popLast() { return .success(.connection(connection)) }
                    if s.open < options.maximumConnections {
                        s.open += 1
                        return .success(.openSlot)
                    }
                    s.waiters[id] = continuation
                    s.waitOrder.append(id)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            failWaiter(id, with: CancellationError())
        }
    }

    /// The timer of waiter `id` fired: fail it with `poolTimeout`, or, when it is not queued yet,
    /// mark it so that it fails as it queues.
    private func expireWaiter(_ id: UInt64, after timeout: Duration) {
        let waiter = update { s -> Waiter? in
            if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
            s.expired.insert(id)
            return nil
        }
        waiter?.resume(throwing: RedisError.poolTimeout(after: timeout))
    }

    private func failWaiter(_ id: UInt64, with error: any Error) {
        let waiter = update { s in s.waiters.removeValue(forKey: id) }
        waiter?.resume(throwing: error)
    }

    /// Hands the connection to the next waiter, or back to the idle list; after ``close()`` it
    /// closes the connection before returning (awaited here, so nothing outlives the lease).
    private func release(_ connection: RedisConnection) async {
        let (waiter, closeIt) = update { s -> (Waiter?, Bool) in
            if s.closed {
                s.open -= 1
                return (nil, true)
            }
            if let waiter = s.popFirstWaiter() { return (waiter, false) }
            s.idle.append(connection)
            return (nil, false)
        }
        if let waiter {
            waiter.resume(returning: .connection(connection))
        } else if closeIt {
            await connection.close()
        }
    }
}

extension RedisError {
    static let poolClosed = RedisError(code: .poolClosed, message: "the Redis connection pool is closed")

    static func poolTimeout(after timeout: Duration) -> RedisError {
        RedisError(code: .poolTimeout, message: "no Redis connection became free within \(timeout)")
    }
}
