import CoreMetrics
import Foundation
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

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
///
/// ### Lifecycle
/// A swift-service-lifecycle `Service`: ``run()`` returns once the lanes have stopped, which a
/// graceful shutdown, the task's cancellation or ``shutdown()`` asks for. The lanes start with the
/// client, so a client used without ``run()`` works too; its owner then calls ``shutdown()``
/// (and may await ``waitUntilStopped()``). `deinit` stops the lanes of a client nobody shut down,
/// as a last resort.
///
/// ### Metrics
/// The client's only statistics (to read them in-process, pass an ``InProcessMetrics`` as `metrics`):
///
/// | metric | kind | dimensions |
/// |---|---|---|
/// | `tokenledger_redis_round_trip_seconds` | timer | `path`: `pipeline` (one batch's write and replies) |
/// | `tokenledger_redis_pipeline_batches_total` | counter | — (pipelines sent) |
/// | `tokenledger_redis_pipeline_commands_total` | counter | — (commands those pipelines carried) |
public final class RedisPipelineClient: Service, Sendable {
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

    /// Builds a group's commands on the lane thread, just before sending; `nil` drops the group
    /// (the builder then owns telling its caller what happened).
    public typealias Builder = @Sendable () -> [RedisCommand]?

    struct Group {
        var commands: [RedisCommand]
        var builder: Builder?
        var deadline: ContinuousClock.Instant
        /// Replica acknowledgement asked for: the batch ends with one `WAIT`, whose count is
        /// appended to this group's replies (see `RedisPipelineClient+Wait.swift`).
        var wait: RedisReplicaWait? = nil
        var completion: Completion
        /// When it was queued: a group that expires in the queue says how long it waited.
        var queuedAt = ContinuousClock.now
    }

    final class Queue: @unchecked Sendable {
        // @unchecked Sendable: every field but `pending` is guarded by `condition`'s lock; `pending`
        // is atomic.
        let condition = NSCondition()
        /// Groups queued and not yet taken, readable without the lock (lanes spin on it briefly).
        let pending = Atomic<Int>(0)
        var groups = ChunkedQueue<Group>()
        var running = true
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        /// Lanes whose thread has not returned yet, and who waits for them all to return.
        var lanesRunning = 0
        /// Set by a graceful stop: lanes send what is queued before they return.
        var finishQueued = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        /// When a lane last took groups from the queue (`nil`: never): a group that expires in the
        /// queue says whether the lanes were busy or not taking anything.
        var lastTaken: ContinuousClock.Instant?

        var count: Int { groups.count }
    }

    /// Where and how to connect.
    public let configuration: RedisConfiguration
    /// Lanes, batch sizes and the queue bound.
    public let options: Options
    private let queue = Queue()

    /// Starts the lanes (connections open lazily, on each lane's first batch).
    ///
    /// - Parameter metrics: Where the round-trip timer and the batch counters go (default: the
    ///   process's bootstrapped `MetricsSystem`).
    public init(
        configuration: RedisConfiguration, options: Options = Options(),
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.configuration = configuration
        self.options = options
        let meters = LaneMetrics(
            roundTrip: CoreMetrics.Timer(
                label: "tokenledger_redis_round_trip_seconds", dimensions: [("path", "pipeline")], factory: metrics),
            batches: CoreMetrics.Counter(label: "tokenledger_redis_pipeline_batches_total", factory: metrics),
            commands: CoreMetrics.Counter(label: "tokenledger_redis_pipeline_commands_total", factory: metrics))
        queue.lanesRunning = options.connections
        // Lane threads end by themselves once `running` is false (see `shutdown()`).
        for index in 0..<options.connections {
            let thread = Thread { [queue, configuration, options] in
                RedisPipelineClient.runLane(
                    queue: queue, configuration: configuration, options: options, meters: meters)
            }
            thread.name = "tokenledger.redis.pipeline.\(index)"
            thread.start()
        }
    }

    deinit {
        stopLanes()
    }

