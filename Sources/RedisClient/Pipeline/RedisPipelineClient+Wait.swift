// RedisPipelineClient: groups whose writes must be acknowledged by replicas (one WAIT per batch).

extension RedisPipelineClient {
    /// Sends a group through the shared pipeline and waits for replicas to acknowledge it: the lane
    /// that sends it ends its batch with one `WAIT` (however many such groups the batch carries) and
    /// hands this group the count.
    ///
    /// - Returns: The group's replies and the replicas that acknowledged its writes within the
    ///   timeout; 0 when any of its replies is an error (a redirect, a failed script): a group that
    ///   did not all apply is never reported as acknowledged.
    /// - Throws: ``RedisError`` when the group's deadline passed before it was sent, or the
    ///   transport failed.
    public func send(_ commands: [RedisCommand], deadline: ContinuousClock.Instant, wait: RedisReplicaWait)
        async throws -> (replies: [RedisReply], acknowledgedReplicas: Int)
    {
        while true {
            // `nil`: the queue was full and the group was not queued (its completion never runs).
            let replies = try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<[RedisReply]?, any Error>) in
                let completion: Completion = { result in continuation.resume(with: result.map { $0 }.mapError { $0 }) }
                let group = Group(
                    commands: commands, builder: nil, deadline: deadline, wait: wait, completion: completion)
                if !tryEnqueue(group) { continuation.resume(returning: nil) }
            }
            if let replies { return Self.splitAcknowledgement(replies) }
            await waitForRoom()  // rare: back-pressure
        }
    }

    /// As ``enqueue(deadline:build:completion:)``, for a group whose writes must be acknowledged by
    /// replicas (`wait`; `nil`: not waited for, exactly as ``enqueue(deadline:build:completion:)``).
    /// With a wait, the completion's replies end with one more: the acknowledged count as an
    /// ``RedisReply/integer(_:)`` (0 when any of the group's replies is an error); split it with
    /// ``splitAcknowledgement(_:)``.
    public func enqueue(
        deadline: ContinuousClock.Instant, wait: RedisReplicaWait?, build: @escaping Builder,
        completion: @escaping Completion
    ) async {
        let group = Group(commands: [], builder: build, deadline: deadline, wait: wait, completion: completion)
        while !tryEnqueue(group, wake: false) { await waitForRoom() }
    }

    /// The replies of a group sent with a wait, without the acknowledged count appended to them,
    /// and that count.
    public static func splitAcknowledgement(_ replies: [RedisReply]) -> (
        replies: [RedisReply], acknowledgedReplicas: Int
    ) {
        guard let last = replies.last else { return ([], 0) }
        return (Array(replies.dropLast()), Int(last.int ?? 0))
    }

    /// The wait that covers both: the most replicas and the longest timeout.
    static func widest(_ current: RedisReplicaWait?, _ asked: RedisReplicaWait) -> RedisReplicaWait {
        guard let current else { return asked }
        return RedisReplicaWait(
            replicas: max(current.replicas, asked.replicas), timeout: max(current.timeout, asked.timeout))
    }

    /// What a group that asked for a wait is told: the batch's `WAIT` count, or 0 when one of its
    /// own replies is an error (or `WAIT` failed).
    static func acknowledgement(of replies: [RedisReply], wait: RedisReply?) -> RedisReply {
        let failed = replies.contains { if case .error = $0 { return true } else { return false } }
        return .integer(failed ? 0 : wait?.int ?? 0)
    }
}
