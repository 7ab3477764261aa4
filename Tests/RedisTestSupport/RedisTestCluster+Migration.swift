import Foundation
import RedisClient

extension RedisTestCluster {
    /// Moves `slot` and its keys from the master serving it to the master on `port`, as
    /// `redis-cli --cluster reshard` does: ``beginMigration(slot:from:to:)``, ``moveKeys(slot:from:to:count:)``
    /// until none is left, ``finishMigration(slot:from:to:)``; then waits until every node agrees
    /// (``waitUntilStateOK(timeout:)``). Clients may keep writing meanwhile: they meet `ASK`
    /// while the slot moves and `MOVED` afterwards.
    ///
    /// - Parameters:
    ///   - slot: The slot to move.
    ///   - port: The master that takes it over; nothing happens when it serves the slot already.
    ///   - batch: How many keys one `MIGRATE` moves at most.
    /// - Throws: ``RedisTestServerError`` or ``RedisError`` when a step fails, naming the step.
    public func migrate(slot: Int, to port: Int, batch: Int = 100) async throws {
        try await moveSlot(slot, to: port, batch: batch)
        try await waitUntilStateOK()
    }

    /// Moves every slot of `slots` to the master on `port` (``migrate(slot:to:batch:)`` slot by
    /// slot, from whichever master serves each), then waits until every node agrees.
    ///
    /// - Throws: ``RedisTestServerError`` or ``RedisError`` when a step fails, naming the step.
    public func migrate(slots: ClosedRange<Int>, to port: Int, batch: Int = 100) async throws {
        for slot in slots { try await moveSlot(slot, to: port, batch: batch) }
        try await waitUntilStateOK()
    }

    private func moveSlot(_ slot: Int, to port: Int, batch: Int) async throws {
        let source = try await masterOwning(slot: slot)
        if source.port == port { return }
        try await beginMigration(slot: slot, from: source.port, to: port)
        while try await moveKeys(slot: slot, from: source.port, to: port, count: batch) > 0 {}
        try await finishMigration(slot: slot, from: source.port, to: port)
    }

    /// The first step of moving `slot`: `CLUSTER SETSLOT slot IMPORTING` on the target, then
    /// `MIGRATING` on the source. From now on the source answers `ASK` for keys it no longer has.
    ///
    /// - Parameters:
    ///   - slot: The slot to move.
    ///   - source: The port of the master serving it.
    ///   - target: The port of the master that takes it over.
    /// - Throws: ``RedisTestServerError`` when either is not a running master of this cluster,
    ///   ``RedisError`` when a node refuses.
    public func beginMigration(slot: Int, from source: Int, to target: Int) async throws {
        let (sourceID, targetID) = try await masterIDs(source, target)
        _ = try await send(RedisCommand("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceID), to: target)
        _ = try await send(RedisCommand("CLUSTER", "SETSLOT", slot, "MIGRATING", targetID), to: source)
    }

    /// Moves up to `count` keys of `slot` from `source` to `target` with one `MIGRATE` (after
    /// ``beginMigration(slot:from:to:)``).
    ///
    /// - Returns: How many keys the source still listed in the slot (0: the slot is empty there).
    /// - Throws: ``RedisError`` when `CLUSTER GETKEYSINSLOT` or `MIGRATE` fails.
    public func moveKeys(slot: Int, from source: Int, to target: Int, count: Int = 100) async throws -> Int {
        let reply = try await send(RedisCommand("CLUSTER", "GETKEYSINSLOT", slot, max(1, count)), to: source)
        let keys = (reply.array ?? []).compactMap(\.bytes)
        guard !keys.isEmpty else { return 0 }
        var arguments: [[UInt8]] = ["MIGRATE", "127.0.0.1", String(target), "", "0", "10000"].map { Array($0.utf8) }
        if let password = options.node.requirePassword { arguments += [Array("AUTH".utf8), Array(password.utf8)] }
        arguments += [Array("KEYS".utf8)] + keys
        // One MIGRATE at a time in the process: two in opposite directions block both nodes (each
        // waits for the other's reply) until MIGRATE's timeout, and every client of them times out.
        let migrate = RedisCommand(rawArguments: arguments)
        try await Self.migrations.run { _ = try await self.send(migrate, to: source) }
        return keys.count
    }

    /// The last step of moving `slot`: `CLUSTER SETSLOT slot NODE target` on the target, the
    /// source, and every other running master, in that order (the order the Redis Cluster
    /// specification gives), after the source's keys are all moved.
    ///
    /// - Throws: ``RedisTestServerError`` when either is not a running master of this cluster,
    ///   ``RedisError`` when a node refuses (the source does while it still holds keys of the slot).
    public func finishMigration(slot: Int, from source: Int, to target: Int) async throws {
        let (_, targetID) = try await masterIDs(source, target)
        let masters = try await topology().filter { $0.role == .master && !$0.failed && livePorts.contains($0.port) }
        let others = masters.map(\.port).filter { $0 != source && $0 != target }
        for port in [target, source] + others {
            _ = try await send(RedisCommand("CLUSTER", "SETSLOT", slot, "NODE", targetID), to: port)
        }
    }

    /// The node ids of two running masters.
    private func masterIDs(_ source: Int, _ target: Int) async throws -> (String, String) {
        let nodes = try await topology()
        func master(_ port: Int) throws -> String {
            guard let node = nodes.first(where: { $0.port == port }), node.role == .master, !node.failed,
                livePorts.contains(port)
            else {
                throw RedisTestServerError(message: "the node on port \(port) is not a running master: \(nodes)")
            }
            return node.id
        }
        return (try master(source), try master(target))
    }

    private static let migrations = MigrationLine()
}

/// Runs one body at a time, in the order callers arrive.
private actor MigrationLine {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run(_ body: @Sendable () async throws -> Void) async throws {
        while busy { await withCheckedContinuation { waiters.append($0) } }
        busy = true
        defer {
            busy = false
            if !waiters.isEmpty { waiters.removeFirst().resume() }
        }
        try await body()
    }
}
