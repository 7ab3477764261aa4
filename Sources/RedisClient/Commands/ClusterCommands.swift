// Typed cluster commands (no keys): CLUSTER SHARDS, CLUSTER SLOTS, CLUSTER INFO, and INFO cluster's
// cluster_enabled. Replies are RESP2 (hiredis 0.14): CLUSTER SHARDS's maps arrive as flat arrays of
// field/value pairs.

/// `CLUSTER …` commands.
public enum CLUSTER {
    /// `CLUSTER SHARDS` (Redis 7.0+): the cluster's shards, decoded into a ``ClusterTopology``.
    ///
    /// Each shard's master and replicas come with their health (failed replicas included). A shard
    /// listed without a master (every node of it failed over elsewhere) and without slots is left
    /// out; one without a master but with slots is an error.
    public struct SHARDS: RedisCommandRepresentable {
        /// `CLUSTER SHARDS`.
        public static let name = "CLUSTER SHARDS"
        /// Creates the command.
        public init() {}
        /// None.
        public var keys: [RedisKey] { [] }
        /// Read-only.
        public var isReadOnly: Bool { true }
        /// `CLUSTER SHARDS`.
        public var command: RedisCommand { RedisCommand("CLUSTER", "SHARDS") }

        /// The map.
        ///
        /// - Throws: ``RedisError`` with ``RedisError/Code/protocolError`` naming the command and the
        ///   field when the reply is not the shape Redis 7 sends, or when the map contradicts itself
        ///   (see ``ClusterTopology/init(shards:)``). A map that leaves slots uncovered is returned;
        ///   check it with ``ClusterTopology/requireFullCoverage()``.
        public func decode(_ reply: RedisReply) throws(RedisError) -> ClusterTopology {
            var shards: [ClusterTopology.Shard] = []
            for shardReply in try elements(reply) {
                let fields = try fieldMap(shardReply, what: "a shard")
                guard case .array(let bounds)? = fields["slots"], bounds.count % 2 == 0 else {
                    throw unexpectedReply(shardReply, expected: "a shard with slots as start and end pairs")
                }
                var slots: [ClosedRange<Int>] = []
                for index in stride(from: 0, to: bounds.count, by: 2) {
                    guard case .integer(let start) = bounds[index], case .integer(let end) = bounds[index + 1],
                        start <= end
                    else { throw unexpectedReply(shardReply, expected: "slot ranges as integer pairs") }
                    slots.append(Int(start)...Int(end))
                }
                guard case .array(let nodeReplies)? = fields["nodes"] else {
                    throw unexpectedReply(shardReply, expected: "a shard with nodes")
                }
                var master: ClusterTopology.Node?
                var replicas: [ClusterTopology.Node] = []
                for nodeReply in nodeReplies {
                    let node = try self.node(nodeReply)
                    if node.role == .master, master == nil {
                        master = node
                    } else {
                        replicas.append(node)
                    }
                }
                guard let master else {
                    if slots.isEmpty { continue }
                    let first = slots[0]
                    throw ClusterTopology.invalid(
                        "the shard serving slots \(first.lowerBound)-\(first.upperBound) has no master")
                }
                shards.append(
                    ClusterTopology.Shard(
                        slots: slots.sorted { $0.lowerBound < $1.lowerBound }, master: master, replicas: replicas))
            }
            return try ClusterTopology(shards: shards)
        }

        /// One node's field/value pairs as a node.
        private func node(_ reply: RedisReply) throws(RedisError) -> ClusterTopology.Node {
            let fields = try fieldMap(reply, what: "a node")
            guard let id = fields["id"]?.string, !id.isEmpty else {
                throw unexpectedReply(reply, expected: "a node with an id")
            }
            guard case .integer(let port)? = fields["port"], (1...65535).contains(port) else {
                throw unexpectedReply(reply, expected: "a node with a port")
            }
            guard let host = CLUSTER.usableHost(fields["endpoint"]?.string) ?? CLUSTER.usableHost(fields["ip"]?.string)
            else { throw unexpectedReply(reply, expected: "a node with an endpoint or ip") }
            let role: ClusterTopology.Role
            switch fields["role"]?.string {
            case "master": role = .master
            case "replica", "slave": role = .replica
            default: throw unexpectedReply(reply, expected: "a node with role master or replica")
            }
            var offset: Int?
            if case .integer(let value)? = fields["replication-offset"] { offset = Int(value) }
            let health = fields["health"]?.string.map(ClusterTopology.Health.init(rawValue:)) ?? .online
            return ClusterTopology.Node(
                id: id, host: host, port: Int(port), role: role, health: health, replicationOffset: offset)
        }

