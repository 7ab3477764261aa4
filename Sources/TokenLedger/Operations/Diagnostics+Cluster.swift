import Foundation
import RedisClient

// doctor on a Redis Cluster: the cluster's state and slot coverage, each node with its role, slots
// and the per-server checks, and the namespace's checks on the master of `{global}`. Every node is
// reached on a small pool of its own (the seed's configuration with the node's endpoint, mode
// standalone), so the report does not depend on how the routing client sees the cluster.
extension Diagnostics {
    /// What `tokenledger doctor` found on a Redis Cluster (see ``cluster(repository:now:timeout:)``).
    public struct ClusterReport: Sendable, Hashable, Codable {
        /// `cluster_state` from `CLUSTER INFO` on the seed: `ok`, or `fail` when the cluster refuses
        /// commands (uncovered slots, a master down before its replica took over).
        public var state: String
        /// How many of the 16384 hash slots some master serves, from `CLUSTER SHARDS`.
        public var slotsServed: Int
        /// Every node, each shard's master followed by its replicas.
        public var nodes: [NodeReport]
        /// The cluster's checks (`cluster`, `slots`, `masters`) followed by the namespace's
        /// (`schema`, `rollover`, run on the master that serves the namespace's `{global}` slot).
        public var checks: [Check]

        /// Creates a report.
        public init(state: String, slotsServed: Int, nodes: [NodeReport], checks: [Check]) {
            self.state = state
            self.slotsServed = slotsServed
            self.nodes = nodes
            self.checks = checks
        }

        /// Every failed check: the cluster's and the namespace's, then each node's, a node's named
        /// `host:port name`.
        public var failures: [Check] {
            checks.filter { $0.status == .fail }
                + nodes.flatMap { node in
                    node.checks.filter { $0.status == .fail }.map {
                        Check(name: "\(node.address) \($0.name)", status: $0.status, detail: $0.detail)
                    }
                }
        }

        enum CodingKeys: String, CodingKey {
            case state, nodes, checks
            case slotsServed = "slots_served"
        }
    }

    /// One node of a cluster as doctor saw it.
    public struct NodeReport: Sendable, Hashable, Codable {
        /// `host:port`.
        public var address: String
        /// The node's 40-character cluster id.
        public var id: String
        /// `master` or `replica`.
        public var role: String
        /// The health the cluster reports (`online`, `fail`, `loading`).
        public var health: String
        /// The slot ranges a master serves (`0-5460`; one slot alone is `7000`); empty for a replica.
        public var slots: [String]
        /// How many slots a master serves; 0 for a replica.
        public var slotCount: Int
        /// A replica's master, `host:port`; `nil` for a master.
        public var master: String?
        /// Whether the node answered `PING` on a connection of its own.
        public var reachable: Bool
        /// The checks run on this node: `ping`, `persistence`, `memory`, and on a master `scripts`,
        /// `permissions` and `key access`.
        public var checks: [Check]

        /// Creates a node report.
        public init(
            address: String, id: String, role: String, health: String, slots: [String], slotCount: Int,
            master: String?, reachable: Bool, checks: [Check]
        ) {
            self.address = address
            self.id = id
            self.role = role
            self.health = health
            self.slots = slots
            self.slotCount = slotCount
            self.master = master
            self.reachable = reachable
            self.checks = checks
        }

        enum CodingKeys: String, CodingKey {
            case address, id, role, health, slots, master, reachable, checks
            case slotCount = "slot_count"
        }
    }

