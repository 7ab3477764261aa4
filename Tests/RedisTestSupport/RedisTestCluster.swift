import Foundation
import RedisClient

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway Redis Cluster for integration tests: 3 masters and 3 replicas (by default), each a
/// ``RedisTestServer`` on a free port in its own temp directory, joined by
/// `redis-cli --cluster create`, and handed over once every node reports `cluster_state:ok` and
/// agrees that all 16,384 slots are served.
///
/// Use ``withRedisCluster(_:_:)`` for a private cluster (failover, resharding: anything that
/// changes the topology), or ``shared()`` for one cluster per test process that tests share, each
/// in its own namespace, without changing its topology.
///
/// The nodes are ordinary test servers, so what the test support does for single servers covers
/// them: a crashed test run's nodes are reaped by ``RedisTestServer/reapOrphanedServers()`` when
/// the next test process starts a server.
public final class RedisTestCluster: @unchecked Sendable {
    // @unchecked Sendable: the only mutable state (`killedNodes`) is guarded by `lock`; the
    // servers are Sendable themselves.

    /// How to start the cluster.
    public struct Options: Sendable {
        /// How many masters share the slots (`redis-cli --cluster create` needs at least 3).
        public var masters = 3
        /// How many replicas each master gets.
        public var replicasPerMaster = 1
        /// `cluster-node-timeout` in milliseconds: how long a node may be unreachable before it
        /// counts as failed and its replica takes over.
        public var nodeTimeoutMilliseconds = 1000
        /// The options of each node (AOF, a password, more arguments); ``RedisTestServer/Options/cluster``
        /// is set by the cluster. A password becomes each replica's `masterauth` too.
        public var node = RedisTestServer.Options()

        /// Default options: 3 masters with 1 replica each, a 1 s node timeout, no persistence.
        public init() {}
    }

    /// The options the cluster was started with.
    public let options: Options
    /// Every node's server, in start order (the first ``Options/masters`` were created masters).
    public let servers: [RedisTestServer]
    /// The cluster as it came up: every node with its role and slots. ``topology()`` reads the
    /// current one, after a failover or a migration.
    public let nodes: [Node]
    private let lock = NSLock()
    private var killedNodes: [Int: Node] = [:]

    private init(options: Options, servers: [RedisTestServer], nodes: [Node]) {
        self.options = options
        self.servers = servers
        self.nodes = nodes
    }

    /// Every node's port, in start order.
    public var ports: [Int] { servers.map(\.port) }

    /// Every node as a seed, `127.0.0.1:port`, in start order.
    public var seeds: [String] { ports.map { "127.0.0.1:\($0)" } }

    /// A `REDIS_URL` listing every node as a seed: `redis://127.0.0.1:P1,127.0.0.1:P2,…`.
    public var seedURL: String { "redis://" + seeds.joined(separator: ",") }

    /// The ports of the nodes that run (not killed by ``kill(node:)``).
    public var livePorts: [Int] { servers.filter { $0.pid != nil }.map(\.port) }

    /// The server listening on `port`.
    ///
    /// - Throws: ``RedisTestServerError`` when no node of this cluster listens there.
    public func server(port: Int) throws -> RedisTestServer {
        guard let server = servers.first(where: { $0.port == port }) else {
            throw RedisTestServerError(
                message: "no node of this test cluster listens on port \(port) (nodes: \(ports))")
        }
        return server
    }

    /// A single-node configuration for the node on `port`, for a connection or a pool that talks
    /// to that node alone (it does not follow redirections).
    ///
    /// - Throws: ``RedisTestServerError`` when no node of this cluster listens there.
    public func configuration(port: Int) throws -> RedisConfiguration {
        try server(port: port).configuration
    }

    /// Starts a cluster and waits until it is ready (see ``RedisTestCluster``).
    ///
    /// - Throws: ``RedisTestServerError`` when a node, `redis-cli`, or the cluster does not come up;
    ///   the nodes already started are stopped first.
    public static func start(_ options: Options = Options()) async throws -> RedisTestCluster {
        guard options.masters >= 3, options.replicasPerMaster >= 0 else {
            throw RedisTestServerError(
                message:
                    "a test cluster needs at least 3 masters and 0 or more replicas each (got \(options.masters) masters, \(options.replicasPerMaster) replicas each)"
            )
        }
        let cli = try RedisTestServer.findExecutable("redis-cli", package: "redis-tools")
        let servers = try await createCluster(options, cli: cli)
        do {
            let probe = RedisTestCluster(options: options, servers: servers, nodes: [])
            try await probe.waitUntilStateOK()
            let nodes = try await probe.topology()
            let masters = nodes.filter { $0.role == .master }.count
            let replicas = nodes.filter { $0.role == .replica }.count
            guard masters == options.masters, replicas == options.masters * options.replicasPerMaster else {
                throw RedisTestServerError(
                    message: "the test cluster came up with \(masters) masters and \(replicas) replicas")
            }
            return RedisTestCluster(options: options, servers: servers, nodes: nodes)
        } catch {
            await stop(servers)
            throw error
        }
    }

