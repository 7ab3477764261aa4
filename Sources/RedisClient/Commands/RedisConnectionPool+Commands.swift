// Sending typed commands (RedisCommandRepresentable) on a pool or a connection.

extension RedisConnection {
    /// Sends a typed command and returns its decoded reply.
    ///
    /// - Throws: ``RedisError``: transport failures, the server's error reply (naming the command),
    ///   or ``RedisError/Code/protocolError`` when the reply has the wrong shape.
    public func send<Command: RedisCommandRepresentable>(_ command: Command) async throws -> Command.Reply {
        try command.decodeReply(try await pipeline([command.command])[0])
    }

    /// Sends typed commands of one kind in one pipeline; each slot holds its decoded reply or its
    /// own error (an error reply, a reply of the wrong shape), in order.
    ///
    /// - Throws: ``RedisError`` when the transport fails.
    public func pipelineResults<Command: RedisCommandRepresentable>(
        _ commands: [Command]
    ) async throws -> [Result<Command.Reply, RedisError>] {
        let replies = try await pipeline(commands.map(\.command))
        return zip(commands, replies).map { command, reply in command.decodeResult(reply) }
    }
}

extension RedisConnectionPool {
    /// Sends a typed command on a pooled connection and returns its decoded reply, e.g.
    /// `try await pool.send(HMGET(key, fields: ["input_tokens", "calls"]))["calls"]`.
    ///
    /// - Throws: ``RedisError``: pool and transport failures, the server's error reply (naming the
    ///   command), or ``RedisError/Code/protocolError`` when the reply has the wrong shape.
    public func send<Command: RedisCommandRepresentable>(_ command: Command) async throws -> Command.Reply {
        if let pool = directPool { return try await pool.withConnection { try await $0.send(command) } }
        return try command.decodeReply(try await route([RoutedCommand(typed: command)])[0])
    }

    /// Sends a typed command to one node, as it is (no redirection followed): for per-node work such
    /// as a cluster's health report. Against a standalone server the node must be the configured one.
    ///
    /// - Parameters:
    ///   - command: The command.
    ///   - node: The node's endpoint, e.g. one of ``clusterTopology()``'s nodes.
    /// - Throws: ``RedisError`` as ``send(_:)-(RedisCommandRepresentable)``, or
    ///   ``RedisError/Code/invalidConfiguration`` for another node than the standalone server.
    public func send<Command: RedisCommandRepresentable>(
        _ command: Command, to node: RedisConfiguration.Endpoint
    ) async throws -> Command.Reply {
        guard let router, try await router.resolveMode() else {
            guard node == configuration.endpoint else {
                throw RedisError(
                    code: .invalidConfiguration,
                    message:
                        "cannot send \(Command.name) to \(node): the server is standalone and the pool is for \(configuration.endpoint)",
                    command: Command.name)
            }
            return try await seedPool.withConnection { try await $0.send(command) }
        }
        return try await router.nodePool(for: node).withConnection { try await $0.send(command) }
    }

    /// Sends typed commands of one kind in one pipeline on a pooled connection and returns their
    /// decoded replies, in order.
    ///
    /// - Throws: ``RedisError``: the first command's error (an error reply or a reply of the wrong
    ///   shape), or a pool or transport failure. Use ``pipelineResults(_:)`` to keep each command's own.
    public func pipeline<Command: RedisCommandRepresentable>(_ commands: [Command]) async throws -> [Command.Reply] {
        try await pipelineResults(commands).map { try $0.get() }
    }

    /// Sends typed commands of one kind in one pipeline on a pooled connection; each slot holds its
    /// decoded reply or its own error, in order.
    ///
    /// - Throws: ``RedisError`` for pool and transport failures.
    public func pipelineResults<Command: RedisCommandRepresentable>(
        _ commands: [Command]
    ) async throws -> [Result<Command.Reply, RedisError>] {
        if commands.isEmpty { return [] }
        if let pool = directPool { return try await pool.withConnection { try await $0.pipelineResults(commands) } }
        let replies = try await route(commands.map { RoutedCommand(typed: $0) })
        return zip(commands, replies).map { command, reply in command.decodeResult(reply) }
    }

    /// The masters a keyless scan walks: `nil` for a standalone server (the pool's own node).
    func scanNodes() async throws -> [RedisConfiguration.Endpoint]? {
        guard directPool == nil, let router, try await router.resolveMode() else { return nil }
        return try await router.currentTopology().topology.servingMasters.map(\.endpoint)
    }