    /// Reports the cluster when the server is a Redis Cluster, or returns `nil` when it is a
    /// single server (run ``run(repository:now:)`` then).
    ///
    /// Asks the seeds in turn (`INFO cluster`'s `cluster_enabled`; with
    /// `RedisConfiguration.Mode.standalone` nothing is asked), then reads `CLUSTER INFO` and
    /// `CLUSTER SHARDS` (`CLUSTER SLOTS` on a server older than 7.0) on the first seed that
    /// answers, and checks every node concurrently on a pool of its own. A user that may not run
    /// `INFO` (the application's least-privilege user) gets `nil` unless the mode is
    /// `RedisConfiguration.Mode.cluster`; one that may not run `CLUSTER INFO` or `CLUSTER SHARDS`
    /// gets a report with a `cluster` warning saying what to grant, and no nodes.
    ///
    /// - Parameters:
    ///   - repository: The namespace, and the configuration (seeds, user, password) to reach the nodes with.
    ///   - now: The instant to judge the last rollover against. Default now.
    ///   - timeout: The connect and command timeout on each node. Default 2 seconds.
    /// - Returns: The report, or `nil` for a single server.
    /// - Throws: `RedisError` when no seed can be reached, or when the cluster map does not decode.
    public static func cluster(repository: TokenRepository, now: Date = Date(), timeout: Duration = .seconds(2))
        async throws -> ClusterReport?
    {
        let configuration = repository.pool.configuration
        guard configuration.mode != .standalone else { return nil }
        var lastError: RedisError?
        for seed in configuration.seeds {
            let pool = nodePool(configuration, seed, timeout: timeout)
            do {
                if try await !clusterEnabled(pool, configuration.mode) {
                    await pool.close()
                    return nil
                }
                let info: [String: String]
                let topology: ClusterTopology
                do {
                    info = try await pool.send(CLUSTER.INFO())
                    topology = try await clusterMap(pool, seed)
                } catch let error as RedisError where error.isPermissionDenied {
                    await pool.close()
                    return await refusedReport(repository, error, now: now)
                }
                await pool.close()
                return try await report(
                    repository, info: info, topology: topology, seed: seed, now: now, timeout: timeout)
            } catch let error as RedisError where error.isPermissionDenied {
                await pool.close()
                return nil
            } catch let error as RedisError where error.isUnavailable || error.isServerUnavailable {
                await pool.close()
                lastError = error
            } catch {
                await pool.close()
                throw error
            }
        }
        throw lastError ?? RedisError(code: .invalidConfiguration, message: "no Redis seed is configured")
    }

    /// The report for a user that may run `INFO` but not `CLUSTER INFO` or `CLUSTER SHARDS`: a
    /// warning saying what to grant, and the namespace's checks through the repository's own pool.
    private static func refusedReport(_ repository: TokenRepository, _ error: RedisError, now: Date) async
        -> ClusterReport
    {
        let user = (try? await repository.pool.send(ACL.WHOAMI())).map { "user '\($0)'" } ?? "this user"
        var checks = [
            Check(
                name: "cluster", status: .warn,
                detail: "the server is a Redis Cluster, but \(user) may not read its state "
                    + "(\(error.serverCode ?? "NOPERM")); nodes not checked: run doctor as a user with "
                    + "+cluster|info +cluster|shards (docs/operations.md, Redis Cluster)")
        ]
        checks += await nodeCheck("schema", on: nil) { [try await schema(repository)] }
        checks += await nodeCheck("rollover", on: nil) { [try await rollover(repository, now: now)] }
        // The application's own probes (scripts, rate keys, reset, outside keys), each routed to the
        // master of its key's slot.
        checks += await nodeCheck("permissions", on: nil) { try await permissions(repository) }
        return ClusterReport(state: "unknown", slotsServed: 0, nodes: [], checks: checks)
    }

    /// `INFO cluster`'s `cluster_enabled`; a user refused `INFO` is in a cluster only when the mode
    /// says so (as the routing client decides).
    private static func clusterEnabled(_ pool: RedisConnectionPool, _ mode: RedisConfiguration.Mode) async throws
        -> Bool
    {
        do {
            return try await pool.send(INFO.CLUSTER())
        } catch let error as RedisError where error.isPermissionDenied && mode == .cluster {
            return true
        }
    }

    /// `CLUSTER SHARDS`, or `CLUSTER SLOTS` when the server does not know it (Redis before 7.0).
    private static func clusterMap(_ pool: RedisConnectionPool, _ seed: RedisConfiguration.Endpoint) async throws
        -> ClusterTopology
    {
        do {
            return try await pool.send(CLUSTER.SHARDS())
        } catch let error as RedisError where error.serverCode == "ERR" {
            var host: String?
            if case .tcp(let name, _) = seed { host = name }
            return try await pool.send(CLUSTER.SLOTS(queriedHost: host))
        }
    }

    /// A small pool on one node: the seed's configuration with the node's endpoint, standalone.
    static func nodePool(
        _ configuration: RedisConfiguration, _ endpoint: RedisConfiguration.Endpoint, timeout: Duration
    ) -> RedisConnectionPool {
        var configuration = configuration
        configuration.seeds = [endpoint]
        configuration.mode = .standalone
        configuration.connectTimeout = timeout
        configuration.commandTimeout = timeout
        return RedisConnectionPool(configuration: configuration, options: .init(maximumConnections: 2))
    }

