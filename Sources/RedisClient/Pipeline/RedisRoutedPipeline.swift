import CoreMetrics
import ServiceLifecycle
import Synchronization

/// Coalescing pipelines (``RedisPipelineClient``) that follow a ``RedisConnectionPool``'s mode: one
/// client against a standalone server, one client per master (with its own lanes) on a Redis
/// Cluster, each group sent to the master of its slot.
///
/// A *group* is sent in one pipeline, in order, on one connection, so all its commands must be in
/// one cluster slot: the caller names it (`slot`, ``HashSlot/slot(for:)-(String)`` of the group's
/// keys, e.g. one user's hash-tagged keys). A command of another slot would get `MOVED` from that
/// node and be finished through the pool (see below), at the cost of a round trip.
///
/// ### Standalone or cluster
/// The pool's mode decides (``RedisConnectionPool/resolvedMode``; in
/// ``RedisConfiguration/Mode/auto`` the first routed group asks the server once, through the pool).
/// Standalone: exactly one ``RedisPipelineClient`` on the pool's configuration, and each call goes
/// straight to it (a stored property and the pool's mode, one atomic load). Cluster: one client per
/// master endpoint, made on first use from the pool's slot map (the pool's configuration with that
/// endpoint, in standalone mode); when the map changes, the clients of endpoints that are no
/// longer masters are shut down gracefully (what they have queued is still sent, and follows the
/// redirections below), and the slot's groups go to its new master's client.
///
/// ### Redirections
/// A group whose replies include `MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN` or `LOADING` (a command
/// the node did not run) is finished through the pool: just those commands are sent again, routed
/// by the pool (which follows `MOVED` and `ASK`, retries within its budget and refreshes its map),
/// and the merged replies reach the caller in the group's order. A command that got any other reply
/// is never sent again. After a `MOVED` the pool's refreshed map sends the slot's next groups to the
/// new owner. A lane that cannot reach its node fails the group as ``RedisPipelineClient`` does, and
/// marks the pool's map as worth reading again (once per map), so that after a failover the next
/// groups reach the promoted replica.
///
/// ### Threading
/// `Sendable`. A completion runs on a lane thread, or, for a group finished through the pool, on a
/// task of this pipeline; either way it must be quick.
///
/// ### Lifecycle
/// A swift-service-lifecycle `Service`: ``run()`` runs every node client's `run()` (also of clients
/// made later) as child tasks and returns once all have stopped and the groups being finished
/// through the pool are done. Like ``RedisPipelineClient`` it also works without ``run()``; its owner
/// then calls ``shutdown(finishingQueued:)`` and may await ``waitUntilStopped()``. Call ``run()`` at
/// most once.
///
/// ### Metrics
/// The node clients' metrics (see ``RedisPipelineClient``), with a `node` dimension (`host:port`) in
/// cluster mode, and:
///
/// | metric | kind | dimensions |
/// |---|---|---|
/// | `tokenledger_redis_pipeline_rerouted_commands_total` | counter | — (commands of groups finished through the pool after a redirection or a retryable reply) |
/// | `tokenledger_redis_pipeline_nodes` | gauge | — (masters with a client of their own, in cluster mode; recorded on every change) |
public final class RedisRoutedPipeline: Service, Sendable {
    /// The pool whose mode and slot map decide where groups go, and that finishes redirected groups.
    public let pool: RedisConnectionPool
    /// The options of every node's client.
    public let options: RedisPipelineClient.Options
    /// What the lanes connect with (credentials, timeouts): the pool's configuration unless given;
    /// a node's client takes it with the node's endpoint.
    public let laneConfiguration: RedisConfiguration
    let metrics: any MetricsFactory
    /// The client on the pool's configuration: `nil` when the pool is configured for a cluster.
    let seedClient: RedisPipelineClient?
    /// The pool never routes (its configuration says standalone): every call takes ``seedClient``.
    let alwaysStandalone: Bool
    let rerouted: Counter
    let nodes: Gauge
    let state = Mutex(State())
    let newClients: AsyncStream<RedisPipelineClient>
    let newClientsContinuation: AsyncStream<RedisPipelineClient>.Continuation

