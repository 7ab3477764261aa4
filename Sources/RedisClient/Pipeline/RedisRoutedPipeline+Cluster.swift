import Synchronization

// RedisRoutedPipeline on a cluster: the node client of a slot (made from the pool's map, retired
// when its endpoint stops being a master), and groups finished through the pool after a redirection.

extension RedisRoutedPipeline {
    /// How often a group is queued again after the client it was given to was retired meanwhile.
    private static let requeueAttempts = 3

    /// The client of `slot`'s master, resolving the pool's mode first; `routed` is false when the
    /// pool turned out to be standalone (then the seed's client, whose replies need no routing).
    func client(forSlot slot: Int) async throws -> (client: RedisPipelineClient, routed: Bool) {
        guard let router = pool.router, try await router.resolveMode() else {
            guard let seedClient else { throw Self.closed }  // unreachable: such a pool is a cluster
            return (seedClient, false)
        }
        while true {
            let (topology, generation) = try await router.currentTopology()
            let endpoint = (topology.masterFor(slot: slot) ?? topology.servingMasters[0]).endpoint
            enum Step {
                case use(RedisPipelineClient, retired: [RedisPipelineClient])
                case newerMap
                case stopped
            }
            let step = state.withLock { s -> Step in
                guard !s.stopped else { return .stopped }
                var retired: [RedisPipelineClient] = []
                if let known = s.generation, known > generation { return .newerMap }
                if s.generation != generation {
                    s.generation = generation
                    // A master that serves no slot (a dead one the map still lists) needs no lanes.
                    let masters = Set(topology.servingMasters.map(\.endpoint))
                    for (endpoint, client) in s.clients where !masters.contains(endpoint) {
                        s.clients[endpoint] = nil
                        retired.append(client)
                    }
                    if let seedClient, !s.seedRetired {
                        s.seedRetired = true
                        retired.append(seedClient)
                    }
                }
                if let client = s.clients[endpoint] {
                    if !retired.isEmpty { nodes.record(s.clients.count) }
                    return .use(client, retired: retired)
                }
                let client = makeClient(for: endpoint)
                s.clients[endpoint] = client
                nodes.record(s.clients.count)
                s.every.append(client)
                newClientsContinuation.yield(client)
                return .use(client, retired: retired)
            }
            switch step {
            case .stopped:
                throw Self.closed
            case .newerMap:
                continue  // another caller installed a newer map meanwhile: route with it
            case .use(let client, let retired):
                // Their queued groups are still sent; the replies' MOVED brings them here again.
                for old in retired { old.shutdown(finishingQueued: true) }
                return (client, true)
            }
        }
    }

    /// A node's client: the lane configuration with that endpoint, standalone, metered per node.
    private func makeClient(for endpoint: RedisConfiguration.Endpoint) -> RedisPipelineClient {
        var configuration = laneConfiguration
        configuration.endpoint = endpoint
        configuration.additionalSeeds = []
        configuration.mode = .standalone
        return RedisPipelineClient(
            configuration: configuration, options: options,
            metrics: DimensionedMetricsFactory(base: metrics, dimensions: [("node", endpoint.description)]))
    }

    /// ``send(_:slot:deadline:)`` once the mode is not known to be standalone.
    func sendRouted(
        _ commands: [RedisCommand], slot: Int, deadline: ContinuousClock.Instant, wait: RedisReplicaWait?
    ) async throws -> (replies: [RedisReply], acknowledgedReplicas: Int) {
        var attempt = 0
        while true {
            let (client, routed) = try await client(forSlot: slot)
            let replies: [RedisReply]
            var acknowledged = 0
            do {
                if let wait {
                    (replies, acknowledged) = try await client.send(commands, deadline: deadline, wait: wait)
                } else {
                    replies = try await client.send(commands, deadline: deadline)
                }
            } catch let error as RedisError where routed {
                attempt += 1
                // The client was retired (its node left the masters) before the group was queued.
                if error.code == .poolClosed, attempt < Self.requeueAttempts, !isStopped { continue }
                if error.isUnavailable { noteLaneFailure() }
                throw error
            }
            guard routed, replies.contains(where: Self.needsRouting) else { return (replies, acknowledged) }
            return try await finishThroughPool(commands, replies: replies, slot: slot, wait: wait)
        }
    }

    /// What a routed group's builder made, and whether its client refused it while it was being
    /// queued (a retired client): then the caller queues it again instead of completing it.
    private final class RoutedGroup: Sendable {
        struct Box {
            var commands: [RedisCommand] = []
            var queued = false
            var refused = false
        }
        let box = Mutex(Box())
    }

