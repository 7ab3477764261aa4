/// A Redis Cluster's slot map as a value: its nodes, which master serves which hash slots, and
/// each master's replicas.
///
/// Decode one from `CLUSTER SHARDS` (``CLUSTER/SHARDS``, Redis 7) or, on older servers,
/// `CLUSTER SLOTS` (``CLUSTER/SLOTS``); or build one from ``Shard`` values. ``masterFor(slot:)``
/// is a lookup in a 16384-entry table, so a router can call it for every command.
///
/// A map may leave slots uncovered (a cluster that is down or being set up); ``firstUncoveredSlot``
/// says where, and ``requireFullCoverage()`` turns that into an error naming the slot.
public struct ClusterTopology: Sendable, Hashable {
    /// What a node does in its shard.
    public enum Role: String, Sendable, Hashable, CustomStringConvertible {
        /// The node serves the shard's slots.
        case master
        /// The node replicates its shard's master.
        case replica

        /// `master` or `replica`.
        public var description: String { rawValue }
    }

    /// A node's health as `CLUSTER SHARDS` reports it. Values Redis may add later are kept as they come.
    public struct Health: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The word Redis uses (`online`, `fail`, `loading`).
        public let rawValue: String

        /// Wraps Redis's word.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The node is up and serving.
        public static let online = Health(rawValue: "online")
        /// The cluster marks the node failed.
        public static let failed = Health(rawValue: "fail")
        /// The node is loading its data set (a replica's first sync, a restart).
        public static let loading = Health(rawValue: "loading")

