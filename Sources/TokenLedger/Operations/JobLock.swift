import Foundation
import RedisClient

/// A namespace-wide lock for one job (`rollover`, `migrate`) so that two runs never work at once.
///
/// Taken with `SET key token NX PX ttl` (in `lock.lua`) under a random owner token; extended and
/// released by `lock.lua` only while the key still holds that token, so a run whose lock expired
/// can never release the lock of the run that took it over. A crashed run's lock expires by itself.
///
/// ### Threading
/// `Sendable`; each method is one round trip through the pool.
public struct JobLock: Sendable {
    /// The lock's key (`<ns>:{global}:lock:<job>`).
    public let key: String
    /// This owner's random token.
    public let token: String
    /// How long the lock lives unless extended.
    public let ttl: Duration
    private let repository: TokenRepository

    /// Takes the lock of `job`, or returns `nil` when another owner holds it.
    ///
    /// - Parameters:
    ///   - job: The job's name, e.g. `"rollover"`.
    ///   - repository: The repository whose namespace and pool to use.
    ///   - ttl: How long the lock lives unless extended (at least 1 ms).
    /// - Throws: ``LedgerError`` when the scripts are missing; `RedisError`.
    public static func acquire(_ job: String, repository: TokenRepository, ttl: Duration) async throws -> JobLock? {
        let lock = JobLock(
            key: repository.keys.lock(job), token: UUID().uuidString + "-" + String(getpid()), ttl: ttl,
            repository: repository)
        return try await lock.call(.acquire) ? lock : nil
    }

    /// Extends the lock by its ttl from now.
    ///
    /// - Returns: `false` when the lock was lost (it expired, and maybe another run took it).
    public func extend() async throws -> Bool { try await call(.extend) }

    /// Releases the lock if this owner still holds it.
    ///
    /// - Returns: `false` when it was no longer held by this owner.
    @discardableResult
    public func release() async throws -> Bool { try await call(.release) }

    private func call(_ operation: LockScript.Operation) async throws -> Bool {
        // Bounded first (options are public vars, set after their validating init too), so this cannot overflow.
        let milliseconds = try Validation.leaseTTLMilliseconds(
            min(max(ttl, .milliseconds(1)), Validation.maximumLeaseTTL), field: "lock_ttl")
        return try await repository.run(
            LockScript(key: key, operation: operation, token: token, milliseconds: milliseconds))
    }
}