    /// ``enqueue(slot:deadline:build:completion:)`` once the mode is not known to be standalone.
    func enqueueRouted(
        slot: Int, deadline: ContinuousClock.Instant, wait: RedisReplicaWait?,
        build: @escaping RedisPipelineClient.Builder,
        completion: @escaping RedisPipelineClient.Completion
    ) async {
        for attempt in 1...Self.requeueAttempts {
            let client: RedisPipelineClient
            let routed: Bool
            do {
                (client, routed) = try await self.client(forSlot: slot)
            } catch {
                return completion(.failure(Self.redisError(error)))
            }
            guard routed else {
                return await client.enqueue(deadline: deadline, wait: wait, build: build, completion: completion)
            }
            let group = RoutedGroup()
            let lastAttempt = attempt == Self.requeueAttempts
            await client.enqueue(deadline: deadline, wait: wait) {
                let commands = build()
                if let commands { group.box.withLock { $0.commands = commands } }
                return commands
            } completion: { result in
                if case .failure(let error) = result, error.code == .poolClosed, !lastAttempt,
                    group.box.withLock({ box in
                        // Refused while being queued, not by a shutdown of this pipeline: queue it again.
                        if !box.queued && !self.isStopped { box.refused = true }
                        return box.refused
                    })
                {
                    return
                }
                self.finishRouted(
                    result, commands: group.box.withLock { $0.commands }, slot: slot, wait: wait, completion: completion
                )
            }
            let refused = group.box.withLock { box in
                box.queued = true
                return box.refused
            }
            if !refused { return }
        }
    }

    /// Hands a routed group's outcome to its caller, finishing redirected commands through the pool first.
    private func finishRouted(
        _ result: Result<[RedisReply], RedisError>, commands: [RedisCommand], slot: Int, wait: RedisReplicaWait?,
        completion: @escaping RedisPipelineClient.Completion
    ) {
        switch result {
        case .success(let all)
        where (wait == nil ? all : RedisPipelineClient.splitAcknowledgement(all).replies).contains(
            where: Self.needsRouting):
            let replies = wait == nil ? all : RedisPipelineClient.splitAcknowledgement(all).replies
            followUp {
                do {
                    let (merged, acknowledged) = try await self.finishThroughPool(
                        commands, replies: replies, slot: slot, wait: wait)
                    completion(.success(wait == nil ? merged : merged + [.integer(Int64(acknowledged))]))
                } catch {
                    completion(.failure(Self.redisError(error)))
                }
            }
        case .failure(let error) where error.isUnavailable:
            noteLaneFailure()
            completion(result)
        default:
            completion(result)
        }
    }

    /// Whether a reply says the node did not run the command and another try may (a redirection,
    /// `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`).
    static func needsRouting(_ reply: RedisReply) -> Bool {
        guard case .error(let error) = reply else { return false }
        return error.redirection != nil || error.isRetryableServerError
    }

    /// Sends again, through the pool, the commands whose replies need routing, and merges their
    /// replies into the group's.
    ///
    /// With `wait`, the count is the pool's `WAIT` over the resent commands when every command of the
    /// group was resent and none failed; else 0 (the lane's count does not cover a group with an
    /// error reply, so the writes that did run there are not known to be acknowledged).
    func finishThroughPool(
        _ commands: [RedisCommand], replies: [RedisReply], slot: Int, wait: RedisReplicaWait?
    ) async throws -> (replies: [RedisReply], acknowledgedReplicas: Int) {
        let indices = replies.indices.filter { Self.needsRouting(replies[$0]) }
        rerouted.increment(by: indices.count)
        let routed = indices.map { index in
            var command = RoutedCommand(commands[index])
            command.slot = slot
            return command
        }
        let again: [RedisReply]
        var acknowledged: Int?
        if let router = pool.router {
            (again, acknowledged) = try await router.execute(routed, wait: wait)
        } else {
            again = try await pool.route(routed)
        }
        var merged = replies
        for (index, reply) in zip(indices, again) { merged[index] = reply }
        let failed = merged.contains { if case .error = $0 { true } else { false } }
        let covered = wait != nil && indices.count == commands.count && !failed
        return (merged, covered ? acknowledged ?? 0 : 0)
    }

    /// A lane could not reach its node (perhaps a failover): the pool reads its map again before
    /// routing next, once per map.
    func noteLaneFailure() {
        guard let router = pool.router else { return }
        let mark = state.withLock { s in
            guard let generation = s.generation, s.staleMarked != generation else { return false }
            s.staleMarked = generation
            return true
        }
        if mark { router.markStale() }
    }

    /// Runs `work` on a task this pipeline keeps until it ends (``waitUntilStopped()`` awaits it).
    func followUp(_ work: @escaping @Sendable () async -> Void) {
        state.withLock { s in
            let id = s.nextFollowUp
            s.nextFollowUp += 1
            s.followUps[id] = Task {
                await work()
                _ = self.state.withLock { $0.followUps.removeValue(forKey: id) }
            }
        }
    }

    static var closed: RedisError { RedisError(code: .poolClosed, message: "the pipeline client is shut down") }

    static func redisError(_ error: any Error) -> RedisError {
        if let error = error as? RedisError { return error }
        return RedisError(
            code: .timeout, message: "the redirected commands of a pipelined group did not finish: \(error)",
            underlying: error)
    }
}
