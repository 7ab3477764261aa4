// The router's sending: commands split by node, sent concurrently, replies reassembled in order,
// MOVED/ASK followed and TRYAGAIN/CLUSTERDOWN/LOADING retried, never a command resent after a
// reply that was not one of those.

extension RedisClusterRouter {
    /// Where one group of commands goes: a node's master connection, or a node after `ASKING`.
    private struct Destination: Hashable {
        var endpoint: RedisConfiguration.Endpoint
        var asking: Bool
    }

    /// What sending to one destination gave.
    private struct GroupResult: Sendable {
        var destination: Destination
        var indices: [Int]
        var outcome: Result<(replies: [RedisReply], acknowledged: Int?), any Error>
    }

    /// Sends `commands` to their nodes and returns one reply per command, in order; with `wait`,
    /// also the fewest replicas that acknowledged the writes over the connections used.
    ///
    /// - Throws: ``RedisError`` when a node cannot be reached (the map is marked stale; read-only
    ///   commands are sent once more after a refresh), or when no map can be read.
    func execute(
        _ commands: [RoutedCommand], wait: RedisReplicaWait?
    ) async throws -> (replies: [RedisReply], acknowledged: Int?) {
        if let crossSlot = commands.lazy.compactMap(\.crossSlot).first { throw crossSlot }
        var replies = [RedisReply?](repeating: nil, count: commands.count)
        var movedTo: [Int: RedisConfiguration.Endpoint] = [:]
        var askTo: [Int: RedisConfiguration.Endpoint] = [:]
        var redirections = [Int](repeating: 0, count: commands.count)
        var pending = Array(commands.indices)
        var acknowledged: Int?
        var resentAfterLostNode = false
        var retryRound = 0
        let deadline = ContinuousClock.now + options.clusterRetryBudget
        var (topology, generation) = try await map(after: nil, deadline: deadline, round: &retryRound)
        while !pending.isEmpty {
            var groups: [Destination: [Int]] = [:]
            var order: [Destination] = []
            for index in pending {
                let destination: Destination
                if let target = askTo[index] {
                    destination = Destination(endpoint: target, asking: true)
                } else if let target = movedTo[index] {
                    destination = Destination(endpoint: target, asking: false)
                } else {
                    let node =
                        commands[index].slot.flatMap { topology.masterFor(slot: $0) } ?? topology.servingMasters[0]
                    destination = Destination(endpoint: node.endpoint, asking: false)
                }
                if groups[destination] == nil { order.append(destination) }
                groups[destination, default: []].append(index)
            }
            let results = await send(groups: order.map { ($0, groups[$0]!) }, commands: commands, wait: wait)
            var next: [Int] = []
            var needsRefresh = false
            var backOff = false
            var failure: (any Error)?
            for result in results {
                let indices = result.indices
                switch result.outcome {
                case .failure(let error):
                    // A lost node may mean a failover: the next caller reads the map again.
                    markStale()
                    if !resentAfterLostNode, (error as? RedisError)?.isUnavailable == true,
                        indices.allSatisfy({ commands[$0].isReadOnly })
                    {
                        resentAfterLostNode = true
                        needsRefresh = true
                        for index in indices {
                            movedTo[index] = nil
                            askTo[index] = nil
                        }
                        next += indices
                    } else if failure == nil {
                        failure = error
                    }
                case .success(let (groupReplies, groupAcknowledged)):
                    if let groupAcknowledged {
                        acknowledged = min(acknowledged ?? groupAcknowledged, groupAcknowledged)
                    }
                    for (index, reply) in zip(indices, groupReplies) {
                        askTo[index] = nil
                        guard case .error(let error) = reply else {
                            replies[index] = reply
                            continue
                        }
                        if let redirection = error.redirection {
                            redirections[index] += 1
                            if redirections[index] > options.maximumRedirections {
                                replies[index] = .error(tooManyRedirections(commands[index].name, redirection))
                                continue
                            }
                            let target = redirection.endpoint.resolved(
                                queriedHost: result.destination.endpoint.host ?? "127.0.0.1")
                            switch redirection.kind {
                            case .moved:
                                meters.moved.increment()
                                movedTo[index] = target
                                if topology.masterFor(slot: redirection.slot)?.endpoint != target {
                                    markStale()
                                    needsRefresh = true
                                }
                            case .ask:
                                meters.ask.increment()
                                askTo[index] = target
                            }
                            next.append(index)
                        } else if error.isRetryableServerError, let code = error.serverCode,
                            ContinuousClock.now + Self.backoff(retryRound) < deadline
                        {
                            meters.retries[code]?.increment()
                            redirections[index] = 0
                            movedTo[index] = nil
                            if code == "CLUSTERDOWN" {
                                markStale()
                                needsRefresh = true
                            }
                            backOff = true
                            next.append(index)
                        } else {
                            replies[index] = reply
                        }
                    }
                }
            }
            if let failure { throw failure }
            pending = next
            if pending.isEmpty { break }
            if backOff {
                try await Task.sleep(for: Self.backoff(retryRound))
                retryRound += 1
            }
            if needsRefresh {
                (topology, generation) = try await map(after: generation, deadline: deadline, round: &retryRound)
            }
        }
        return (replies.map { $0 ?? .null }, acknowledged)
    }