    /// Every key matching `pattern` (every key with `nil`), walked with `SCAN`: the sequence owns the
    /// cursor loop, reading the next step when the current one is used up.
    ///
    /// SCAN's guarantees hold: a key present from start to end is returned at least once (exactly
    /// once unless the keyspace is rehashed during the scan); keys added or removed meanwhile may
    /// or may not be. Each step is one `SCAN` on a pooled connection (none is held between steps).
    /// In a cluster the scan walks every master of the map read at its first step, one after the
    /// other, each with its own cursor (a slot moved during the scan may be walked twice or missed).
    ///
    /// - Parameters:
    ///   - pattern: A glob pattern (`MATCH`).
    ///   - count: The work per step (`COUNT`), a hint to the server; not a page size.
    /// - Returns: The keys as bytes (keys are binary-safe).
    public func scan(match pattern: String? = nil, count: Int? = nil) -> RedisScanSequence<SCAN> {
        RedisScanSequence(pool: self, first: SCAN(match: pattern, count: count))
    }

    /// Every member of the set at `key`, walked with `SSCAN` (same guarantees as ``scan(match:count:)``).
    ///
    /// - Parameters:
    ///   - key: The set.
    ///   - count: The work per step (`COUNT`), a hint to the server.
    /// - Returns: The members as bytes.
    public func sscan(_ key: some RedisKeyConvertible, count: Int? = nil) -> RedisScanSequence<SSCAN> {
        RedisScanSequence(pool: self, first: SSCAN(key, count: count))
    }
}

/// The elements of a cursor scan (`SCAN`, `SSCAN`), one step at a time: ``RedisConnectionPool/scan(match:count:)``.
///
/// Iterating sends the first step; each later step is sent when the previous one's elements are used
/// up, so a caller that handles each batch before asking for more sees the keyspace as a hand-written
/// cursor loop would. Errors (a key of the wrong type, a lost connection) end the iteration by throwing.
public struct RedisScanSequence<Command: RedisCursorCommand>: AsyncSequence, Sendable {
    /// The key or member, as bytes.
    public typealias Element = [UInt8]

    let pool: RedisConnectionPool
    let first: Command

    /// Walks `first`'s collection from its cursor.
    public init(pool: RedisConnectionPool, first: Command) {
        self.pool = pool
        self.first = first
    }

    /// An iterator that owns the cursor.
    public func makeAsyncIterator() -> Iterator { Iterator(pool: pool, first: first, next: first) }

    /// Reads one step when the current one is used up.
    public struct Iterator: AsyncIteratorProtocol {
        let pool: RedisConnectionPool
        let first: Command
        /// The next step to send; `nil` after the step that returned cursor `0` on the last node.
        var next: Command?
        var buffer: [[UInt8]] = []
        var position = 0
        /// A keyless scan in a cluster: the masters still to walk, the current one first; `nil`
        /// until the first step, empty for a standalone server or a keyed scan (routed by its key).
        var nodes: [RedisConfiguration.Endpoint]?

        /// The next element, or `nil` when the scan is complete.
        ///
        /// - Throws: ``RedisError``.
        public mutating func next() async throws -> [UInt8]? {
            while position == buffer.count {
                guard let step = next else { return nil }
                if nodes == nil { nodes = first.keys.isEmpty ? try await pool.scanNodes() ?? [] : [] }
                let page: RedisScanPage
                if let node = nodes?.first {
                    page = try await pool.send(step, to: node)
                } else {
                    page = try await pool.send(step)
                }
                if page.cursor != "0" {
                    next = step.continuing(from: page.cursor)
                } else if let remaining = nodes, remaining.count > 1 {
                    nodes = Array(remaining.dropFirst())
                    next = first
                } else {
                    next = nil
                }
                buffer = page.elements
                position = 0
            }
            defer { position += 1 }
            return buffer[position]
        }
    }
}

extension AsyncSequence where Self: Sendable {
    /// Collects the elements `size` at a time and calls `body` with each batch (the last one may be
    /// smaller; an empty sequence calls it never), as callers that pipeline per batch do.
    public func forEachBatch(
        of size: Int, _ body: ([Element]) async throws -> Void
    ) async throws {
        var batch: [Element] = []
        batch.reserveCapacity(size)
        for try await element in self {
            batch.append(element)
            if batch.count >= size {
                try await body(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await body(batch) }
    }
}

extension RedisScanSequence {
    /// Collects the keys `size` at a time and calls `body` with each batch, as the generic
    /// `forEachBatch(of:_:)` does, but never with the same key twice in one batch: a cursor scan may
    /// return a key again in a later step (while the collection is rehashed), and a batch spans
    /// steps. Callers that count or sum per key get each key once per batch.
    public func forEachBatch(
        of size: Int, _ body: ([[UInt8]]) async throws -> Void
    ) async throws {
        var batch: [[UInt8]] = []
        var inBatch = Set<[UInt8]>()
        batch.reserveCapacity(size)
        for try await element in self where inBatch.insert(element).inserted {
            batch.append(element)
            if batch.count >= size {
                try await body(batch)
                batch.removeAll(keepingCapacity: true)
                inBatch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await body(batch) }
    }
}

extension RedisNodePool {
    /// Sends a typed command on one of this node's connections.
    func send<Command: RedisCommandRepresentable>(_ command: Command) async throws -> Command.Reply {
        try await withConnection { try await $0.send(command) }
    }
}
