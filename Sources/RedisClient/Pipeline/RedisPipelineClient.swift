import Foundation

/// Coalesces commands submitted concurrently into pipelines, over a few connections that are each
/// driven by a thread of their own.
///
/// Callers submit *groups* of commands (sent together, in order, in one pipeline). Lanes take
/// whatever groups are queued when they become free, up to ``Options/maximumBatchCommands``, and
/// send them in one write: under load, batches grow by themselves; when idle, a group goes out at
/// once. A group carries a deadline; one still queued when its deadline passes fails with
/// ``RedisError/Code/timeout`` instead of being sent. The queue is bounded: ``enqueue(_:deadline:completion:)``
/// waits for room (back-pressure).
///
/// ### Threading
/// `Sendable`. Each lane owns one hiredis context on a dedicated `Thread`; completions run on that
/// thread and must be quick (hand work elsewhere). ``shutdown()`` stops the lanes; groups still
/// queued then fail with ``RedisError/Code/poolClosed``.
public final class RedisPipelineClient: Sendable {
    /// Lanes, batch sizes and the queue bound.
    public struct Options: Sendable, Hashable {
        /// Connections, each with its own thread. Default 2.
        public var connections: Int
        /// The most commands one pipeline carries. Default 1,024.
        public var maximumBatchCommands: Int
        /// The most groups waiting; further submitters wait for room. Default 65,536.
        public var maximumQueuedGroups: Int

        /// Creates options; values are clamped to at least 1.
        public init(connections: Int = 2, maximumBatchCommands: Int = 1024, maximumQueuedGroups: Int = 65_536) {
            self.connections = max(1, connections)
            self.maximumBatchCommands = max(1, maximumBatchCommands)
            self.maximumQueuedGroups = max(1, maximumQueuedGroups)
        }
    }

    /// What a group's completion receives: one reply per command (error replies in their slots),
    /// or the transport failure that stopped the whole pipeline.
    public typealias Completion = @Sendable (Result<[RedisReply], RedisError>) -> Void

    struct Group {
        var commands: [RedisCommand]
        var deadline: ContinuousClock.Instant
        var completion: Completion
    }

    final class Queue: @unchecked Sendable {
        // @unchecked Sendable: every field is guarded by `condition`'s lock.
        let condition = NSCondition()
        var groups: [Group] = []
        var head = 0
        var running = true
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var batchesSent = 0
        var commandsSent = 0

        var count: Int { groups.count - head }
    }

    /// Where and how to connect.
    public let configuration: RedisConfiguration
    /// Lanes, batch sizes and the queue bound.
    public let options: Options
    private let queue = Queue()

    /// Starts the lanes (connections open lazily, on each lane's first batch).
    public init(configuration: RedisConfiguration, options: Options = Options()) {
        self.configuration = configuration
        self.options = options
        // Lane threads end by themselves once `running` is false (see `shutdown()`).
        for index in 0..<options.connections {
            let thread = Thread { [queue, configuration, options] in
                RedisPipelineClient.runLane(queue: queue, configuration: configuration, options: options)
            }
            thread.name = "tokenledger.redis.pipeline.\(index)"
            thread.start()
        }
    }

    deinit {
        stopLanes()
    }

    /// Batches sent so far and the commands they carried (for diagnostics and benchmarks).
    public var statistics: (batches: Int, commands: Int) {
        queue.condition.withLock { (queue.batchesSent, queue.commandsSent) }
    }

    /// Queues a group, waiting for room when the queue is full, and returns once it is queued.
    /// `completion` runs later on a lane thread.
    public func enqueue(_ commands: [RedisCommand], deadline: ContinuousClock.Instant, completion: @escaping Completion) async {
        while true {
            let queued: Bool = queue.condition.withLock {
                guard queue.running else { return true }
                guard queue.count < options.maximumQueuedGroups else { return false }
                queue.groups.append(Group(commands: commands, deadline: deadline, completion: completion))
                queue.condition.signal()
                return true
            }
            if queued {
                if !queue.condition.withLock({ queue.running }) {
                    completion(.failure(RedisError(code: .poolClosed, message: "the pipeline client is shut down")))
                }
                return
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = queue.condition.withLock {
                    if queue.count < options.maximumQueuedGroups || !queue.running { return true }
                    queue.spaceWaiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Sends a group through the shared pipeline and awaits its replies.
    ///
    /// - Throws: ``RedisError`` when the group's deadline passed before it was sent, or the
    ///   transport failed.
    public func send(_ commands: [RedisCommand], deadline: ContinuousClock.Instant) async throws -> [RedisReply] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[RedisReply], any Error>) in
            Task {
                await enqueue(commands, deadline: deadline) { result in continuation.resume(with: result.mapError { $0 }) }
            }
        }
    }

    /// Stops the lanes after the batch each is sending; queued groups fail with `poolClosed`.
    public func shutdown() {
        stopLanes()
    }

    private func stopLanes() {
        let (left, waiters): ([Group], [CheckedContinuation<Void, Never>]) = queue.condition.withLock {
            queue.running = false
            let left = Array(queue.groups[queue.head...])
            queue.groups = []
            queue.head = 0
            let waiters = queue.spaceWaiters
            queue.spaceWaiters = []
            queue.condition.broadcast()
            return (left, waiters)
        }
        for group in left {
            group.completion(.failure(RedisError(code: .poolClosed, message: "the pipeline client is shut down")))
        }
        for waiter in waiters { waiter.resume() }
    }

    /// One lane: take queued groups, send them as one pipeline, hand out the replies.
    private static func runLane(
        queue: Queue, configuration: RedisConfiguration, options: Options
    ) {
        let context = HiredisContext(configuration: configuration)
        var batch: [Group] = []
        var commands: [RedisCommand] = []
        while true {
            batch.removeAll(keepingCapacity: true)
            commands.removeAll(keepingCapacity: true)
            var waiters: [CheckedContinuation<Void, Never>] = []
            queue.condition.lock()
            while queue.running && queue.count == 0 { queue.condition.wait() }
            if !queue.running {
                queue.condition.unlock()
                context.close()
                return
            }
            let now = ContinuousClock.now
            var expired: [Group] = []
            while queue.count > 0 && commands.count < options.maximumBatchCommands {
                let group = queue.groups[queue.head]
                queue.head += 1
                if group.deadline < now {
                    expired.append(group)
                } else {
                    batch.append(group)
                    commands.append(contentsOf: group.commands)
                }
            }
            if queue.head > 4096 && queue.head * 2 > queue.groups.count {
                queue.groups.removeFirst(queue.head)
                queue.head = 0
            }
            if !batch.isEmpty {
                queue.batchesSent += 1
                queue.commandsSent += commands.count
            }
            if !queue.spaceWaiters.isEmpty {
                waiters = queue.spaceWaiters
                queue.spaceWaiters = []
            }
            queue.condition.unlock()
            for waiter in waiters { waiter.resume() }
            for group in expired {
                group.completion(
                    .failure(RedisError(code: .timeout, message: "the command waited past its deadline in the pipeline queue")))
            }
            guard !batch.isEmpty else { continue }
            do {
                if context.isConnected && context.isStale() { context.close() }
                let replies = try context.execute(commands)
                var offset = 0
                for group in batch {
                    let slice = Array(replies[offset..<(offset + group.commands.count)])
                    offset += group.commands.count
                    group.completion(.success(slice))
                }
            } catch {
                for group in batch { group.completion(.failure(error)) }
            }
        }
    }
}
