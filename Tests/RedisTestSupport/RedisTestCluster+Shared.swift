import Foundation
import RedisClient

#if canImport(Glibc)
    import Glibc
#endif

extension RedisTestCluster {
    /// The test process's shared cluster (3 masters, 3 replicas), started by the first caller and
    /// stopped when the process exits; later callers get the same cluster at once.
    ///
    /// Starting a cluster takes seconds, so tests that only read and write keys share this one,
    /// each in its own namespace (``uniqueNamespace(_:)`` inside a hash tag). Tests that change the
    /// topology (``kill(node:)``, ``migrate(slot:to:batch:)`` of slots other tests may use, a
    /// restart) take a private cluster with ``withRedisCluster(_:_:)`` instead. A test process that
    /// dies before its exit handlers run leaves the nodes to the next one's reaper
    /// (``RedisTestServer/reapOrphanedServers()``).
    ///
    /// - Throws: ``RedisTestServerError`` when the cluster does not come up; every later call
    ///   throws the same error without trying again.
    public static func shared() async throws -> RedisTestCluster {
        try await SharedTestCluster.instance.cluster()
    }
}

/// Holds the shared cluster: one start, awaited by every caller; stopped at process exit.
final class SharedTestCluster: @unchecked Sendable {
    // @unchecked Sendable: `starting` and `servers` are guarded by `lock`.
    static let instance = SharedTestCluster()
    private let lock = NSLock()
    private var starting: Task<RedisTestCluster, any Error>?
    private var servers: [RedisTestServer] = []

    /// The shared cluster, started on the first call.
    func cluster() async throws -> RedisTestCluster {
        let task = lock.withLock {
            if let starting { return starting }
            // Unstructured on purpose: the start belongs to the process, not to the first test
            // that asks (whose cancellation must not fail the others).
            let task = Task {
                let cluster = try await RedisTestCluster.start()
                self.lock.withLock { self.servers = cluster.servers }
                atexit { SharedTestCluster.instance.stopAtExit() }
                return cluster
            }
            starting = task
            return task
        }
        return try await task.value
    }

    /// Kills every node (SIGKILL: nothing of it is kept), waits for each, removes its directory.
    private func stopAtExit() {
        let servers = lock.withLock { self.servers }
        for server in servers {
            server.crash()
            try? FileManager.default.removeItem(at: server.directory)
        }
    }
}