    struct State {
        /// The client of each master endpoint in use.
        var clients: [RedisConfiguration.Endpoint: RedisPipelineClient] = [:]
        /// Every client ever made, retired ones too: ``waitUntilStopped()`` waits for each.
        var every: [RedisPipelineClient] = []
        /// The generation of the pool's map that ``clients`` were last checked against.
        var generation: Int?
        /// The generation a lane failure already marked stale.
        var staleMarked: Int?
        /// ``seedClient`` was shut down because the pool turned out to be a cluster.
        var seedRetired = false
        var stopped = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        /// Groups being finished through the pool (or queued again), by id.
        var followUps: [Int: Task<Void, Never>] = [:]
        var nextFollowUp = 0
    }

    /// Creates the pipeline. Against a standalone (or `auto`) configuration the seed's client starts
    /// its lanes now; a cluster's node clients start on first use. Connections open lazily.
    ///
    /// - Parameters:
    ///   - pool: Decides the mode and the slot map, and finishes redirected groups.
    ///   - options: Lanes, batch sizes and the queue bound of every node's client.
    ///   - laneConfiguration: What the lanes connect with (e.g. shorter timeouts than the pool's);
    ///     default the pool's configuration. The seeds and the mode are always the pool's.
    ///   - metrics: Where the clients' timers and counters go (default: the process's bootstrapped
    ///     `MetricsSystem`).
    public init(
        pool: RedisConnectionPool, options: RedisPipelineClient.Options = .init(),
        laneConfiguration: RedisConfiguration? = nil, metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.pool = pool
        self.options = options
        self.laneConfiguration = laneConfiguration ?? pool.configuration
        self.metrics = metrics
        self.alwaysStandalone = pool.router == nil
        self.rerouted = Counter(label: "tokenledger_redis_pipeline_rerouted_commands_total", factory: metrics)
        self.nodes = Gauge(label: "tokenledger_redis_pipeline_nodes", factory: metrics)
        (newClients, newClientsContinuation) = AsyncStream.makeStream()
        if pool.configuration.mode == .cluster {
            seedClient = nil
        } else {
            let client = RedisPipelineClient(configuration: self.laneConfiguration, options: options, metrics: metrics)
            seedClient = client
            state.withLock { $0.every = [client] }
            newClientsContinuation.yield(client)
        }
    }

    /// The client to use without routing: the seed's, once the pool is known to be standalone.
    @inline(__always)
    var directClient: RedisPipelineClient? {
        if alwaysStandalone { return seedClient }
        return pool.resolvedMode == .standalone ? seedClient : nil
    }

    /// Whether groups are routed by their slot (a cluster, or a mode not known yet); `false` once
    /// the pool is known to be standalone, where the slot is ignored and a caller need not compute it.
    public var routesBySlot: Bool { directClient == nil }

    /// Sends a group through the pipeline of its slot's master and awaits its replies.
    ///
    /// - Parameters:
    ///   - commands: The group, sent in order in one pipeline; all its keys in `slot`.
    ///   - slot: The group's hash slot (`0..<16384`); ignored against a standalone server.
    ///   - deadline: A group still queued at its deadline fails with ``RedisError/Code/timeout``.
    /// - Returns: One reply per command (error replies in their places), redirections finished.
    /// - Throws: ``RedisError``: ``RedisError/Code/crossSlot`` for a slot out of range, the
    ///   transport's failure, a timeout, or ``RedisError/Code/poolClosed`` after a shutdown.
    public func send(_ commands: [RedisCommand], slot: Int, deadline: ContinuousClock.Instant) async throws
        -> [RedisReply]
    {
        guard Self.isSlot(slot) else { throw Self.badSlot(slot) }
        if let client = directClient { return try await client.send(commands, deadline: deadline) }
        return try await sendRouted(commands, slot: slot, deadline: deadline, wait: nil).replies
    }

    /// As ``send(_:slot:deadline:)``, and waits for replicas to acknowledge the group's writes (one
    /// `WAIT` per batch on the node, see ``RedisPipelineClient/send(_:deadline:wait:)``).
    ///
    /// - Returns: The replies, and how many replicas acknowledged the writes: 0 when a reply is an
    ///   error, or when only some of the group's commands had to be finished through the pool.
    /// - Throws: As ``send(_:slot:deadline:)``.
    public func send(
        _ commands: [RedisCommand], slot: Int, deadline: ContinuousClock.Instant, wait: RedisReplicaWait
    ) async throws -> (replies: [RedisReply], acknowledgedReplicas: Int) {
        guard Self.isSlot(slot) else { throw Self.badSlot(slot) }
        if let client = directClient { return try await client.send(commands, deadline: deadline, wait: wait) }
        return try await sendRouted(commands, slot: slot, deadline: deadline, wait: wait)
    }

