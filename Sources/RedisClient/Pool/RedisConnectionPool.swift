import CoreMetrics
import Logging

/// A bounded pool of Redis connections, safe to use from many concurrent tasks; against a Redis
/// Cluster, a router that sends each command to the node serving its keys.
///
/// At most ``Options/maximumConnections`` connections are open at once (per node in a cluster). A
/// task that finds none free waits in line for up to ``Options/waitTimeout``, then fails with
/// ``RedisError/Code/poolTimeout``. Connections open lazily, reconnect by themselves after a server
/// restart, and are reused.
///
/// ### Standalone or cluster
/// ``RedisConfiguration/mode`` decides: ``RedisConfiguration/Mode/standalone`` uses the first seed
/// and never asks; ``RedisConfiguration/Mode/cluster`` reads the slot map (`CLUSTER SHARDS`, or
/// `CLUSTER SLOTS` on older servers) through any seed at first use; ``RedisConfiguration/Mode/auto``
/// (the default) sends one `INFO cluster` to the first reachable seed at first use (concurrent first
/// callers share it; a probe that fails is not remembered) and acts on `cluster_enabled`. A user
/// the server refuses `INFO` is taken as standalone: set the mode to `cluster` for such a user.
///
/// In a cluster every typed command goes to the master of its keys' slot (the keys of one command
/// must share a slot: ``RedisError/Code/crossSlot`` otherwise, before anything is sent), a keyless
/// one to the first master; pipelines and ``evaluateMany(_:)`` are split by node, sent concurrently,
/// and their replies returned in the caller's order. `MOVED` refreshes the map and resends just the
/// moved commands; `ASK` resends one command to the target after `ASKING`; `TRYAGAIN`,
/// `CLUSTERDOWN` and `LOADING` are retried with backoff within ``Options/clusterRetryBudget``. A
/// command that got any other reply is never sent again. An untyped ``RedisCommand`` goes to the
/// first master and follows `MOVED`.
///
/// ### Threading
/// `Sendable`: share one pool across the process. Blocking hiredis calls run on each connection's own
/// serial queue (see ``RedisConnection``), never on Swift's cooperative thread pool, unless
/// ``Options/inlineReplyWait`` lets a lone caller wait for its replies on its own thread.
///
/// ### Lifecycle
/// Nothing runs in the background, so the pool needs no `run()`: a waiter's timeout is a child task
/// of its wait, and a connection returned after ``close()`` is closed before its holder's call
/// returns. ``close()`` ends it.
///
/// ### Metrics
/// | metric | kind | dimensions |
/// |---|---|---|
/// | `tokenledger_redis_round_trip_seconds` | timer | `path`: `pool` (a leased connection's work) |
/// | `tokenledger_redis_pool_wait_seconds` | timer | — (waiting for a connection, when none was free) |
/// | `tokenledger_redis_pool_connections` | gauge | `state`: `open`, `idle` |
/// | `tokenledger_redis_pool_waiting` | gauge | — (tasks waiting for a connection) |
/// | `tokenledger_redis_inline_replies_total` | counter | `outcome`: `answered` (on the caller's thread), `handed_over` (see ``Options/inlineReplyWait``) |
/// | `tokenledger_redis_cluster_redirections_total` | counter | `kind`: `moved`, `ask` |
/// | `tokenledger_redis_cluster_retries_total` | counter | `code`: `TRYAGAIN`, `CLUSTERDOWN`, `LOADING` |
/// | `tokenledger_redis_cluster_topology_refreshes_total` | counter | `outcome`: `ok`, `failed` |
/// | `tokenledger_redis_cluster_nodes` | gauge | — (nodes in the current slot map) |
///
/// In cluster mode the first five carry a `node` dimension (`host:port`), one pool per node.
/// The gauges are recorded on every change of the pool's state. These metrics are the pool's only
/// statistics: to read them in-process, pass an ``InProcessMetrics`` as `metrics`.
public final class RedisConnectionPool: Sendable {
    /// Pool sizing, waiting and cluster retries.
    public struct Options: Sendable, Hashable {
        /// The most connections open at once (per node in a cluster). Default 8.
        public var maximumConnections: Int
        /// How long a task waits for a free connection before failing. Default 5 seconds.
        public var waitTimeout: Duration
        /// How long a lone caller may wait for its replies on its own thread before the wait moves to
        /// the connection's queue. Default `.zero`: never; every call runs on the connection's queue.
        /// A caller is alone while no other task of the process holds a pooled connection (of any pool).
        ///
        /// An opt-in exception to "hiredis never runs on Swift's cooperative pool", for processes
        /// where one caller's latency matters most (a CLI, a benchmark): a round trip through the
        /// queue costs two thread hand-offs, ~20 µs of a ~70 µs round trip on a small VM. The
        /// waiting thread is a cooperative one, held for up to this budget per call, so leave it off
        /// where the cooperative pool runs other work (a server) or where a lone task makes many
        /// sequential calls (a rollover in-process). While callers overlap, calls always use the queues.
        public var inlineReplyWait: Duration
        /// In a cluster, how long a command may keep being retried after `TRYAGAIN`, `CLUSTERDOWN` or
        /// `LOADING` (backing off from 10 ms to 200 ms) before the last error is its reply. Default 2 seconds.
        public var clusterRetryBudget: Duration
        /// In a cluster, how many `MOVED`/`ASK` redirections one command may follow before its reply
        /// is an error naming the command and the slot. Default 5.
        public var maximumRedirections: Int