    /// Starts the nodes and joins them with `redis-cli --cluster create`; up to 3 times, each with
    /// new nodes, as a free port can be taken by another process before a node binds it, and a
    /// fresh node can meet a stranger on a port another cluster's node used to have (redis-cli
    /// then refuses it as "not empty").
    private static func createCluster(_ options: Options, cli: String) async throws -> [RedisTestServer] {
        var lastError: (any Error)?
        for _ in 0..<3 {
            let servers = try await startNodes(options)
            var arguments = ["--cluster", "create"] + servers.map { "127.0.0.1:\($0.port)" }
            arguments += ["--cluster-replicas", String(options.replicasPerMaster), "--cluster-yes"]
            if let password = options.node.requirePassword { arguments += ["-a", password, "--no-auth-warning"] }
            let output: (status: Int32, text: String, tail: String)
            do { output = try await runCLI(cli, arguments: arguments, in: servers[0].directory) } catch {
                await stop(servers)
                throw error
            }
            if output.status == 0 { return servers }
            lastError = RedisTestServerError(
                message: "redis-cli --cluster create exited with status \(output.status): \(output.tail)")
            await stop(servers)
        }
        throw lastError ?? RedisTestServerError(message: "redis-cli --cluster create failed")
    }

    /// Starts every node (concurrently), each a bare cluster node with its own port and directory.
    private static func startNodes(_ options: Options) async throws -> [RedisTestServer] {
        var node = options.node
        node.cluster = true
        node.clusterClaimsAllSlots = false
        node.extraArguments += [
            "--cluster-node-timeout", String(options.nodeTimeoutMilliseconds),
            // A replica may always take over, however long ago it last heard from its master: a
            // loaded test machine must not turn a failover test into a lost cluster.
            "--cluster-replica-validity-factor", "0",
            // A replica's first full sync starts at once, not after the default 5 s wait for more
            // replicas (one per master here): the cluster is whole seconds sooner.
            "--repl-diskless-sync-delay", "0",
        ]
        if let password = node.requirePassword { node.extraArguments += ["--masterauth", password] }
        let count = options.masters * (1 + options.replicasPerMaster)
        let nodeOptions = node
        var started: [(Int, RedisTestServer)] = []
        var failure: (any Error)?
        await withTaskGroup(of: (Int, Result<RedisTestServer, any Error>).self) { group in
            for index in 0..<count {
                group.addTask {
                    do { return (index, .success(try await RedisTestServer.start(nodeOptions))) } catch {
                        return (index, .failure(error))
                    }
                }
            }
            for await (index, result) in group {
                switch result {
                case .success(let server): started.append((index, server))
                case .failure(let error): failure = failure ?? error
                }
            }
        }
        let servers = started.sorted { $0.0 < $1.0 }.map(\.1)
        if let failure {
            await stop(servers)
            throw failure
        }
        return servers
    }

    /// Stops every node (concurrently) and waits until each has exited; removes their directories.
    /// Repeatable.
    public func stop() async {
        await Self.stop(servers)
    }

    private static func stop(_ servers: [RedisTestServer]) async {
        await withTaskGroup(of: Void.self) { group in
            for server in servers {
                group.addTask {
                    await server.stop()
                    try? FileManager.default.removeItem(at: server.directory)
                }
            }
        }
    }

    /// Kills the node on `port` with SIGKILL (no shutdown) and waits until it is gone: for
    /// failover tests. Its directory stays, so ``restart(node:)`` brings it back as the same node.
    ///
    /// - Throws: ``RedisTestServerError`` when no node listens on `port`.
    public func kill(node port: Int) async throws {
        let server = try server(port: port)
        // What it served, for waitForFailover; from a node that stays up when one answers.
        let others = livePorts.filter { $0 != port }
        let view = try? await topology(askingFirstOf: others.isEmpty ? [port] : others)
        if let node = view?.first(where: { $0.port == port }) {
            lock.withLock { killedNodes[port] = node }
        }
        server.crash()
    }

