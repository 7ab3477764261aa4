import Foundation
import RedisClient

extension RedisTestCluster {
    /// A node's role in the cluster.
    public enum Role: String, Sendable, Hashable {
        /// Serves slots (or is a master that lost them).
        case master
        /// Replicates a master.
        case replica
    }

    /// One node as a line of `CLUSTER NODES` describes it.
    public struct Node: Sendable, Hashable, CustomStringConvertible {
        /// The node's 40-character id.
        public var id: String
        /// Its TCP port on 127.0.0.1.
        public var port: Int
        /// Master or replica.
        public var role: Role
        /// For a replica, its master's id.
        public var masterID: String?
        /// The slots it serves (a master), as ranges in ascending order.
        public var slots: [ClosedRange<Int>]
        /// Whether the node that was asked counts it as failed (`fail` or `fail?`).
        public var failed: Bool

        /// `127.0.0.1:port`, as `MOVED` and `ASK` name it.
        public var address: String { "127.0.0.1:\(port)" }

        /// Whether it serves `slot`.
        public func serves(slot: Int) -> Bool {
            slots.contains { $0.contains(slot) }
        }

        /// A hash tag whose slot this node serves: `prefix` followed by the first number that
        /// lands there, so `{tag}` keys go to this node. `nil` when it serves no slot.
        public func hashTag(prefix: String = "tag") -> String? {
            guard !slots.isEmpty else { return nil }
            var number = 0
            while true {
                let tag = "\(prefix)\(number)"
                if serves(slot: HashSlot.slot(for: tag)) { return tag }
                number += 1
            }
        }

        /// `port role slots`, for failure messages.
        public var description: String {
            let ranges = slots.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            return "\(port) \(role.rawValue)\(failed ? " (failed)" : "") [\(ranges.joined(separator: ","))]"
        }

