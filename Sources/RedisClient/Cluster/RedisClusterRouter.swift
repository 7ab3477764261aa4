import CoreMetrics
import Logging
import Synchronization

/// The cluster side of ``RedisConnectionPool``: the mode probe (for ``RedisConfiguration/Mode/auto``),
/// the slot map, one ``RedisNodePool`` per node, and the routing of commands with their
/// redirections and retries (``execute(_:wait:)``).
///
/// The map is an immutable ``ClusterTopology`` snapshot, replaced whole by a refresh. Refreshes are
/// single-flight: callers that need a fresher map than the one they routed with join the refresh in
/// flight, or start one; a caller whose map was already replaced uses the new one.
final class RedisClusterRouter: Sendable {
    /// What the router knows.
    struct State {
        /// `nil` until the mode is known; `true` for a cluster.
        var isCluster: Bool?
        /// The mode probe in flight (auto mode), shared by concurrent first callers.
        var probe: Task<Bool, any Error>?
        /// The current map, `nil` before the first refresh.
        var topology: ClusterTopology?
        /// Bumped by each refresh that installs a map.
        var generation = 0
        /// The map may be wrong (a `MOVED` to an unknown owner, a lost node): refresh before routing.
        var stale = true
        /// How many times the map was marked stale: a refresh clears ``stale`` only when no mark
        /// arrived while it was reading (a map read before a failover was noticed stays stale).
        var staleMarks = 0
        /// The refresh in flight.
        var refresh: Task<(ClusterTopology, Int), any Error>?
        /// One pool per node endpoint, created on first use.
        var pools: [RedisConfiguration.Endpoint: RedisNodePool] = [:]
        var closed = false
    }

    let configuration: RedisConfiguration
    let options: RedisConnectionPool.Options
    let logger: Logger
    let metrics: any MetricsFactory
    /// The first seed's pool (shared with the facade): the mode probe's, reused by a standalone server.
    let seedPool: RedisNodePool
    let state = Mutex(State())
    /// 0 unknown, 1 standalone, 2 cluster: read by the facade on every call without a lock.
    private let resolved = Atomic<UInt8>(0)
    let meters: Meters

    /// The cluster metrics.
    struct Meters: Sendable {
        let moved: Counter
        let ask: Counter
        let retries: [String: Counter]
        let refreshOK: Counter
        let refreshFailed: Counter
        let nodes: Gauge

        init(factory: any MetricsFactory) {
            let redirections = "tokenledger_redis_cluster_redirections_total"
            moved = Counter(label: redirections, dimensions: [("kind", "moved")], factory: factory)
            ask = Counter(label: redirections, dimensions: [("kind", "ask")], factory: factory)
            retries = Dictionary(
                uniqueKeysWithValues: RedisError.retryableServerCodes.map { code in
                    (
                        code,
                        Counter(
                            label: "tokenledger_redis_cluster_retries_total", dimensions: [("code", code)],
                            factory: factory)
                    )
                })
            let refreshes = "tokenledger_redis_cluster_topology_refreshes_total"
            refreshOK = Counter(label: refreshes, dimensions: [("outcome", "ok")], factory: factory)
            refreshFailed = Counter(label: refreshes, dimensions: [("outcome", "failed")], factory: factory)
            nodes = Gauge(label: "tokenledger_redis_cluster_nodes", factory: factory)
        }
    }

    init(
        configuration: RedisConfiguration, options: RedisConnectionPool.Options, logger: Logger,
        metrics: any MetricsFactory, seedPool: RedisNodePool
    ) {
        self.configuration = configuration
        self.options = options
        self.logger = logger
        self.metrics = metrics
        self.seedPool = seedPool
        self.meters = Meters(factory: metrics)
        if configuration.mode == .cluster {
            state.withLock { $0.isCluster = true }
            resolved.store(2, ordering: .relaxed)
        }
    }

    /// Whether the server is known to be standalone (then the facade uses the seed's pool directly).
    var isStandalone: Bool { resolved.load(ordering: .relaxed) == 1 }

    /// The mode if known, without asking.
    var knownMode: RedisConfiguration.Mode? {
        switch resolved.load(ordering: .relaxed) {
        case 1: .standalone
        case 2: .cluster
        default: nil
        }
    }

    /// Whether the server is a cluster, asking the first reachable seed once (`INFO cluster`) when
    /// nobody has yet. Concurrent callers share one probe; a probe that fails is forgotten, so the
    /// next call asks again.
    ///
    /// - Throws: The connection error of the first seed when no seed answers.
    func resolveMode() async throws -> Bool {
        switch resolved.load(ordering: .relaxed) {
        case 1: return false
        case 2: return true
        default: break
        }
        let probe = state.withLock { s -> Task<Bool, any Error> in
            if let probe = s.probe { return probe }
            let probe = Task { try await self.probeMode() }
            s.probe = probe
            return probe
        }
        do {
            let isCluster = try await probe.value
            state.withLock { s in
                s.isCluster = isCluster
                s.probe = nil
            }
            resolved.store(isCluster ? 2 : 1, ordering: .releasing)
            // The probe's connection to the first seed is not one of the cluster's node pools.
            if isCluster { await seedPool.close() }
            return isCluster
        } catch {
            state.withLock { s in if s.probe == probe { s.probe = nil } }
            throw error
        }
    }

    /// Asks each seed in turn for `INFO cluster` until one answers.
    private func probeMode() async throws -> Bool {
        var firstError: (any Error)?
        for (index, seed) in configuration.seeds.enumerated() {
            let pool = index == 0 ? seedPool : nodePool(for: seed)
            do {
                let isCluster = try await pool.withConnection(allowInline: false) { try await $0.send(INFO.CLUSTER()) }
                logger.debug("redis mode detected", metadata: ["redis.cluster": "\(isCluster)"])
                return isCluster
            } catch let error as RedisError where error.isPermissionDenied {
                // A least-privilege user that may not run INFO: take the server as standalone
                // (documented: set the mode to cluster for such a user against a cluster).
                return false
            } catch let error as RedisError where error.isUnavailable {
                if firstError == nil { firstError = error }
            }
        }
        throw firstError ?? RedisError(code: .connectionRefused, message: "no Redis seed answered")
    }

    /// The pool of a node, created on first use with the facade's options and a `node` dimension.
    func nodePool(for endpoint: RedisConfiguration.Endpoint) -> RedisNodePool {
        state.withLock { s in
            if let pool = s.pools[endpoint] { return pool }
            var configuration = self.configuration
            configuration.endpoint = endpoint
            configuration.additionalSeeds = []
            configuration.mode = .standalone
            let pool = RedisNodePool(
                configuration: configuration, options: options, logger: logger, metrics: metrics,
                dimensions: [("node", endpoint.description)])
            s.pools[endpoint] = pool
            return pool
        }
    }

    /// Closes every node's pool.
    func close() async {
        let pools = state.withLock { s in
            s.closed = true
            return Array(s.pools.values)
        }
        for pool in pools { await pool.close() }
    }
}