        /// Creates options; `maximumConnections` is clamped to at least 1, a negative
        /// `inlineReplyWait` or `clusterRetryBudget` to zero, `maximumRedirections` to at least 1.
        public init(
            maximumConnections: Int = 8, waitTimeout: Duration = .seconds(5), inlineReplyWait: Duration = .zero,
            clusterRetryBudget: Duration = .seconds(2), maximumRedirections: Int = 5
        ) {
            self.maximumConnections = max(1, maximumConnections)
            self.waitTimeout = waitTimeout
            self.inlineReplyWait = max(.zero, inlineReplyWait)
            self.clusterRetryBudget = max(.zero, clusterRetryBudget)
            self.maximumRedirections = max(1, maximumRedirections)
        }
    }

    /// Where and how to connect.
    public let configuration: RedisConfiguration
    /// Sizing and waiting.
    public let options: Options
    /// The pool of the first seed: the whole pool of a standalone server.
    let seedPool: RedisNodePool
    /// `nil` in ``RedisConfiguration/Mode/standalone`` mode: then every call goes to ``seedPool``.
    let router: RedisClusterRouter?

    /// Creates a pool. No connection is opened, and nothing is asked, until one is needed.
    ///
    /// - Parameters:
    ///   - configuration: Where and how to connect, and the mode.
    ///   - options: Sizing, waiting and cluster retries.
    ///   - logger: Receives debug-level pool events; by default nothing is logged.
    ///   - metrics: Where the pool's timers, gauges and counters go (default: the process's
    ///     bootstrapped `MetricsSystem`).
    public init(
        configuration: RedisConfiguration,
        options: Options = Options(),
        logger: Logger = Logger(label: "tokenledger.redis", factory: { _ in SwiftLogNoOpLogHandler() }),
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.configuration = configuration
        self.options = options
        self.seedPool = RedisNodePool(configuration: configuration, options: options, logger: logger, metrics: metrics)
        self.router =
            configuration.mode == .standalone
            ? nil
            : RedisClusterRouter(
                configuration: configuration, options: options, logger: logger, metrics: metrics, seedPool: seedPool)
    }

    /// The pool to use directly: the seed's when the mode is (or was found to be) standalone; `nil`
    /// when the call must be routed (a cluster, or a mode not known yet). One atomic load at most.
    @inline(__always)
    var directPool: RedisNodePool? {
        guard let router else { return seedPool }
        return router.isStandalone ? seedPool : nil
    }

    /// The mode the pool acts in: ``RedisConfiguration/Mode/standalone`` or
    /// ``RedisConfiguration/Mode/cluster``, asking the server first when the configuration says
    /// ``RedisConfiguration/Mode/auto`` and nobody has asked yet.
    ///
    /// - Throws: ``RedisError`` when no seed can be reached to ask.
    public func mode() async throws -> RedisConfiguration.Mode {
        guard let router else { return .standalone }
        return try await router.resolveMode() ? .cluster : .standalone
    }

