// Durable writes: script calls followed by `WAIT numreplicas timeout` on the connection that ran them.

/// How many replicas must acknowledge a write, and how long to wait for them (`WAIT numreplicas timeout`).
public struct RedisReplicaWait: Sendable, Hashable {
    /// The replicas that must acknowledge (`numreplicas`); clamped to at least 0.
    public var replicas: Int
    /// How long the server waits for them (`timeout`, whole milliseconds; zero would wait forever,
    /// so it is sent as at least 1 ms).
    public var timeout: Duration

    /// Creates a wait.
    /// - Parameters:
    ///   - replicas: How many replicas must acknowledge.
    ///   - timeout: How long to wait for them.
    public init(replicas: Int, timeout: Duration) {
        self.replicas = max(0, replicas)
        self.timeout = timeout
    }

    /// The timeout in whole milliseconds, at least 1.
    var milliseconds: Int {
        let (seconds, attoseconds) = timeout.components
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow, total.partialValue < Int64(Int32.max) else { return Int(Int32.max) }
        return max(1, Int(total.partialValue + attoseconds / 1_000_000_000_000_000))
    }
}

/// `WAIT numreplicas timeout`: how many replicas acknowledged the connection's writes so far.
public struct WAIT: RedisCommandRepresentable {
    /// `WAIT`.
    public static let name = "WAIT"
    /// The replicas and the timeout.
    public var wait: RedisReplicaWait

    /// Creates the command.
    /// - Parameter wait: The replicas and the timeout.
    public init(_ wait: RedisReplicaWait) { self.wait = wait }
    /// The timeout sent, in whole milliseconds (at least 1: `WAIT` takes 0 as "forever").
    public var timeoutMilliseconds: Int { wait.milliseconds }
    /// None.
    public var keys: [RedisKey] { [] }
    /// `WAIT replicas milliseconds`.
    public var command: RedisCommand { RedisCommand("WAIT", "\(wait.replicas)", "\(wait.milliseconds)") }
    /// The number of replicas that acknowledged.
    public func decode(_ reply: RedisReply) throws(RedisError) -> Int { try integer(reply) }
}

extension RedisConnectionPool {
    /// Runs the calls (as ``evaluateMany(_:)``) and then `WAIT replicas timeout` on the same
    /// connection as the writes; returns the replies and the number of replicas that acknowledged
    /// (the minimum over the connections used when calls went to several nodes or were redirected).
    ///
    /// - Throws: ``RedisError`` as ``evaluateMany(_:)``; a `WAIT` the server refuses is thrown too.
    public func evaluateMany(
        _ calls: [RedisScriptCall], wait: RedisReplicaWait
    ) async throws -> (replies: [RedisReply], acknowledgedReplicas: Int) {
        if let pool = directPool { return try await Self.evaluateWaiting(calls, wait: wait, on: pool) }
        guard let router, try await router.resolveMode() else {
            return try await Self.evaluateWaiting(calls, wait: wait, on: seedPool)
        }
        if calls.isEmpty { return ([], wait.replicas) }
        let (replies, acknowledged) = try await router.execute(calls.map { RoutedCommand($0) }, wait: wait)
        return (replies, acknowledged ?? 0)
    }

    private static func evaluateWaiting(
        _ calls: [RedisScriptCall], wait: RedisReplicaWait, on pool: RedisNodePool
    ) async throws -> (replies: [RedisReply], acknowledgedReplicas: Int) {
        try await pool.withConnection { connection in
            let replies = try await connection.evaluateMany(calls)
            return (replies, try await connection.send(WAIT(wait)))
        }
    }
}