    /// What the node on `port` served when ``kill(node:)`` killed it.
    func killedNode(port: Int) -> Node? {
        lock.withLock { killedNodes[port] }
    }

    /// Starts the node on `port` again (after ``kill(node:)``), with its old directory and
    /// cluster config file, so it rejoins as the node it was (a master whose slots were taken
    /// over comes back as a replica). Call ``waitUntilStateOK(timeout:)`` afterwards.
    ///
    /// - Throws: ``RedisTestServerError`` when no node listens on `port` or it does not come up.
    public func restart(node port: Int) async throws {
        let id = nodes.first { $0.port == port }?.id
        try await server(port: port).restart()
        // While it was down another process may have taken its port: then whoever answers there is
        // not this node.
        let answering = try await send(RedisCommand("CLUSTER", "MYID"), to: port).string
        guard answering == id else {
            throw RedisTestServerError(
                message: "port \(port) was taken by another process while its node was down; the node did not come back"
            )
        }
    }

    /// Sends one command to the node on `port` alone (no redirection is followed) and returns its
    /// reply; an error reply (such as `MOVED`) is thrown as a ``RedisError``.
    ///
    /// Each call is a connection of its own, so what holds per connection does not carry over to
    /// the next call: `WAIT` (it counts the replicas that have *this* connection's writes),
    /// `ASKING`, `MULTI`, `READONLY`. For those, pipeline on one ``RedisConnection`` to
    /// ``configuration(port:)``.
    ///
    /// - Throws: ``RedisError`` from the node, ``RedisTestServerError`` when no node listens on `port`.
    public func send(_ command: RedisCommand, to port: Int) async throws -> RedisReply {
        let connection = try await RedisConnection.connect(configuration: configuration(port: port))
        do {
            let reply = try await connection.send(command)
            await connection.close()
            return reply
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Runs `redis-cli -h 127.0.0.1 -p <port> <arguments…>` (with the password when the nodes
    /// have one) and returns what it printed on standard output.
    ///
    /// - Throws: ``RedisTestServerError`` when redis-cli is missing or exits with a failure.
    public func redisCLI(_ arguments: [String], node port: Int) async throws -> String {
        let directory = try server(port: port).directory
        let cli = try RedisTestServer.findExecutable("redis-cli", package: "redis-tools")
        var all = ["-h", "127.0.0.1", "-p", String(port)]
        if let password = options.node.requirePassword { all += ["-a", password, "--no-auth-warning"] }
        let output = try await Self.runCLI(cli, arguments: all + arguments, in: directory)
        guard output.status == 0 else {
            throw RedisTestServerError(
                message: "redis-cli \(arguments.first ?? "") exited with status \(output.status): \(output.tail)")
        }
        return output.text
    }

    /// Runs redis-cli to its end, off the cooperative threads, with standard output in a file of
    /// `directory`.
    private static func runCLI(
        _ cli: String, arguments: [String], in directory: URL
    ) async throws -> (status: Int32, text: String, tail: String) {
        let file = directory.appendingPathComponent("redis-cli-\(UUID().uuidString.prefix(8)).out")
        defer { try? FileManager.default.removeItem(at: file) }
        let child = try ChildProcess(executable: cli, arguments: arguments, standardOutput: file.path)
        let raw = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            DispatchQueue.global().async {
                child.waitForExit()
                continuation.resume(returning: child.exitStatus() ?? -1)
            }
        }
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        // Exit code when it exited, else 128 + the signal that ended it (as a shell says it).
        let status = raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
        let tail = text.split(separator: "\n").suffix(5).joined(separator: " | ")
        return (status, text, tail.isEmpty ? "(no output)" : tail)
    }
}

/// Runs `body` with a fresh cluster and always stops it afterwards (every node killed or stopped,
/// waited for, and its directory removed), also when `body` throws.
///
/// - Parameters:
///   - options: How to start the cluster; 3 masters and 3 replicas by default.
///   - body: The test, given the ready cluster.
/// - Throws: What `body` throws, or ``RedisTestServerError`` when the cluster does not come up.
public func withRedisCluster<T>(
    _ options: RedisTestCluster.Options = RedisTestCluster.Options(),
    _ body: (RedisTestCluster) async throws -> T
) async throws -> T {
    let cluster = try await RedisTestCluster.start(options)
    do {
        let result = try await body(cluster)
        await cluster.stop()
        return result
    } catch {
        await cluster.stop()
        throw error
    }
}
