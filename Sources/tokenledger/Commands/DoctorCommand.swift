import ArgumentParser
import Foundation
import RedisClient
import TokenLedger

/// `tokenledger doctor`: checks that Redis answers and reports what it finds.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract:
            "Check Redis and the namespace: connectivity, version, schema and migrations, scripts, persistence, memory, rollover.",
        discussion: """
            Prints one line per check (ok, warn or fail). Exits 69 when Redis is unavailable, 77 when it \
            refuses the user (wrong password), 70 when a check fails (e.g. the Lua scripts are not \
            loaded, or the server is a read-only replica), else 0, warnings included. Run as the \
            application's least-privilege user, checks that need the administrator say so (warn). On a \
            Redis Cluster it also reports cluster_state, the slots, and each node (role, slots, master, \
            ping, persistence, memory, and on masters scripts and permissions), and exits 70 when \
            cluster_state is not ok, slots have no master or a master does not answer. The counting check \
            says whether token estimates are exact (TOKENLEDGER_BPE_DIR's rank files) or the heuristic \
            fallback, and why. With TOKENLEDGER_SPOOL_DIR, the spool check counts the events waiting, \
            rejected and parked (warn when some are parked or rejected).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: FormatOptions

    func run() async throws {
        try await reportingFailures {
            let formatter = try output.formatter()
            let connectivity: Diagnostics.Connectivity
            do {
                connectivity = try await Diagnostics.probe(try await global.redisConfiguration())
            } catch let error as RedisError where error.isPermissionDenied {
                // The exit table would add its hint about administrative commands (NOPERM, NOAUTH):
                // a refused connection is not one, and the probe's message already says what failed.
                throw CLIFailure(exitCode: .permissionDenied, message: error.message)
            }
            var result = DoctorOutput(connectivity)
            (result.checks, result.cluster) = try await global.withRepository { repository in
                if let cluster = try await Diagnostics.cluster(repository: repository) {
                    return (cluster.checks, cluster)
                }
                return (try await Diagnostics.run(repository: repository), nil)
            }
            var local = [Diagnostics.counting(try await global.localSettings())]
            if let spool = try await openSpool(global) { local.append(Diagnostics.spool(spool.status())) }
            result.checks += local
            // On a cluster the top-level checks are the cluster's: its failures decide the exit code.
            result.cluster?.checks += local
            try formatter.print(result)
            if let cluster = result.cluster {
                // Name the node or the slots: on a cluster, "masters failed" alone says too little.
                let failed = cluster.failures
                if !failed.isEmpty {
                    throw CLIFailure(
                        exitCode: .internalError,
                        message: "doctor: " + failed.map { "\($0.name) failed: \($0.detail)" }.joined(separator: "; "))
                }
                return
            }
            let failed = result.checks.filter { $0.status == .fail }
            if !failed.isEmpty {
                throw CLIFailure(
                    exitCode: .internalError,
                    message: "doctor: \(failed.map(\.name).joined(separator: ", ")) failed (see above)")
            }
        }
    }
}

/// What `doctor` found: `{"checks":[{"detail","name","status"}],"redis","round_trip_microseconds","server_version"}`
/// (`server_version` null when INFO needs the administrator's user), and on a Redis Cluster
/// `"cluster":{"nodes":[{"address","checks","health","id","master","reachable","role","slot_count","slots"}],"slots_served","state"}`
/// (the cluster's and the namespace's checks are the top-level `checks`).
struct DoctorOutput: CommandResult {
    var redis: String
    var serverVersion: String?
    var roundTripMicroseconds: Int
    var checks: [Diagnostics.Check] = []
    var cluster: Diagnostics.ClusterReport?

    init(_ connectivity: Diagnostics.Connectivity) {
        redis = connectivity.redis
        serverVersion = connectivity.serverVersion
        let (seconds, attoseconds) = connectivity.roundTrip.components
        roundTripMicroseconds = Int(clamping: seconds) &* 1_000_000 &+ Int(attoseconds / 1_000_000_000_000)
    }

    enum CodingKeys: String, CodingKey {
        case redis, checks, cluster
        case serverVersion = "server_version"
        case roundTripMicroseconds = "round_trip_microseconds"
    }

    enum ClusterKeys: String, CodingKey {
        case state, nodes
        case slotsServed = "slots_served"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(redis, forKey: .redis)
        try c.encode(serverVersion, forKey: .serverVersion)
        try c.encode(roundTripMicroseconds, forKey: .roundTripMicroseconds)
        try c.encode(checks, forKey: .checks)
        if let cluster {
            var nested = c.nestedContainer(keyedBy: ClusterKeys.self, forKey: .cluster)
            try nested.encode(cluster.state, forKey: .state)
            try nested.encode(cluster.slotsServed, forKey: .slotsServed)
            try nested.encode(cluster.nodes, forKey: .nodes)
        }
    }

    /// The connection, the server version, the round trip, then one `STATUS  name: detail` line per check.
    func renderTable() throws -> String {
        var text = "redis: \(redis) ok\n"
        text += "server version: \(serverVersion ?? "not shown (INFO needs the administrator's user)")\n"
        text += "round trip: \(String(format: "%.2f", Double(roundTripMicroseconds) / 1000)) ms (connect and PING)\n"
        if let cluster { text += Self.renderCluster(cluster) }
        for check in checks { text += Self.line(check) }
        return text
    }

    private static func line(_ check: Diagnostics.Check, indent: String = "") -> String {
        "\(indent)\(check.status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  \(check.name): \(check.detail)\n"
    }

    /// `cluster: state ok, …`, then per node `host:port  role  health  …` and its checks, indented.
    private static func renderCluster(_ cluster: Diagnostics.ClusterReport) -> String {
        let masters = cluster.nodes.filter { $0.role == "master" }.count
        var text =
            "cluster: state \(cluster.state), \(cluster.slotsServed) of 16384 slots served, \(cluster.nodes.count) nodes "
            + "(\(masters) masters, \(cluster.nodes.count - masters) replicas)\n"
        for node in cluster.nodes {
            let serves =
                node.master.map { "of \($0)" }
                ?? "slots \(node.slots.isEmpty ? "none" : node.slots.joined(separator: ",")) (\(node.slotCount))"
            text += "  \(node.address)  \(node.role)  \(node.health)  id \(node.id.prefix(8))  \(serves)\n"
            for check in node.checks { text += line(check, indent: "    ") }
        }
        return text
    }

    /// `name,status,detail`, a row per check; on a cluster then a row per node's check, named
    /// `host:port name`.
    func csvRows() throws -> [[String]] {
        let nodeChecks = (cluster?.nodes ?? []).flatMap { node in
            node.checks.map { ["\(node.address) \($0.name)", $0.status.rawValue, $0.detail] }
        }
        return [["name", "status", "detail"]] + checks.map { [$0.name, $0.status.rawValue, $0.detail] } + nodeChecks
    }
}
