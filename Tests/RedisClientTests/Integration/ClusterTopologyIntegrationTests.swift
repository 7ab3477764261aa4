import Foundation
import RedisClient
import RedisTestSupport
import Testing

// Starts its own 3-master + 3-replica cluster inline, because the shared cluster support
// (`withRedisCluster` in RedisTestSupport) is being built on another branch; this test moves onto
// it once that lands, and the helpers below go away.

@Suite("Cluster topology against a real Redis Cluster")
struct ClusterTopologyIntegrationTests {
    @Test("CLUSTER SHARDS and CLUSTER SLOTS decode into the same full map, and it routes every key")
    func realCluster() async throws {
        let cluster = try await InlineCluster.start()
        do {
            try await check(cluster)
            cluster.stop()
        } catch {
            cluster.stop()
            throw error
        }
    }

    private func check(_ cluster: InlineCluster) async throws {
        let seed = try RedisConfiguration(url: "redis://127.0.0.1:\(cluster.ports[0])")
        let connection = try await RedisConnection.connect(configuration: seed)
        #expect(try await connection.send(INFO.CLUSTER()))
        // Replicas attach asynchronously after `--cluster create` (until gossip reaches this node, a
        // replica-to-be shows as a master without slots); wait until SHARDS shows 3 masters with one
        // online replica each.
        let attached = try await waitUntil {
            let topology = try await connection.send(CLUSTER.SHARDS())
            return topology.masters.count == 3 && topology.shards.allSatisfy { $0.replicas.count == 1 }
                && topology.nodes.allSatisfy { $0.health == .online }
        }
        #expect(attached)
        let shards = try await connection.send(CLUSTER.SHARDS())
        let slots = try await connection.send(CLUSTER.SLOTS())
        try shards.requireFullCoverage()
        try slots.requireFullCoverage()
        #expect(shards.masters.count == 3 && shards.shards.allSatisfy { $0.replicas.count == 1 })
        #expect(Set(shards.masters.map(\.id)) == Set(slots.masters.map(\.id)))
        #expect(Set(shards.nodes.map(\.port)) == Set(cluster.ports))
        for slot in stride(from: 0, to: HashSlot.count, by: 97) {
            #expect(shards.masterFor(slot: slot)?.id == slots.masterFor(slot: slot)?.id)
        }
        await connection.close()

        // Each key's master (by the map) takes it; any other master answers MOVED to that master.
        for index in 0..<30 {
            let key = "{user\(index)}:x"
            let owner = try #require(shards.masterFor(key: RedisKey(key)))
            let ownerConnection = try await RedisConnection.connect(
                configuration: try RedisConfiguration(url: "redis://\(owner.host):\(owner.port)"))
            _ = try await ownerConnection.send(RedisCommand("SET", key, "1"))
            await ownerConnection.close()
            let other = try #require(shards.masters.first { $0.id != owner.id })
            let otherConnection = try await RedisConnection.connect(
                configuration: try RedisConfiguration(url: "redis://\(other.host):\(other.port)"))
            do {
                _ = try await otherConnection.send(RedisCommand("GET", key))
                Issue.record("GET \(key) at a master that does not own it did not answer MOVED")
            } catch let error as RedisError {
                let redirection = try #require(error.redirection, "\(error)")
                #expect(redirection.kind == .moved && redirection.slot == HashSlot.slot(for: key))
                #expect(redirection.endpoint.resolved(queriedHost: other.host) == owner.endpoint)
            }
            await otherConnection.close()
        }
    }
}

/// Six cluster-enabled redis-server processes in a temporary directory, joined by
/// `redis-cli --cluster create … --cluster-replicas 1`. The directory carries the test servers'
/// prefix and this process's id, so RedisTestServer's reaper stops the nodes if the test crashes.
private final class InlineCluster {
    let ports: [Int]
    let directory: URL
    let processes: [Process]

    private init(ports: [Int], directory: URL, processes: [Process]) {
        self.ports = ports
        self.directory = directory
        self.processes = processes
    }

    static func start() async throws -> InlineCluster {
        let directory = URL(
            fileURLWithPath: "\(RedisTestServer.directoryPrefix)\(getpid())-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var ports: [Int] = []
        var processes: [Process] = []
        do {
            for _ in 0..<6 {
                // A port free a moment ago may be taken before the node binds it (a busy machine runs
                // other tests' servers): a node that exits instead of answering gets another port.
                var started = false
                for _ in 0..<10 where !started {
                    let port = try freeClusterPort(excluding: ports)
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    process.currentDirectoryURL = directory
                    process.arguments = [
                        "redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                        "--cluster-config-file", "nodes-\(port).conf", "--cluster-node-timeout", "1000",
                        "--save", "", "--appendonly", "no", "--dir", directory.path,
                        "--logfile", directory.appendingPathComponent("\(port).log").path,
                    ]
                    try process.run()
                    processes.append(process)
                    let settled = await waitUntil {
                        guard process.isRunning else { return true }
                        return (try? await ping(port)) == true
                    }
                    guard settled else {
                        throw ClusterStartError(message: "redis-server on port \(port) did not start")
                    }
                    if process.isRunning {
                        ports.append(port)
                        started = true
                    }
                }
                guard started else { throw ClusterStartError(message: "no redis-server node started in 10 tries") }
            }
            let cluster = InlineCluster(ports: ports, directory: directory, processes: processes)
            let create = Process()
            create.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            create.arguments =
                ["redis-cli", "--cluster", "create"] + ports.map { "127.0.0.1:\($0)" } + [
                    "--cluster-replicas", "1", "--cluster-yes",
                ]
            create.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            try create.run()
            _ = await waitUntil { !create.isRunning }
            guard create.terminationStatus == 0 else {
                throw ClusterStartError(message: "redis-cli --cluster create exited \(create.terminationStatus)")
            }
            for port in ports {
                let ok = try await waitUntil { try await clusterState(port) == "ok" }
                guard ok else { throw ClusterStartError(message: "node \(port) never reported cluster_state:ok") }
            }
            return cluster
        } catch {
            InlineCluster(ports: ports, directory: directory, processes: processes).stop()
            throw error
        }
    }

    func stop() {
        // SIGKILL, not terminate(): Foundation's Process starts children with the spawning thread's
        // signal mask, in which libdispatch blocks SIGTERM, so a terminated node would never exit.
        for process in processes where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private static func ping(_ port: Int) async throws -> Bool {
        let connection = try await RedisConnection.connect(
            configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(port)"))
        let reply = try? await connection.send(PING())
        await connection.close()
        return reply == "PONG"
    }

    private static func clusterState(_ port: Int) async throws -> String? {
        let connection = try await RedisConnection.connect(
            configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(port)"))
        let reply = try await connection.send(RedisCommand("CLUSTER", "INFO"))
        await connection.close()
        for line in (reply.string ?? "").split(whereSeparator: \.isNewline) where line.hasPrefix("cluster_state:") {
            return String(line.dropFirst("cluster_state:".count))
        }
        return nil
    }

    /// A port whose cluster bus port (port + 10000) is free too, a moment ago; both below Linux's
    /// ephemeral range (32768 and up), where other tests' servers and clients take ports.
    private static func freeClusterPort(excluding taken: [Int]) throws -> Int {
        for _ in 0..<500 {
            let port = Int.random(in: 10_000...22_767)
            guard !taken.contains(port), canBind(port), canBind(port + 10_000) else { continue }
            return port
        }
        throw ClusterStartError(message: "no free port pair (port, port + 10000) found")
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

private struct ClusterStartError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