    /// The current map (`seen == nil`) or one newer than generation `seen`; while no node gives a
    /// whole map (`CLUSTERDOWN`: a failover in progress), backs off and asks again until `deadline`.
    private func map(
        after seen: Int?, deadline: ContinuousClock.Instant, round: inout Int
    ) async throws -> (topology: ClusterTopology, generation: Int) {
        while true {
            do {
                guard let seen else { return try await currentTopology() }
                return try await refresh(after: seen)
            } catch let error as RedisError
                where error.isRetryableServerError && ContinuousClock.now + Self.backoff(round) < deadline
            {
                meters.retries[error.serverCode ?? ""]?.increment()
                try await Task.sleep(for: Self.backoff(round))
                round += 1
            }
        }
    }

    /// Sends each group as one pipeline on one connection of its node, concurrently across nodes.
    private func send(
        groups: [(Destination, [Int])], commands: [RoutedCommand], wait: RedisReplicaWait?
    ) async -> [GroupResult] {
        if groups.count == 1 {
            let (destination, indices) = groups[0]
            return [await sendGroup(destination, indices, commands, wait)]
        }
        return await withTaskGroup(of: GroupResult.self, returning: [GroupResult].self) { group in
            for (destination, indices) in groups {
                group.addTask { await self.sendGroup(destination, indices, commands, wait) }
            }
            var results: [GroupResult] = []
            for await result in group { results.append(result) }
            return results
        }
    }

    private func sendGroup(
        _ destination: Destination, _ indices: [Int], _ commands: [RoutedCommand], _ wait: RedisReplicaWait?
    ) async -> GroupResult {
        let pool = nodePool(for: destination.endpoint)
        do {
            let outcome = try await pool.withConnection { connection in
                let replies = try await connection.pipelineLoadingScripts(
                    indices.map { commands[$0].command }, scripts: indices.map { commands[$0].script },
                    asking: destination.asking)
                var acknowledged: Int?
                if let wait { acknowledged = try await connection.send(WAIT(wait)) }
                return (replies: replies, acknowledged: acknowledged)
            }
            return GroupResult(destination: destination, indices: indices, outcome: .success(outcome))
        } catch {
            return GroupResult(destination: destination, indices: indices, outcome: .failure(error))
        }
    }

    /// Exponential backoff with jitter: from about 10 ms, doubling, capped at 200 ms.
    static func backoff(_ round: Int) -> Duration {
        let base = min(200, 10 << min(round, 5))
        return .milliseconds(Int.random(in: (base / 2)...base))
    }

    private func tooManyRedirections(_ command: String, _ redirection: RedisRedirection) -> RedisError {
        RedisError(
            code: .server,
            message:
                "redis is unavailable: \(command) for slot \(redirection.slot) was redirected more than \(options.maximumRedirections) times (last: \(redirection.kind) to \(redirection.endpoint)); the cluster's slot map keeps changing",
            serverCode: redirection.kind.rawValue, command: command)
    }
}

extension RedisConfiguration.Endpoint {
    /// The host of a TCP endpoint.
    var host: String? {
        if case .tcp(let host, _) = self { return host }
        return nil
    }
}
