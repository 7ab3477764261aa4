import Foundation
import RedisClient

/// How `tokenledger migrate` runs.
public struct MigrationOptions: Sendable, Hashable {
    /// Read and report only: no lock, no writes, no checkpoints.
    public var dryRun: Bool
    /// Delete each legacy hash once its import is verified (migration 2), also when migration 2
    /// was applied by an earlier run. Default off: legacy keys stay.
    public var deleteLegacy: Bool
    /// Keys per `SCAN` step (a hint to Redis) and per checkpoint. Default 500.
    public var batchSize: Int
    /// A pause after each batch, to go easy on a busy server. Default none.
    public var pause: Duration
    /// How long the run's lock lives unless extended (it is extended after every batch). Default 1 minute.
    public var lockTTL: Duration

    /// Creates options.
    ///
    /// - Throws: ``ValidationError`` when `batchSize` is outside 1…100,000, `pause` outside 0…1 day or
    ///   `lockTTL` outside 1 s…1 day.
    public init(
        dryRun: Bool = false, deleteLegacy: Bool = false, batchSize: Int = 500, pause: Duration = .zero,
        lockTTL: Duration = .seconds(60)
    ) throws(ValidationError) {
        guard (1...100_000).contains(batchSize) else {
            throw ValidationError(
                code: .invalidLimit, field: "batch-size", message: "--batch-size is \(batchSize); use 1 to 100000")
        }
        guard lockTTL >= .seconds(1) else {
            throw ValidationError(code: .invalidLimit, field: "lock-ttl", message: "--lock-ttl must be at least 1 second")
        }
        guard pause >= .zero else {
            throw ValidationError(code: .invalidLimit, field: "pause-ms", message: "--pause-ms must not be negative")
        }
        try Validation.validateDuration(lockTTL, field: "lock_ttl", minimum: .seconds(1), maximum: Validation.maximumTimeout)
        try Validation.validateDuration(pause, field: "pause", maximum: Validation.maximumTimeout)
        self.dryRun = dryRun
        self.deleteLegacy = deleteLegacy
        self.batchSize = batchSize
        self.pause = pause
        self.lockTTL = lockTTL
    }
}

/// One versioned migration. Each is documented by `migrations/NNNN-<name>.md` (a test checks that
/// the folder and ``MigrationRunner/migrations`` agree), runs once per namespace, and is safe to
/// run again after an interruption.
protocol Migration: Sendable {
    /// The version, 1, 2, …; applied in this order.
    var version: Int { get }
    /// A short kebab-case name, as in the file name.
    var name: String { get }
    /// One line saying what it does.
    var summary: String { get }
    /// Runs the migration (or, with ``MigrationOptions/dryRun``, counts what it would do).
    ///
    /// - Returns: Counts of what it did, e.g. `["imported": 12]`.
    func apply(_ context: MigrationContext) async throws -> [String: Int]
}

/// What a migration gets to work with: the repository, the options, its checkpoint and progress.
struct MigrationContext: Sendable {
    let repository: TokenRepository
    let scripts: OperationsScripts
    let options: MigrationOptions
    let version: Int
    let lock: JobLock?
    let progress: (@Sendable (String) -> Void)?

    /// The checkpoint saved by an interrupted run (empty when starting afresh).
    func loadCheckpoint() async throws -> [String: String] {
        try await repository.pool.send(HGETALL(repository.keys.migrationState(version)))
    }

    /// Saves where to resume (nothing in a dry run), and keeps the lock alive.
    func saveCheckpoint(_ fields: [String: String]) async throws {
        guard !options.dryRun else { return }
        var arguments: [any RedisArgumentConvertible] = ["checkpoint"]
        for (field, value) in fields.sorted(by: { $0.key < $1.key }) {
            arguments.append(field)
            arguments.append(value)
        }
        _ = try await repository.pool.evaluate(
            scripts.migration, keys: [repository.keys.migrationState(version)], arguments: arguments)
        try await keepAlive()
    }

    /// Extends the run's lock; throws when it was lost.
    func keepAlive() async throws {
        if let lock, try await !lock.extend() {
            throw LedgerError(
                code: .lockLost, message: "the migrate lock \(lock.key) expired during the run; another run may have taken over")
        }
    }

    /// Sleeps for the configured pause between batches.
    func pauseBetweenBatches() async throws {
        // Clamped: the options are public vars, and Task.sleep traps on a deadline past Int64.max seconds.
        if options.pause > .zero { try await Task.sleep(for: min(options.pause, Validation.maximumTimeout)) }
    }
}
