// RedisRoutedPipeline: one typed command as a group of its own, for a caller that wants a read to
// share the pipeline's batches (e.g. the service's per-request API key lookup) instead of taking a
// pooled connection for one round trip.

extension RedisRoutedPipeline {
    /// Sends one typed command through the pipeline of its key's slot, coalesced with whatever
    /// other callers have queued, and decodes its reply.
    ///
    /// The command's keys must all be in the slot of its first key (a command without keys goes to
    /// slot 0: on a Redis Cluster, one master); redirections are finished through the pool as for
    /// any group (see the type's documentation).
    ///
    /// - Parameters:
    ///   - command: The command, e.g. `HGET(key, field: id)`.
    ///   - deadline: A command still queued at its deadline fails with ``RedisError/Code/timeout``.
    /// - Returns: The decoded reply.
    /// - Throws: ``RedisError``: the command's error reply (naming the command), the transport's
    ///   failure, a timeout, or ``RedisError/Code/poolClosed`` after a shutdown.
    public func send<Command: RedisCommandRepresentable>(_ command: Command, deadline: ContinuousClock.Instant)
        async throws -> Command.Reply
    {
        let slot = routesBySlot ? (command.keys.first?.slot ?? 0) : 0
        let replies = try await send([command.command], slot: slot, deadline: deadline)
        guard let reply = replies.first else {
            throw RedisError(
                code: .protocolError, message: "no reply to \(Command.name) in its pipeline group",
                command: Command.name)
        }
        return try command.decodeReply(reply)
    }
}