        /// A RESP2 flat map (`field value field value …`) by field name.
        private func fieldMap(_ reply: RedisReply, what: String) throws(RedisError) -> [String: RedisReply] {
            guard case .array(let items) = reply, items.count % 2 == 0 else {
                throw unexpectedReply(reply, expected: "\(what) as field and value pairs")
            }
            var fields: [String: RedisReply] = [:]
            for index in stride(from: 0, to: items.count, by: 2) {
                guard let name = items[index].string else {
                    throw unexpectedReply(reply, expected: "\(what) as field and value pairs")
                }
                fields[name] = items[index + 1]
            }
            return fields
        }
    }

    /// `CLUSTER SLOTS` (deprecated since Redis 7.0, the fallback for older servers): the slot
    /// ranges with their master and replicas, decoded into a ``ClusterTopology``.
    ///
    /// Redis lists a master once per slot range it serves; the ranges are merged into one shard per
    /// master. Failed replicas are not listed, and no health is reported (every node is
    /// ``ClusterTopology/Health/online``).
    public struct SLOTS: RedisCommandRepresentable {
        /// `CLUSTER SLOTS`.
        public static let name = "CLUSTER SLOTS"
        /// The host this command is sent to: a node whose preferred endpoint is unknown (`?`, empty
        /// or nil, as Redis reports it with `cluster-preferred-endpoint-type unknown-endpoint`) is
        /// reached there. `nil` makes such a node an error.
        public var queriedHost: String?

        /// Creates the command.
        /// - Parameter queriedHost: The host the command is sent to.
        public init(queriedHost: String? = nil) { self.queriedHost = queriedHost }
        /// None.
        public var keys: [RedisKey] { [] }
        /// Read-only.
        public var isReadOnly: Bool { true }
        /// `CLUSTER SLOTS`.
        public var command: RedisCommand { RedisCommand("CLUSTER", "SLOTS") }

        /// The map.
        ///
        /// - Throws: ``RedisError`` with ``RedisError/Code/protocolError`` naming the command when the
        ///   reply is not the shape Redis sends, or when the map contradicts itself (see
        ///   ``ClusterTopology/init(shards:)``). A map that leaves slots uncovered is returned.
        public func decode(_ reply: RedisReply) throws(RedisError) -> ClusterTopology {
            var shards: [ClusterTopology.Shard] = []
            var shardOfMaster: [String: Int] = [:]
            for rangeReply in try elements(reply) {
                guard case .array(let items) = rangeReply, items.count >= 3, case .integer(let start) = items[0],
                    case .integer(let end) = items[1], start <= end
                else { throw unexpectedReply(rangeReply, expected: "a slot range with start, end and master") }
                let master = try node(items[2], role: .master)
                var replicas: [ClusterTopology.Node] = []
                for item in items.dropFirst(3) { replicas.append(try node(item, role: .replica)) }
                let range = Int(start)...Int(end)
                if let index = shardOfMaster[master.id] {
                    shards[index].slots.append(range)
                    for replica in replicas where !shards[index].replicas.contains(where: { $0.id == replica.id }) {
                        shards[index].replicas.append(replica)
                    }
                } else {
                    shardOfMaster[master.id] = shards.count
                    shards.append(ClusterTopology.Shard(slots: [range], master: master, replicas: replicas))
                }
            }
            for index in shards.indices { shards[index].slots.sort { $0.lowerBound < $1.lowerBound } }
            return try ClusterTopology(shards: shards)
        }

