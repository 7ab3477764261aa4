// Writes acknowledged by replicas: `WAIT` after the writes, on the same connection.
//
// Temporary, standalone only: the cluster routing client replaces this file with the version that
// sends the calls and the WAIT to the primary of the calls' slot (same signature).

/// How many replicas must acknowledge a write, and how long to wait for them (`WAIT numreplicas timeout`).
public struct RedisReplicaWait: Sendable, Hashable {
    /// The replicas that must acknowledge the writes (`numreplicas`).
    public var replicas: Int
    /// The longest wait for them (`timeout`, sent in whole milliseconds, at least 1).
    public var timeout: Duration

    /// Creates a wait for `replicas` replicas, for at most `timeout`.
    public init(replicas: Int, timeout: Duration) {
        self.replicas = replicas
        self.timeout = timeout
    }
}

extension RedisConnectionPool {
    /// Runs the calls (as evaluateMany) and then `WAIT replicas timeout` on the same connection as the writes.
    ///
    /// - Returns: The calls' replies (as ``evaluateMany(_:)``) and the number of replicas that
    ///   acknowledged them within the timeout (compare it with ``RedisReplicaWait/replicas``).
    /// - Throws: ``RedisError`` as ``evaluateMany(_:)``, or the failure of `WAIT` itself.
    public func evaluateMany(_ calls: [RedisScriptCall], wait: RedisReplicaWait) async throws -> (
        replies: [RedisReply], acknowledgedReplicas: Int
    ) {
        try await withConnection { connection in
            let replies = try await connection.evaluateMany(calls)
            let acknowledged = try await connection.send(WAIT(wait))
            return (replies, acknowledged)
        }
    }
}