        /// Reads one line of `CLUSTER NODES`:
        /// `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>…`, where a slot is
        /// `N` or `A-B`; `[N->-id]` and `[N-<-id]` (a migration in progress) are skipped.
        ///
        /// - Returns: `nil` for a line that is not a node (blank, or too short).
        public static func parse(line: Substring) -> Node? {
            let fields = line.split(separator: " ")
            guard fields.count >= 8 else { return nil }
            let address = fields[1].prefix { $0 != "@" && $0 != "," }
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...])
            else { return nil }
            let flags = fields[2].split(separator: ",")
            let role: Role = flags.contains("slave") ? .replica : .master
            var slots: [ClosedRange<Int>] = []
            for field in fields.dropFirst(8) where !field.hasPrefix("[") {
                let bounds = field.split(separator: "-").compactMap { Int($0) }
                if bounds.count == 1 { slots.append(bounds[0]...bounds[0]) }
                if bounds.count == 2, bounds[0] <= bounds[1] { slots.append(bounds[0]...bounds[1]) }
            }
            return Node(
                id: String(fields[0]), port: port, role: role,
                masterID: fields[3] == "-" ? nil : String(fields[3]),
                slots: slots.sorted { $0.lowerBound < $1.lowerBound },
                failed: flags.contains("fail") || flags.contains("fail?"))
        }
    }

    /// The cluster as a running node sees it now (`CLUSTER NODES`), sorted by port.
    ///
    /// - Throws: ``RedisTestServerError`` when no running node answers.
    public func topology() async throws -> [Node] {
        try await topology(askingFirstOf: livePorts)
    }

    /// The topology from the first of `ports` that answers.
    func topology(askingFirstOf ports: [Int]) async throws -> [Node] {
        var lastError: (any Error)?
        for port in ports {
            do {
                let text = try await send(RedisCommand("CLUSTER", "NODES"), to: port).string ?? ""
                return text.split(separator: "\n").compactMap { Node.parse(line: $0) }.sorted { $0.port < $1.port }
            } catch {
                lastError = error
            }
        }
        throw RedisTestServerError(
            message: "no node of the test cluster answered CLUSTER NODES: \(lastError.map { "\($0)" } ?? "none runs")")
    }

    /// The master serving `slot` now, as a running node sees it.
    ///
    /// - Throws: ``RedisTestServerError`` when `slot` is out of range, no node answers, or no
    ///   master serves the slot.
    public func masterOwning(slot: Int) async throws -> Node {
        guard (0..<HashSlot.count).contains(slot) else {
            throw RedisTestServerError(message: "slot \(slot) is out of range 0...\(HashSlot.count - 1)")
        }
        let nodes = try await topology()
        guard let master = nodes.first(where: { $0.role == .master && !$0.failed && $0.serves(slot: slot) }) else {
            throw RedisTestServerError(message: "no live master serves slot \(slot): \(nodes)")
        }
        return master
    }

    /// The master serving `key`'s slot now.
    ///
    /// - Throws: ``RedisTestServerError`` when no node answers or no master serves the slot.
    public func masterOwning(key: String) async throws -> Node {
        try await masterOwning(slot: HashSlot.slot(for: key))
    }

    /// Waits until the cluster is whole: every running node reports `cluster_state:ok` with all
    /// 16,384 slots assigned and served, every running node's `CLUSTER SLOTS` names the same
    /// running master for every slot, every running node knows every other one, counts none as
    /// failed and agrees on who replicates whom, and every running replica's link to its master
    /// is up.
    ///
    /// - Parameter timeout: How long to wait at most; generous, as a loaded machine is slow.
    /// - Throws: ``RedisTestServerError`` naming what was still wrong at the deadline.
    public func waitUntilStateOK(timeout: Duration = .seconds(120)) async throws {
        var problem = "not checked yet"
        let whole = await waitUntil(timeout: timeout, interval: .milliseconds(50)) {
            problem = await self.stateProblem() ?? ""
            return problem.isEmpty
        }
        if !whole { throw RedisTestServerError(message: "the test cluster is not whole: \(problem)") }
    }

    /// What keeps the cluster from being whole now, or `nil` when it is.
    private func stateProblem() async -> String? {
        let live = livePorts
        var owners: [Int]?
        var agreedRoles: [String]?
        for port in live {
            do {
                let info = try await send(RedisCommand("CLUSTER", "INFO"), to: port).string ?? ""
                for line in ["cluster_state:ok", "cluster_slots_assigned:16384", "cluster_slots_ok:16384"]
                where !info.contains(line) {
                    return "node \(port) does not report \(line)"
                }
                let map = try slotOwners(try await send(RedisCommand("CLUSTER", "SLOTS"), to: port))
                if let unserved = map.firstIndex(where: { !live.contains($0) }) {
                    return "node \(port) sees slot \(unserved) served by \(map[unserved]), which is not running"
                }
                if let owners, owners != map {
                    let slot = owners.indices.first { owners[$0] != map[$0] } ?? 0
                    return "nodes disagree on slot \(slot): \(owners[slot]) or \(map[slot]) (as \(port) sees it)"
                }
                owners = map
                let view = try await send(RedisCommand("CLUSTER", "NODES"), to: port).string ?? ""
                let nodes = view.split(separator: "\n").compactMap { Node.parse(line: $0) }
                    .filter { live.contains($0.port) }
                if let node = nodes.first(where: \.failed) { return "node \(port) counts \(node) as failed" }
                // Who replicates whom, as this node sees it (a node's role reaches the others by gossip).
                let roles = nodes.map { "\($0.port) \($0.role) \($0.masterID ?? "-")" }.sorted()
                if nodes.count != live.count {
                    return "node \(port) knows \(nodes.count) of \(live.count) running nodes"
                }
                if let agreedRoles, agreedRoles != roles {
                    return "nodes disagree on the roles: \(agreedRoles) or \(roles) (as \(port) sees it)"
                }
                agreedRoles = roles
                let replication = try await send(RedisCommand("INFO", "replication"), to: port).string ?? ""
                if replication.contains("role:slave"), !replication.contains("master_link_status:up") {
                    return "replica \(port) has no link to its master yet"
                }
            } catch {
                return "node \(port): \(error)"
            }
        }
        return live.isEmpty ? "no node runs" : nil
    }

    /// The master port of every slot, from a `CLUSTER SLOTS` reply (`-1` where none is named).
    private func slotOwners(_ reply: RedisReply) throws -> [Int] {
        var owners = [Int](repeating: -1, count: HashSlot.count)
        for range in reply.array ?? [] {
            guard let entry = range.array, entry.count >= 3, let low = entry[0].int, let high = entry[1].int,
                let master = entry[2].array, master.count >= 2, let port = master[1].int, 0 <= low, low <= high,
                high < HashSlot.count
            else {
                throw RedisTestServerError(message: "unexpected CLUSTER SLOTS entry: \(range)")
            }
            for slot in Int(low)...Int(high) { owners[slot] = Int(port) }
        }
        return owners
    }

    /// Waits until the slots of the master killed on `port` (by ``kill(node:)``) are served by
    /// another node, its replica promoted, and the cluster is whole again
    /// (``waitUntilStateOK(timeout:)``).
    ///
    /// - Parameters:
    ///   - port: The killed master's port.
    ///   - timeout: How long to wait at most.
    /// - Returns: The node that serves the killed master's first slot now: its promoted replica.
    /// - Throws: ``RedisTestServerError`` when the node on `port` was not a master killed by
    ///   ``kill(node:)``, or the failover does not complete in time.
    @discardableResult
    public func waitForFailover(of port: Int, timeout: Duration = .seconds(120)) async throws -> Node {
        guard let killed = killedNode(port: port), killed.role == .master, let slot = killed.slots.first?.lowerBound
        else {
            throw RedisTestServerError(message: "the node on port \(port) is not a master killed by kill(node:)")
        }
        try await waitUntilStateOK(timeout: timeout)
        let master = try await masterOwning(slot: slot)
        guard master.port != port else {
            throw RedisTestServerError(message: "slot \(slot) is still served by the killed node \(port)")
        }
        return master
    }
}
