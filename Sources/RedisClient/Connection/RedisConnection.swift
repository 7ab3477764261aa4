import Dispatch

/// One connection to Redis, with a serial dispatch queue of its own that runs every blocking hiredis call.
///
/// Get one from ``RedisConnectionPool/withConnection(_:)``; a connection must not be used after the
/// closure returns.
///
/// ### Threading
/// hiredis blocks on the socket, so each connection owns a serial `DispatchQueue` and every call into
/// hiredis runs there. Callers `await` the result; Swift's cooperative thread pool never blocks on I/O.
/// A broken or stale connection (the server restarted or closed it) reconnects on its next use.
public final class RedisConnection: @unchecked Sendable {
    // @unchecked Sendable: `context` is only touched inside `queue.async` blocks, so access is serial.
    private let queue: DispatchQueue
    private let context: HiredisContext
    /// The configuration this connection was opened with.
    public let configuration: RedisConfiguration

    private init(configuration: RedisConfiguration, queue: DispatchQueue) {
        self.configuration = configuration
        self.queue = queue
        self.context = HiredisContext(configuration: configuration)
    }

    /// Opens a connection, authenticating and selecting the database as configured.
    ///
    /// - Throws: ``RedisError`` (`connectionRefused`, `timeout`, `authenticationFailed`, …).
    public static func connect(configuration: RedisConfiguration) async throws -> RedisConnection {
        let connection = RedisConnection(
            configuration: configuration,
            queue: DispatchQueue(label: "tokenledger.redis.connection")
        )
        try await connection.run { context in try context.connect() }
        return connection
    }

    /// Runs a blocking operation on this connection's queue and awaits its result.
    private func run<T: Sendable>(_ operation: @escaping @Sendable (HiredisContext) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do {
                    continuation.resume(returning: try operation(self.context))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Sends one command and returns its reply.
    ///
    /// - Throws: ``RedisError``; an error reply is thrown as a ``RedisError/Code/server`` error keeping Redis's code.
    public func send(_ command: RedisCommand) async throws -> RedisReply {
        try await pipeline([command])[0].throwingError()
    }

    /// Sends many commands in one write and reads all their replies (pipelining).
    ///
    /// - Returns: One reply per command, in order. A command that failed on the server has an
    ///   ``RedisReply/error(_:)`` in its slot; the others are unaffected.
    /// - Throws: ``RedisError`` when the transport fails (the connection then reconnects on next use).
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        if commands.isEmpty { return [] }
        return try await run { context in
            if context.isConnected && context.isStale() { context.close() }
            return try context.execute(commands)
        }
    }

    /// Closes the socket. The connection reconnects if it is used again.
    public func close() async {
        _ = try? await run { context in context.close() }
    }
}
