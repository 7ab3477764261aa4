import Foundation
import Logging
import RedisClient
import Synchronization

/// The accounting store: records usage, answers and enforces quotas, and reports, over Redis.
///
/// Every write is one Lua script (files in `Sources/TokenLedger/Scripts/`) over the keys of a single
/// user's hash tag, so each is atomic and cluster-safe. Recording is idempotent per (user, cycle,
/// call id): a retried or replayed event never counts twice.
///
/// The cycle a write lands in is computed here from the user's policy; the script checks that the
/// policy it was computed from is still the stored one and, if not, the write is retried with the
/// right cycle. So a policy change can never book usage into the wrong cycle.
///
/// ### Threading
/// `Sendable`; share one instance. All I/O goes through the `RedisConnectionPool`.
public final class TokenRepository: Sendable {
    /// The pool this repository uses.
    public let pool: RedisConnectionPool
    /// The key builder for the namespace.
    public let keys: LedgerKeys
    /// Process-side settings.
    public let configuration: LedgerConfiguration
    /// Every Lua script, loaded once.
    let scripts: ScriptRegistry
    let logger: Logger
    /// Counts what the repository itself does (late calls added to the history).
    let metrics: LedgerMetrics
    let thresholdsArgument: String
    let settingsCache = Mutex<(settings: Settings, expires: ContinuousClock.Instant)?>(nil)
    /// Refreshes stale settings in the background while a ``UsageRecorder`` runs.
    let settingsRefresher = SettingsRefresher()
    /// The prices in effect (defaults and Redis overrides), cached like the settings (see ``priceTable(fresh:)``).
    let priceCache = Mutex<(table: PriceTable, expires: ContinuousClock.Instant)?>(nil)
    /// The stored policy override per user (`""` = none), as last seen. Only a hint: scripts verify it.
    let policyHints = Mutex<[String: String]>([:])
    /// The cycle each policy's latest write fell in, to skip calendar arithmetic on the hot path.
    let currentCycles = Mutex<[BillingCyclePolicy: BillingCycle]>([:])
    /// Whether the stored schema version was found to be one this build may write (see ``ensureWritableSchema()``).
    let schemaWritable = Mutex(false)

    /// Creates a repository.
    ///
    /// - Parameters:
    ///   - pool: The connections every command goes through; the caller closes it.
    ///   - configuration: The namespace, thresholds, default lease TTL and settings cache TTL
    ///     (default: ``LedgerConfiguration``'s defaults).
    ///   - logger: Receives the amendments of closed cycles' histories by late calls; by default
    ///     nothing is logged.
    ///   - metrics: Where `tokenledger_history_adjustments_total` is counted (default: the
    ///     process's bootstrapped `MetricsSystem`).
    /// - Throws: ``LedgerError`` when the Lua scripts are missing from the installation.
    public init(
        pool: RedisConnectionPool,
        configuration: LedgerConfiguration = try! LedgerConfiguration(),
        logger: Logger = Logger(label: "tokenledger", factory: { _ in SwiftLogNoOpLogHandler() }),
        metrics: LedgerMetrics = LedgerMetrics()
    ) throws(LedgerError) {
        self.pool = pool
        self.metrics = metrics
        self.configuration = configuration
        // The namespace was validated by LedgerConfiguration.
        self.keys = try! LedgerKeys(namespace: configuration.namespace)
        self.scripts = try ScriptRegistry.shared.get()
        self.logger = logger
        self.thresholdsArgument = configuration.thresholds.map(String.init).joined(separator: ",")
    }

    /// The SHA-1 of every Lua script by its file name (`record`, `reserve`, … and rollover's and the
    /// migrations' `close`, `lock`, …), as `EVALSHA` uses it.
    public var scriptDigests: [String: String] { scripts.all.mapValues(\.sha1) }
}