        /// `[endpoint, port, id, {metadata}]` as a node.
        private func node(_ reply: RedisReply, role: ClusterTopology.Role) throws(RedisError) -> ClusterTopology.Node {
            guard case .array(let items) = reply, items.count >= 3, case .integer(let port) = items[1],
                (1...65535).contains(port), let id = items[2].string, !id.isEmpty
            else { throw unexpectedReply(reply, expected: "a node as endpoint, port and id") }
            // Redis 7 appends networking metadata (`ip`, `hostname`) as field/value pairs.
            var metadataIP: String?
            if items.count > 3, case .array(let metadata) = items[3] {
                for index in stride(from: 0, to: metadata.count - 1, by: 2) where metadata[index].string == "ip" {
                    metadataIP = metadata[index + 1].string
                }
            }
            guard
                let host = CLUSTER.usableHost(items[0].string) ?? CLUSTER.usableHost(metadataIP)
                    ?? CLUSTER.usableHost(queriedHost)
            else { throw unexpectedReply(reply, expected: "a node with a known endpoint") }
            return ClusterTopology.Node(id: id, host: host, port: Int(port), role: role)
        }
    }

    /// `CLUSTER INFO`: the cluster's state as the node sees it, `field: value` pairs
    /// (`cluster_state` `ok` or `fail`, `cluster_slots_assigned`, `cluster_slots_ok`,
    /// `cluster_slots_pfail`, `cluster_slots_fail`, `cluster_known_nodes`, `cluster_size`, …).
    public struct INFO: RedisCommandRepresentable {
        /// `CLUSTER INFO`.
        public static let name = "CLUSTER INFO"
        /// Creates the command.
        public init() {}
        /// None.
        public var keys: [RedisKey] { [] }
        /// Read-only.
        public var isReadOnly: Bool { true }
        /// `CLUSTER INFO`.
        public var command: RedisCommand { RedisCommand("CLUSTER", "INFO") }
        /// Each `field:value` line by field.
        ///
        /// - Throws: ``RedisError`` with ``RedisError/Code/protocolError`` when the reply is not a
        ///   bulk string or has no `cluster_state` field.
        public func decode(_ reply: RedisReply) throws(RedisError) -> [String: String] {
            guard case .bulk = reply, let fields = try? RedisClient.INFO("cluster").decode(reply),
                fields["cluster_state"] != nil
            else {
                throw unexpectedReply(reply, expected: "CLUSTER INFO fields with cluster_state")
            }
            return fields
        }
    }

    /// `host` unless it is missing, empty or `?` (Redis's "unknown endpoint").
    static func usableHost(_ host: String?) -> String? {
        guard let host, !host.isEmpty, host != "?" else { return nil }
        return host
    }
}

extension INFO {
    /// `INFO cluster`: whether the server runs in cluster mode (`cluster_enabled:1`).
    ///
    /// How the client decides its mode when ``RedisConfiguration/mode`` is
    /// ``RedisConfiguration/Mode/auto``: ask the first seed.
    public struct CLUSTER: RedisCommandRepresentable {
        /// `INFO cluster`.
        public static let name = "INFO cluster"
        /// Creates the command.
        public init() {}
        /// None.
        public var keys: [RedisKey] { [] }
        /// Read-only.
        public var isReadOnly: Bool { true }
        /// `INFO cluster`.
        public var command: RedisCommand { INFO("cluster").command }
        /// `true` when the section says `cluster_enabled:1`, `false` for `cluster_enabled:0`.
        ///
        /// - Throws: ``RedisError`` with ``RedisError/Code/protocolError`` when the reply has no
        ///   `cluster_enabled` field (not a Redis server, or one that reports no cluster section).
        public func decode(_ reply: RedisReply) throws(RedisError) -> Bool {
            let fields = try INFO("cluster").decode(reply)
            switch fields["cluster_enabled"] {
            case "1": return true
            case "0": return false
            default: throw unexpectedReply(reply, expected: "an INFO cluster section with cluster_enabled")
            }
        }
    }
}
