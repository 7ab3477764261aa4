import Foundation
import RedisClient

// doctor on a Redis Cluster: the checks run on each node, on the node's own pool.
extension Diagnostics {
    /// Checks one node: `ping` (a master that does not answer fails, a replica warns), the server's
    /// `persistence` and `memory`, and on a master the `scripts` and the least-privilege probes
    /// (`permissions`, `key access`) on keys of a slot it serves.
    static func inspect(
        _ node: ClusterTopology.Node, of shard: ClusterTopology.Shard, pool: RedisConnectionPool,
        repository: TokenRepository, now: Date
    ) async -> NodeReport {
        let isMaster = node.id == shard.master.id
        var report = NodeReport(
            address: "\(node.endpoint)", id: node.id, role: isMaster ? "master" : "replica",
            health: node.health.rawValue, slots: isMaster ? shard.slots.map(format) : [],
            slotCount: isMaster ? shard.slotCount : 0, master: isMaster ? nil : "\(shard.master.endpoint)",
            reachable: false, checks: [])

        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await pool.send(PING())
            let elapsed = clock.now - start
            let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            report.reachable = true
            report.checks.append(
                Check(
                    name: "ping", status: .ok,
                    detail: "answers PING in \(String(format: "%.2f", milliseconds)) ms (connect and PING)"))
        } catch let error as RedisError where error.isPermissionDenied {
            // It answers, but not to this user: an ACL user missing on this node, or another password.
            report.reachable = true
            report.checks.append(
                Check(
                    name: "ping", status: .fail,
                    detail: "the node refuses this user: \(error.message) (every node needs the same ACL users: "
                        + "docs/operations.md, Redis Cluster)"))
            return report
        } catch {
            let why = (error as? RedisError)?.message ?? "\(error)"
            // A master without slots (dead, its replica took over, still listed) holds nothing: a warning.
            let serves = isMaster && shard.slotCount > 0
            report.checks.append(
                Check(
                    name: "ping", status: serves ? .fail : .warn,
                    detail: serves
                        ? "the master does not answer: \(why)"
                        : isMaster
                            ? "a master without slots does not answer (a replica took over; forget it with "
                                + "CLUSTER FORGET or restart it as a replica): \(why)"
                            : "the replica does not answer (its master still serves): \(why)"))
            return report
        }

        let nodeRepository: TokenRepository
        do {
            nodeRepository = try TokenRepository(pool: pool, configuration: repository.configuration)
        } catch {
            report.checks.append(Check(name: "scripts", status: .fail, detail: error.message))
            return report
        }
        report.checks += await nodeCheck("persistence", on: node) { try await server(nodeRepository) }
        guard isMaster else { return report }
        report.checks += await nodeCheck("scripts", on: node) { [try await scripts(nodeRepository)] }
        if shard.slots.isEmpty {
            report.checks.append(
                Check(name: "permissions", status: .ok, detail: "not probed: the master serves no slots"))
        } else {
            report.checks += await nodeCheck("permissions", on: node) {
                try await nodePermissions(nodeRepository, shard: shard, now: now)
            }
        }
        return report
    }

    /// Runs one check on a node; a refusal for this user becomes a warning, and an error (the node
    /// stopped answering, a reply that does not decode) a warning naming it, so one node's trouble
    /// does not hide the others' report.
    static func nodeCheck(
        _ name: String, on node: ClusterTopology.Node?, _ body: () async throws -> [Check]
    ) async -> [Check] {
        let place = node.map { " on \($0.endpoint)" } ?? ""
        do {
            return try await permitted(name, body)
        } catch let error as RedisError {
            return [Check(name: name, status: .warn, detail: "not checked\(place): \(error.message)")]
        } catch {
            return [Check(name: name, status: .warn, detail: "not checked\(place): \(error)")]
        }
    }

    /// The least-privilege probes on one master, with keys of a slot it serves: the read-only
    /// `check.lua` for a probe user (the application's path; the user must exist on every node), the
    /// commands the scripts run on the rate-limit keys (`refusedRateCommands(_:_:)`), and reading a
    /// key outside the namespace.
    static func nodePermissions(_ repository: TokenRepository, shard: ClusterTopology.Shard, now: Date) async throws
        -> [Check]
    {
        let pool = repository.pool
        let namespace = repository.keys.namespace
        let whoami = try? await pool.send(ACL.WHOAMI())
        let who = whoami.map { "user '\($0)'" } ?? "this user"
        let seed = UInt32.random(in: 0...UInt32.max)
        let serves = { (key: String) in
            let slot = HashSlot.slot(for: key)
            return shard.slots.contains { $0.contains(slot) }
        }
        // About one in three names lands on a master of three; 10,000 tries never all miss.
        guard
            let probe = try (0..<10_000).lazy.map({ "doctor-probe-\(seed)-\($0)" }).first(where: {
                serves(try repository.keys.user($0).profile)
            }),
            let outside = (0..<10_000).lazy.map({ "doctor-probe-\(seed)-\($0):outside-\(namespace)" }).first(
                where: serves)
        else {
            return [Check(name: "permissions", status: .ok, detail: "not probed: no probe key lands on this master")]
        }

        var checks: [Check] = []
        do {
            let settings = TokenRepository.Settings(defaultLimit: nil, defaultPolicy: .default)
            let userKeys = try repository.keys.user(probe)
            let _: Void = try await repository.withCycle(user: probe, explicit: nil, at: now, settings: settings) {
                target, assumed in
                let carried = try repository.carriedCycleKeys(
                    user: probe, assumed: assumed, target: target.start, at: now)
                let call = CheckScript(
                    userKeys: userKeys, cycle: target.start, carried: carried, assumedPolicy: assumed, tokens: 0,
                    defaultLimit: nil)
                switch try await repository.run(call) {
                case .policy(let stored): return .retry(stored)
                case .decided: return .done(())
                }
            }
            // The rate keys are touched only for a scope with a rate limit: probed on their own.
            let refused = try await refusedRateCommands(pool, userKeys)
            checks.append(
                refused.isEmpty
                    ? Check(
                        name: "permissions", status: .ok,
                        detail: "\(who) runs TokenLedger's scripts on '\(namespace):*'")
                    : rateRefusal(who: who, namespace: namespace, refused: refused))
        } catch let error as RedisError where isPermissionError(error) {
            checks.append(
                Check(
                    name: "permissions", status: .fail,
                    detail:
                        "\(who) may not run TokenLedger's scripts on '\(namespace):*' on this node: \(error.message) "
                        + "(every node needs the same ACL users: docs/operations.md, Redis Cluster)"))
        }
        do {
            _ = try await pool.send(EXISTS(outside))
            checks.append(
                Check(
                    name: "key access", status: .warn,
                    detail: "\(who) may read keys outside '\(namespace):*'; give the application its own ACL user"))
        } catch let error as RedisError where isPermissionError(error) {
            checks.append(Check(name: "key access", status: .ok, detail: "\(who) is confined to '\(namespace):*'"))
        }
        return checks
    }
}