    /// Runs until a graceful shutdown, the task's cancellation or ``shutdown()``; then stops the
    /// lanes (queued groups fail with ``RedisError/Code/poolClosed``) and returns once every lane
    /// thread has returned.
    public func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await waitUntilStopped()
        } onCancelOrGracefulShutdown: {
            self.shutdown(finishingQueued: true)
        }
    }

    /// Returns once ``shutdown()`` (or ``run()``'s end) has stopped the lanes and every lane thread
    /// has returned: no completion runs after that.
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let stopped: Bool = queue.condition.withLock {
                if queue.lanesRunning == 0 { return true }
                queue.stopWaiters.append(continuation)
                return false
            }
            if stopped { continuation.resume() }
        }
    }

    /// Queues a group if there is room, without waiting; returns false when the queue is full.
    /// `completion` runs later on a lane thread (at once with `poolClosed` after ``shutdown()``).
    public func tryEnqueue(
        _ commands: [RedisCommand], deadline: ContinuousClock.Instant, completion: @escaping Completion
    ) -> Bool {
        tryEnqueue(Group(commands: commands, builder: nil, deadline: deadline, completion: completion))
    }

    /// Queues a group whose commands `build` makes on the lane thread, waiting for room when the
    /// queue is full. This keeps the caller's share of the work to a lock and an append.
    ///
    /// Such groups are for callers that do not wait for the result, so they do not wake a sleeping
    /// lane (a wake-up can cost the caller its time slice): an idle lane collects them within
    /// ``idleCheckInterval``. A backlog of ``wakeBacklog`` groups wakes a lane at once.
    public func enqueue(deadline: ContinuousClock.Instant, build: @escaping Builder, completion: @escaping Completion)
        async
    {
        let group = Group(commands: [], builder: build, deadline: deadline, completion: completion)
        while !tryEnqueue(group, wake: false) { await waitForRoom() }
    }

    /// How often an idle lane looks for groups queued without a wake-up.
    public static let idleCheckInterval: Duration = .milliseconds(1)
    /// Groups queued without a wake-up after which a lane is woken anyway.
    public static let wakeBacklog = 256

    func tryEnqueue(_ group: Group, wake: Bool = true) -> Bool {
        let completion = group.completion
        enum Outcome { case queued, full, closed }
        let outcome: Outcome = queue.condition.withLock {
            guard queue.running else { return .closed }
            guard queue.count < options.maximumQueuedGroups else { return .full }
            queue.groups.append(group)
            let pending = queue.pending.add(1, ordering: .releasing).newValue
            if wake || pending >= Self.wakeBacklog { queue.condition.signal() }
            return .queued
        }
        switch outcome {
        case .queued: return true
        case .full: return false
        case .closed:
            completion(.failure(RedisError(code: .poolClosed, message: "the pipeline client is shut down")))
            return true
        }
    }

    /// Queues a group, waiting for room when the queue is full, and returns once it is queued.
    /// `completion` runs later on a lane thread.
    public func enqueue(_ commands: [RedisCommand], deadline: ContinuousClock.Instant, completion: @escaping Completion)
        async
    {
        while !tryEnqueue(commands, deadline: deadline, completion: completion) { await waitForRoom() }
    }

    func waitForRoom() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = queue.condition.withLock {
                if queue.count < options.maximumQueuedGroups || !queue.running { return true }
                queue.spaceWaiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Sends a group through the shared pipeline and awaits its replies.
    ///
    /// - Throws: ``RedisError`` when the group's deadline passed before it was sent, or the
    ///   transport failed.
    public func send(_ commands: [RedisCommand], deadline: ContinuousClock.Instant) async throws -> [RedisReply] {
        while true {
            // `nil`: the queue was full and the group was not queued (its completion never runs).
            let replies = try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<[RedisReply]?, any Error>) in
                let completion: Completion = { result in continuation.resume(with: result.map { $0 }.mapError { $0 }) }
                if !tryEnqueue(commands, deadline: deadline, completion: completion) {
                    continuation.resume(returning: nil)
                }
            }
            if let replies { return replies }
            await waitForRoom()  // rare: back-pressure
        }
    }

    /// Stops the lanes after the batch each is sending; new groups fail with `poolClosed`.
    ///
    /// - Parameter finishingQueued: Whether the lanes first send the groups queued now (a graceful
    ///   stop; each still bound by its deadline). Default false: queued groups fail with `poolClosed`.
    public func shutdown(finishingQueued: Bool = false) {
        stopLanes(finishingQueued: finishingQueued)
    }

    private func stopLanes(finishingQueued: Bool = false) {
        let (left, waiters): ([Group], [CheckedContinuation<Void, Never>]) = queue.condition.withLock {
            let draining = queue.running && finishingQueued
            queue.running = false
            if draining { queue.finishQueued = true }
            let left = queue.finishQueued ? [] : queue.groups.removeAll()
            if !queue.finishQueued { queue.pending.store(0, ordering: .relaxed) }
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

    /// What the lanes measure (see the type's metrics).
    struct LaneMetrics: Sendable {
        let roundTrip: CoreMetrics.Timer
        let batches: CoreMetrics.Counter
        let commands: CoreMetrics.Counter
    }

    /// One lane: take queued groups, send them as one pipeline, hand out the replies.
    private static func runLane(
        queue: Queue, configuration: RedisConfiguration, options: Options, meters: LaneMetrics
    ) {
        // Batch scheduling: a lane woken by a caller's signal does not preempt that caller (or the
        // caller's other work) on its core; it runs when the caller's slice ends.
        var parameters = sched_param()
        let schedBatch: Int32 = 3  // SCHED_BATCH on Linux (glibc hides the name behind _GNU_SOURCE)
        _ = pthread_setschedparam(pthread_self(), schedBatch, &parameters)
        let context = HiredisContext(configuration: configuration)
        var batch: [Group] = []
        var commands: [RedisCommand] = []
        while true {
            batch.removeAll(keepingCapacity: true)
            commands.removeAll(keepingCapacity: true)
            var waiters: [CheckedContinuation<Void, Never>] = []
            // Right after a batch, a caller often queues its next group within microseconds: look
            // for it briefly before sleeping on the condition (a sleep and a wake cost more).
            let spinUntil = ContinuousClock.now + .microseconds(40)
            var spins = 0
            while queue.pending.load(ordering: .acquiring) == 0 {
                spins += 1
                // Reading the clock costs far more than checking the counter (profiles showed the
                // clock at ~5 % of a loaded client): look at it every few microseconds.
                if spins & 4095 == 0 && ContinuousClock.now >= spinUntil { break }
            }
            queue.condition.lock()
            while queue.running && queue.count == 0 {
                _ = queue.condition.wait(until: Date(timeIntervalSinceNow: 0.001))
            }
            if !queue.running && (queue.count == 0 || !queue.finishQueued) {
                queue.lanesRunning -= 1
                let stopWaiters = queue.lanesRunning == 0 ? queue.stopWaiters : []
                if queue.lanesRunning == 0 { queue.stopWaiters = [] }
                queue.condition.unlock()
                context.close()
                for waiter in stopWaiters { waiter.resume() }
                return
            }
            let now = ContinuousClock.now
            let lastTaken = queue.lastTaken
            queue.lastTaken = now
            var expired: [Group] = []
            var taken = 0
            while taken < options.maximumBatchCommands, let group = queue.groups.popFirst() {
                queue.pending.subtract(1, ordering: .relaxed)
                if group.deadline < now {
                    expired.append(group)
                } else {
                    batch.append(group)
                    taken += max(1, group.commands.count)
                }
            }
            if !queue.spaceWaiters.isEmpty {
                waiters = queue.spaceWaiters
                queue.spaceWaiters = []
            }
            queue.condition.unlock()
            for waiter in waiters { waiter.resume() }
            for group in expired {
                // How long it waited, and when a lane last took anything before now: a stuck or
                // unscheduled lane shows as a long gap, a busy one as a recent take.
                let taken =
                    lastTaken.map { "a lane last took groups \(now - $0) before" } ?? "no lane had taken any yet"
                group.completion(
                    .failure(
                        RedisError(
                            code: .timeout,
                            message:
                                "the command waited past its deadline in the pipeline queue (queued \(now - group.queuedAt) ago; \(taken))"
                        )))
            }
            // Deferred groups build their commands here, on the lane, outside the lock.
            var index = 0
            var wait: RedisReplicaWait?
            while index < batch.count {
                if let builder = batch[index].builder {
                    guard let built = builder() else {
                        batch.remove(at: index)
                        continue
                    }
                    batch[index].commands = built
                    batch[index].builder = nil
                }
                commands.append(contentsOf: batch[index].commands)
                if let asked = batch[index].wait { wait = Self.widest(wait, asked) }
                index += 1
            }
            guard !batch.isEmpty else { continue }
            // One WAIT for the whole batch (it blocks up to its timeout), after every write in it.
            if let wait { commands.append(WAIT(wait).command) }
            meters.batches.increment()
            meters.commands.increment(by: commands.count)
            do {
                if context.isConnected && context.isStale() { context.close() }
                let sent = ContinuousClock.now
                let replies = RedisReply.naming(try context.execute(commands), after: commands)
                meters.roundTrip.recordInterval(since: sent)
                var offset = 0
                for group in batch {
                    var slice = Array(replies[offset..<(offset + group.commands.count)])
                    offset += group.commands.count
                    if group.wait != nil { slice.append(Self.acknowledgement(of: slice, wait: replies.last)) }
                    group.completion(.success(slice))
                }
            } catch {
                for group in batch { group.completion(.failure(error)) }
            }
        }
    }
}