    private static func report(
        _ repository: TokenRepository, info: [String: String], topology: ClusterTopology,
        seed: RedisConfiguration.Endpoint, now: Date, timeout: Duration
    ) async throws -> ClusterReport {
        let configuration = repository.pool.configuration
        let nodes = await withTaskGroup(of: (Int, NodeReport).self) { group in
            for (index, shard) in topology.shards.enumerated() {
                for (offset, node) in ([shard.master] + shard.replicas).enumerated() {
                    group.addTask {
                        let order = index * 1000 + offset
                        let pool = nodePool(configuration, node.endpoint, timeout: timeout)
                        let report = await inspect(node, of: shard, pool: pool, repository: repository, now: now)
                        await pool.close()
                        return (order, report)
                    }
                }
            }
            var reports: [(Int, NodeReport)] = []
            for await report in group { reports.append(report) }
            return reports.sorted { $0.0 < $1.0 }.map(\.1)
        }

        var checks: [Check] = []
        let state = info["cluster_state"] ?? "unknown"
        let masters = topology.servingMasters.count
        let replicas = topology.shards.reduce(0) { $0 + $1.replicas.count }
        let shape = "\(masters) masters, \(replicas) replicas, \(info["cluster_known_nodes"] ?? "?") known nodes"
        if state == "ok" {
            checks.append(Check(name: "cluster", status: .ok, detail: "cluster_state ok (\(shape))"))
        } else {
            let failing = ["cluster_slots_pfail", "cluster_slots_fail"].compactMap { field in
                info[field].flatMap(Int.init).flatMap { $0 > 0 ? "\(field) \($0)" : nil }
            }
            checks.append(
                Check(
                    name: "cluster", status: .fail,
                    detail: "cluster_state is \(state) on \(seed) (\(([shape] + failing).joined(separator: ", "))); "
                        + "the cluster refuses commands until every slot has a master that answers"))
        }

        let uncovered = uncoveredRanges(topology)
        if uncovered.isEmpty {
            checks.append(
                Check(name: "slots", status: .ok, detail: "all 16384 slots are served by \(masters) masters"))
        } else {
            let count = HashSlot.count - topology.coveredSlotCount
            checks.append(
                Check(
                    name: "slots", status: .fail,
                    detail: "slots \(uncovered.map(format).joined(separator: ", ")) have no master (\(count) of 16384 "
                        + "uncovered): assign them (redis-cli --cluster fix) or bring their master back"))
        }

        // A master without slots (a dead one the map still lists after its replica took over)
        // holds nothing: it is listed among the nodes, not a failure.
        let down = nodes.filter { $0.role == "master" && !$0.reachable && !$0.slots.isEmpty }
        if down.isEmpty {
            checks.append(Check(name: "masters", status: .ok, detail: "all \(masters) masters answer"))
        } else {
            let named = down.map { node in
                "\(node.address) (id \(node.id.prefix(8)), slots \(node.slots.joined(separator: ",")))"
            }
            checks.append(
                Check(
                    name: "masters", status: .fail,
                    detail: "master \(named.joined(separator: ", master ")) is unreachable: its slots are down "
                        + "until a replica takes over (cluster-node-timeout)"))
        }
        checks += await namespaceChecks(repository, topology: topology, now: now, timeout: timeout)
        return ClusterReport(state: state, slotsServed: topology.coveredSlotCount, nodes: nodes, checks: checks)
    }

    /// The schema and rollover checks, on the master of the namespace's `{global}` slot.
    private static func namespaceChecks(
        _ repository: TokenRepository, topology: ClusterTopology, now: Date, timeout: Duration
    ) async -> [Check] {
        let slot = HashSlot.slot(for: repository.keys.config)
        guard let master = topology.masterFor(slot: slot) else {
            return ["schema", "rollover"].map {
                Check(
                    name: $0, status: .warn,
                    detail: "not checked: no master serves the namespace's {global} slot \(slot)")
            }
        }
        let pool = nodePool(repository.pool.configuration, master.endpoint, timeout: timeout)
        var checks: [Check] = []
        do {
            let node = try TokenRepository(pool: pool, configuration: repository.configuration)
            checks += await nodeCheck("schema", on: master) { [try await schema(node)] }
            checks += await nodeCheck("rollover", on: master) { [try await rollover(node, now: now)] }
        } catch {
            checks.append(Check(name: "schema", status: .warn, detail: "not checked: \(error)"))
        }
        await pool.close()
        return checks
    }

    /// The slot ranges no master serves, ascending.
    static func uncoveredRanges(_ topology: ClusterTopology) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        var start: Int?
        for slot in 0...HashSlot.count {
            let free = slot < HashSlot.count && topology.masterFor(slot: slot) == nil
            if free, start == nil { start = slot }
            if !free, let first = start {
                ranges.append(first...(slot - 1))
                start = nil
            }
        }
        return ranges
    }

    /// `0-5460`, or `7000` for one slot.
    static func format(_ range: ClosedRange<Int>) -> String {
        range.count == 1 ? String(range.lowerBound) : "\(range.lowerBound)-\(range.upperBound)"
    }
}