    /// ``mode()``, or `nil` when the server cannot be asked now (the error is left to the next call).
    /// One atomic load once the mode is known.
    public func probedMode() async -> RedisConfiguration.Mode? {
        if let known = resolvedMode { return known }
        return try? await mode()
    }

    /// The mode if it is known without asking: `nil` while ``RedisConfiguration/Mode/auto`` has not
    /// asked the server yet (nothing was sent). Never blocks.
    public var resolvedMode: RedisConfiguration.Mode? {
        guard let router else { return .standalone }
        return router.knownMode
    }

    /// The cluster's slot map as this pool last read it (reading it first when it has none or it is
    /// stale), or `nil` against a standalone server.
    ///
    /// - Throws: ``RedisError`` when no node can be reached or the map does not cover every slot.
    public func clusterTopology() async throws -> ClusterTopology? {
        guard let router, try await router.resolveMode() else { return nil }
        return try await router.currentTopology().topology
    }

    /// Leases a connection for the duration of `body`, then returns it to the pool. In a cluster the
    /// connection is to the first master: use typed commands to reach a key's node.
    ///
    /// - Throws: ``RedisError`` (`poolTimeout`, `poolClosed`, connection errors) or whatever `body` throws.
    public func withConnection<T>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        if let pool = directPool { return try await pool.withConnection(body) }
        return try await routedPool(slot: nil).withConnection(body)
    }

    /// Sends one command on a pooled connection (in a cluster: on the first master, following `MOVED`).
    ///
    /// - Throws: ``RedisError``; error replies are thrown keeping Redis's code.
    public func send(_ command: RedisCommand) async throws -> RedisReply {
        if let pool = directPool { return try await pool.send(command) }
        return try await route([RoutedCommand(command)])[0].throwingError()
    }

    /// Sends a pipeline on one pooled connection; one reply (or error reply) per command, in order.
    /// In a cluster the commands go to the first master and each follows `MOVED`.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        if let pool = directPool { return try await pool.pipeline(commands) }
        return try await route(commands.map { RoutedCommand($0) })
    }

    /// Runs a script with `EVALSHA` on a pooled connection, loading it on `NOSCRIPT`.
    public func evaluate(
        _ script: RedisScript, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]
    ) async throws -> RedisReply {
        if let pool = directPool { return try await pool.evaluate(script, keys: keys, arguments: arguments) }
        return try await route([RoutedCommand(RedisScriptCall(script, keys: keys, arguments: arguments))])[0]
            .throwingError()
    }

    /// Runs calls of possibly different scripts in one pipeline on a pooled connection
    /// (see ``RedisConnection/evaluateMany(_:)``); in a cluster, one pipeline per node, each call on
    /// the master of its keys' slot, replies in the calls' order.
    public func evaluateMany(_ calls: [RedisScriptCall]) async throws -> [RedisReply] {
        if let pool = directPool { return try await pool.evaluateMany(calls) }
        return try await route(calls.map { RoutedCommand($0) })
    }

    /// Closes the pool (every node's in a cluster): waiting tasks fail with
    /// ``RedisError/Code/poolClosed``, idle connections close, leased ones close when returned. Safe
    /// to call more than once.
    public func close() async {
        await seedPool.close()
        await router?.close()
    }

    /// Routes prepared commands: to the seed's pool when the server turned out standalone (a pipeline,
    /// scripts loaded on `NOSCRIPT`), else through the cluster router.
    func route(_ commands: [RoutedCommand]) async throws -> [RedisReply] {
        if commands.isEmpty { return [] }
        guard let router, try await router.resolveMode() else {
            return try await seedPool.withConnection { connection in
                try await connection.pipelineLoadingScripts(
                    commands.map(\.command), scripts: commands.map(\.script), asking: false)
            }
        }
        return try await router.execute(commands, wait: nil).replies
    }

    /// The node pool for a slot (the first master for `nil`), after resolving the mode.
    func routedPool(slot: Int?) async throws -> RedisNodePool {
        guard let router, try await router.resolveMode() else { return seedPool }
        let topology = try await router.currentTopology().topology
        let node = slot.flatMap { topology.masterFor(slot: $0) } ?? topology.servingMasters[0]
        return router.nodePool(for: node.endpoint)
    }
}
