// The router's slot map: reading it through any known node or seed, single-flight refreshes, and
// closing the pools of nodes that left it.

extension RedisClusterRouter {
    /// The current map and its generation, refreshing it first when there is none or it is stale.
    ///
    /// - Throws: ``RedisError`` when no node answers with a map covering every slot.
    func currentTopology() async throws -> (topology: ClusterTopology, generation: Int) {
        let (topology, generation, stale) = state.withLock { s in (s.topology, s.generation, s.stale) }
        if let topology, !stale { return (topology, generation) }
        return try await refresh(after: generation)
    }

    /// Marks the map as possibly wrong: the next caller refreshes it before routing.
    func markStale() {
        state.withLock { s in
            s.stale = true
            s.staleMarks += 1
        }
    }

    /// A map newer than generation `seen`: the one installed since, if any and not stale, else the
    /// refresh in flight, else a new refresh (single-flight: at most one in flight).
    ///
    /// - Throws: ``RedisError`` when the refresh fails (the next caller tries again).
    func refresh(after seen: Int) async throws -> (topology: ClusterTopology, generation: Int) {
        enum Step {
            case use(ClusterTopology, Int)
            case wait(Task<(ClusterTopology, Int), any Error>)
        }
        let step = state.withLock { s -> Step in
            if s.generation > seen, !s.stale, let topology = s.topology { return .use(topology, s.generation) }
            if let refresh = s.refresh { return .wait(refresh) }
            let refresh = Task { try await self.performRefresh() }
            s.refresh = refresh
            return .wait(refresh)
        }
        switch step {
        case .use(let topology, let generation): return (topology, generation)
        case .wait(let task): return try await task.value
        }
    }

    /// Reads the map, installs it, closes the pools of nodes that left it.
    private func performRefresh() async throws -> (ClusterTopology, Int) {
        let marks = state.withLock { $0.staleMarks }
        do {
            let topology = try await fetchTopology()
            let endpoints = Set(topology.nodes.map(\.endpoint))
            let (generation, retired) = state.withLock { s -> (Int, [RedisNodePool]) in
                s.topology = topology
                s.generation += 1
                s.stale = s.staleMarks != marks
                s.refresh = nil
                let leaving = s.pools.keys.filter { !endpoints.contains($0) }
                let retired = leaving.compactMap { s.pools.removeValue(forKey: $0) }
                return (s.generation, retired)
            }
            meters.refreshOK.increment()
            meters.nodes.record(topology.nodes.count)
            logger.debug(
                "redis cluster map refreshed",
                metadata: ["redis.masters": "\(topology.masters.count)", "redis.nodes": "\(topology.nodes.count)"])
            for pool in retired { await pool.close() }
            return (topology, generation)
        } catch {
            state.withLock { $0.refresh = nil }
            meters.refreshFailed.increment()
            throw error
        }
    }

    /// Asks the known nodes (masters first, then replicas), then the seeds, for `CLUSTER SHARDS`
    /// (`CLUSTER SLOTS` when the server does not know SHARDS), until one answers with a map that
    /// covers every slot.
    ///
    /// - Throws: The last node's error: a connection error when none could be reached, or the
    ///   coverage error (`CLUSTERDOWN`, naming the slot) when every map had a hole.
    private func fetchTopology() async throws -> ClusterTopology {
        let known = state.withLock { $0.topology }
        var candidates: [RedisConfiguration.Endpoint] = []
        var seen = Set<RedisConfiguration.Endpoint>()
        let knownNodes = known.map { $0.masters + $0.shards.flatMap(\.replicas) } ?? []
        for endpoint in knownNodes.filter({ $0.health != .failed }).map(\.endpoint) + configuration.seeds
        where seen.insert(endpoint).inserted {
            candidates.append(endpoint)
        }
        var lastError: (any Error)?
        for endpoint in candidates {
            do {
                let topology = try await readTopology(from: endpoint)
                try topology.requireFullCoverage()
                return topology
            } catch {
                lastError = error
                logger.debug(
                    "redis cluster map not read", metadata: ["redis.endpoint": "\(endpoint)", "error": "\(error)"])
            }
        }
        throw lastError ?? RedisError(code: .connectionRefused, message: "no Redis Cluster seed is configured")
    }

    /// One node's map: `CLUSTER SHARDS`, or `CLUSTER SLOTS` on a server without SHARDS.
    private func readTopology(from endpoint: RedisConfiguration.Endpoint) async throws -> ClusterTopology {
        let pool = nodePool(for: endpoint)
        do {
            return try await pool.send(CLUSTER.SHARDS())
        } catch let error as RedisError
            where (error.code == .server && error.serverCode == "ERR") || error.code == .protocolError
        {
            // An older server (before 7.0) answers "ERR unknown subcommand"; a node that does not
            // know its own address yet (a lone node never met by another) has no endpoint in SHARDS,
            // and SLOTS reports it at the host it was asked at.
            var host: String?
            if case .tcp(let name, _) = endpoint { host = name }
            return try await pool.send(CLUSTER.SLOTS(queriedHost: host))
        }
    }
}
