import RedisClient

/// A record or settle that Redis applied but that fewer replicas than
/// ``LedgerConfiguration/replicaWait`` asks for acknowledged in time. Thrown inside the library (the
/// recorder spools the event and reports ``RecordResult/unreplicated``); public calls throw its
/// ``error`` instead.
struct UnreplicatedWrite: Error, CategorizedError {
    /// What the write did (applied or a duplicate), as Redis answered.
    var result: RecordResult
    /// The replicas that acknowledged it.
    var acknowledged: Int
    /// What was asked for.
    var wait: RedisReplicaWait

    /// Retrying can succeed (the call id makes it safe).
    var category: ErrorCategory { .unavailable }

    /// The public form: ``LedgerError/Code/notReplicated`` saying what happened and what to do.
    var error: LedgerError {
        let milliseconds =
            wait.timeout.components.seconds * 1000 + wait.timeout.components.attoseconds / 1_000_000_000_000_000
        return LedgerError(
            code: .notReplicated,
            message: "the \(result.applied ? "write" : "duplicate") of user '\(result.user)' cycle \(result.cycle) "
                + "applied in Redis but was acknowledged by \(acknowledged) of the \(wait.replicas) replicas asked for "
                + "within \(milliseconds) ms (TOKENLEDGER_WAIT_REPLICAS, TOKENLEDGER_WAIT_TIMEOUT_MS); a failover now "
                + "could lose it. Retrying with the same call id is safe (idempotent: it counts once)")
    }

    /// Runs `body`, throwing an ``UnreplicatedWrite`` as its public ``error``.
    static func rethrowingError<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let unreplicated as UnreplicatedWrite {
            throw unreplicated.error
        }
    }
}