    /// Queues a group whose commands `build` makes on the lane thread of its slot's master, waiting
    /// for room when that queue is full (see ``RedisPipelineClient/enqueue(deadline:build:completion:)``).
    ///
    /// - Parameters:
    ///   - slot: The group's hash slot (`0..<16384`); all the commands `build` makes must be in it.
    ///   - deadline: A group still queued at its deadline fails with ``RedisError/Code/timeout``.
    ///   - build: Makes the commands just before sending; `nil` drops the group.
    ///   - completion: Receives one reply per command, redirections finished, or the failure (at
    ///     once for a slot out of range, ``RedisError/Code/crossSlot``).
    public func enqueue(
        slot: Int, deadline: ContinuousClock.Instant, build: @escaping RedisPipelineClient.Builder,
        completion: @escaping RedisPipelineClient.Completion
    ) async {
        await enqueue(slot: slot, deadline: deadline, wait: nil, build: build, completion: completion)
    }

    /// As ``enqueue(slot:deadline:build:completion:)``, for a group whose writes must be
    /// acknowledged by replicas (`wait`; `nil`: not waited for). With a wait, the completion's
    /// replies end with one more, the acknowledged count as an integer (0 when a reply is an error,
    /// or when only some of the group's commands had to be finished through the pool); split it
    /// with ``RedisPipelineClient/splitAcknowledgement(_:)``.
    public func enqueue(
        slot: Int, deadline: ContinuousClock.Instant, wait: RedisReplicaWait?,
        build: @escaping RedisPipelineClient.Builder, completion: @escaping RedisPipelineClient.Completion
    ) async {
        guard Self.isSlot(slot) else { return completion(.failure(Self.badSlot(slot))) }
        if let client = directClient {
            return await client.enqueue(deadline: deadline, wait: wait, build: build, completion: completion)
        }
        await enqueueRouted(slot: slot, deadline: deadline, wait: wait, build: build, completion: completion)
    }

    /// Runs every node client's `run()` as a child task, also of clients made later, until a
    /// graceful shutdown, the task's cancellation or ``shutdown(finishingQueued:)``; then shuts
    /// everything down finishing what is queued, and returns once every client has stopped and the
    /// groups being finished through the pool are done.
    public func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for await client in newClients {
                    group.addTask { try? await client.run() }
                }
                await group.waitForAll()
            }
            await waitUntilStopped()
        } onCancelOrGracefulShutdown: {
            self.shutdown(finishingQueued: true)
        }
    }

    /// Stops every node's client (see ``RedisPipelineClient/shutdown(finishingQueued:)``); new
    /// groups then fail with ``RedisError/Code/poolClosed``.
    ///
    /// - Parameter finishingQueued: Whether the clients first send the groups queued now (each
    ///   still bound by its deadline). Default false: queued groups fail with `poolClosed`.
    public func shutdown(finishingQueued: Bool = false) {
        let (clients, waiters) = state.withLock { s in
            s.stopped = true
            let waiters = s.stopWaiters
            s.stopWaiters = []
            return (s.every, waiters)
        }
        newClientsContinuation.finish()
        for client in clients { client.shutdown(finishingQueued: finishingQueued) }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once ``shutdown(finishingQueued:)`` (or ``run()``'s end) has stopped every node's
    /// client and the groups being finished through the pool are done: no completion runs after that.
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let stopped = state.withLock { s in
                if !s.stopped { s.stopWaiters.append(continuation) }
                return s.stopped
            }
            if stopped { continuation.resume() }
        }
        // No client is made once stopped.
        for client in state.withLock({ $0.every }) { await client.waitUntilStopped() }
        while true {
            let followUps = state.withLock { Array($0.followUps.values) }
            if followUps.isEmpty { return }
            for followUp in followUps { await followUp.value }
        }
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    @inline(__always)
    static func isSlot(_ slot: Int) -> Bool { slot >= 0 && slot < HashSlot.count }

    static func badSlot(_ slot: Int) -> RedisError {
        RedisError(
            code: .crossSlot,
            message:
                "\(slot) is not a Redis Cluster hash slot (0...\(HashSlot.count - 1)); pass HashSlot.slot(for:) of the group's keys"
        )
    }
}