        /// Redis's word.
        public var description: String { rawValue }
    }

    /// One node of the cluster.
    public struct Node: Sendable, Hashable, Identifiable, CustomStringConvertible {
        /// The node's 40-character cluster id.
        public var id: String
        /// The host to connect to (the node's preferred endpoint, else its IP).
        public var host: String
        /// The TCP port clients connect to.
        public var port: Int
        /// Master or replica.
        public var role: Role
        /// Up, failed or loading. `CLUSTER SLOTS` does not report health and lists only nodes that
        /// are not marked failed, so nodes decoded from it are ``Health/online``.
        public var health: Health
        /// The replication offset, when the reply has one (`CLUSTER SHARDS`).
        public var replicationOffset: Int?

        /// Creates a node.
        public init(
            id: String, host: String, port: Int, role: Role, health: Health = .online, replicationOffset: Int? = nil
        ) {
            self.id = id
            self.host = host
            self.port = port
            self.role = role
            self.health = health
            self.replicationOffset = replicationOffset
        }

        /// Where to connect: `host:port` (`[host]:port` for IPv6).
        public var endpoint: RedisConfiguration.Endpoint { .tcp(host: host, port: port) }

        /// `host:port role health`, e.g. `127.0.0.1:7001 master online`.
        public var description: String { "\(endpoint) \(role) \(health)" }
    }

    /// A master, the slots it serves, and its replicas.
    public struct Shard: Sendable, Hashable {
        /// The slot ranges the master serves, ascending; empty for a master without slots.
        public var slots: [ClosedRange<Int>]
        /// The node that serves the slots.
        public var master: Node
        /// The nodes that replicate the master (failed ones included, with their ``Health``).
        public var replicas: [Node]

        /// Creates a shard.
        public init(slots: [ClosedRange<Int>], master: Node, replicas: [Node] = []) {
            self.slots = slots
            self.master = master
            self.replicas = replicas
        }

        /// How many slots the master serves.
        public var slotCount: Int { slots.reduce(0) { $0 + $1.count } }
    }

    /// The shards, one per master, in the order the server listed them.
    public let shards: [Shard]
    /// For each slot, the index in ``shards`` of its master, or ``uncovered``.
    private let owners: [UInt16]
    /// The table entry of a slot no master serves.
    private static let uncovered = UInt16.max

    /// Builds a map from shards.
    ///
    /// - Throws: ``RedisError`` with ``RedisError/Code/protocolError`` when a slot range lies outside
    ///   `0...16383`, when two masters claim the same slot (naming the slot and both masters), or when
    ///   a master appears twice.
    public init(shards: [Shard]) throws(RedisError) {
        var owners = [UInt16](repeating: Self.uncovered, count: HashSlot.count)
        var seen: Set<String> = []
        for (index, shard) in shards.enumerated() {
            guard seen.insert(shard.master.id).inserted else {
                throw Self.invalid("master \(shard.master.id) (\(shard.master.endpoint)) appears in two shards")
            }
            for range in shard.slots {
                guard range.lowerBound >= 0, range.upperBound < HashSlot.count else {
                    throw Self.invalid(
                        "slot range \(range.lowerBound)-\(range.upperBound) of \(shard.master.endpoint) is outside 0-16383"
                    )
                }
                for slot in range {
                    let owner = owners[slot]
                    if owner != Self.uncovered, Int(owner) != index {
                        throw Self.invalid(
                            "slot \(slot) is claimed by both \(shards[Int(owner)].master.endpoint) and \(shard.master.endpoint)"
                        )
                    }
                    owners[slot] = UInt16(index)
                }
            }
        }
        self.shards = shards
        self.owners = owners
    }

    /// The masters, one per shard, in ``shards`` order.
    public var masters: [Node] { shards.map(\.master) }

    /// The masters that serve at least one slot, in ``shards`` order: the ones that hold keys. A map
    /// read after a failover can still list the dead master, with no slots (until it rejoins as a
    /// replica or is forgotten): cross-node work (scans, script loading, a keyless command) skips it.
    public var servingMasters: [Node] { shards.filter { !$0.slots.isEmpty }.map(\.master) }

    /// Every node: each shard's master followed by its replicas.
    public var nodes: [Node] { shards.flatMap { [$0.master] + $0.replicas } }

    /// The master that serves `slot`, or `nil` when no master does (or `slot` is outside `0..<16384`).
    /// A table lookup: O(1).
    /// - Parameter slot: A hash slot (``HashSlot/slot(for:)-(String)``).
    public func masterFor(slot: Int) -> Node? {
        shardIndex(forSlot: slot).map { shards[$0].master }
    }

    /// The index in ``shards`` of the shard that serves `slot`, or `nil` when none does. O(1).
    /// - Parameter slot: A hash slot.
    public func shardIndex(forSlot slot: Int) -> Int? {
        guard slot >= 0, slot < HashSlot.count else { return nil }
        let owner = owners[slot]
        return owner == Self.uncovered ? nil : Int(owner)
    }

    /// The master that serves `key`'s slot, or `nil` when none does.
    /// - Parameter key: The key.
    public func masterFor(key: RedisKey) -> Node? { masterFor(slot: key.slot) }

    /// The lowest slot no master serves, or `nil` when all 16384 are served.
    public var firstUncoveredSlot: Int? { owners.firstIndex(of: Self.uncovered) }

    /// How many of the 16384 slots some master serves.
    public var coveredSlotCount: Int { owners.reduce(0) { $0 + ($1 == Self.uncovered ? 0 : 1) } }

    /// Checks that every slot has a master.
    ///
    /// - Throws: ``RedisError`` with ``RedisError/Code/server`` and ``RedisError/serverCode``
    ///   `CLUSTERDOWN` (the cluster cannot serve those keys now; a later map may be whole) naming the
    ///   first uncovered slot and how many are uncovered.
    public func requireFullCoverage() throws(RedisError) {
        guard let slot = firstUncoveredSlot else { return }
        let missing = HashSlot.count - coveredSlotCount
        throw RedisError(
            code: .server,
            message:
                "redis is unavailable: the cluster map does not cover slot \(slot) (\(missing) of 16384 slots have no master)",
            serverCode: "CLUSTERDOWN")
    }

    static func invalid(_ why: String) -> RedisError {
        RedisError(code: .protocolError, message: "invalid cluster map: \(why)")
    }
}
