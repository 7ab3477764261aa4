import ArgumentParser
import Configuration
import RedisClient
import TokenLedger

/// Options every command that talks to Redis takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379). Put the password in REDIS_PASSWORD, not here."
    )
    var redis: String?

    @Option(name: .long, help: "Key namespace (default: $TOKENLEDGER_NAMESPACE, else tl).")
    var namespace: String?

    @Option(
        name: .long,
        help: "A JSON configuration file (default: $TOKENLEDGER_CONFIG_FILE); environment variables override it.")
    var config: String?

    init() {}

    init(redis: String?, namespace: String?, config: String? = nil) {
        self.redis = redis
        self.namespace = namespace
        self.config = config
    }

    /// The configuration from the options, the environment and the configuration file.
    ///
    /// - Throws: ``CLIFailure`` (exit 64) naming what is wrong; a password is never shown.
    func configuration() async throws -> TokenLedgerConfiguration {
        try await usageFailure {
            try TokenLedgerConfiguration(config: try await reader(), redisURL: redis, namespace: namespace)
        }
    }

    /// The Redis configuration alone (for commands that choose their own namespace).
    func redisConfiguration() async throws -> RedisConfiguration {
        try await usageFailure { try RedisConfiguration(config: try await reader().scoped(to: "redis"), url: redis) }
    }

    /// The settings that need no server (spool, rank files, input cap): a bad `REDIS_URL` does not
    /// stop them.
    func localSettings() async throws -> TokenLedgerConfiguration.LocalSettings {
        try await usageFailure { try await TokenLedgerConfiguration.LocalSettings.load(configFile: config) }
    }

    private func reader() async throws -> ConfigReader {
        try await TokenLedgerConfiguration.reader(configFile: config)
    }

    private func usageFailure<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw CLIFailure(exitCode: .usage, message: sentence(for: error))
        }
    }
}

/// A command that takes the global options (`--redis`, `--namespace`, `--config`), before or after its name.
///
/// Every leaf command conforms; the command-tree test checks that no command is left out.
protocol GlobalOptionsCommand: ParsableCommand {
    /// The parsed `--redis` and `--namespace`.
    var global: GlobalOptions { get }
}

extension RecordCommand: GlobalOptionsCommand {}
extension UsageCommand: GlobalOptionsCommand {}
extension ReportCommand: GlobalOptionsCommand {}
extension LimitCommand.Set: GlobalOptionsCommand {}
extension LimitCommand.Get: GlobalOptionsCommand {}
extension LimitCommand.Clear: GlobalOptionsCommand {}
extension QuotaCommand.Check: GlobalOptionsCommand {}
extension QuotaCommand.Reserve: GlobalOptionsCommand {}
extension QuotaCommand.Settle: GlobalOptionsCommand {}
extension QuotaCommand.Release: GlobalOptionsCommand {}
extension CycleCommand.Set: GlobalOptionsCommand {}
extension CycleCommand.Show: GlobalOptionsCommand {}
extension ResetCommand: GlobalOptionsCommand {}
extension ExtractCommand: GlobalOptionsCommand {}
extension EstimateCommand: GlobalOptionsCommand {}
extension SpoolCommand.Status: GlobalOptionsCommand {}
extension SpoolCommand.Flush: GlobalOptionsCommand {}
extension SpoolParkedCommand.List: GlobalOptionsCommand {}
extension SpoolParkedCommand.Apply: GlobalOptionsCommand {}
extension SpoolParkedCommand.Drop: GlobalOptionsCommand {}
extension DemoCommand: GlobalOptionsCommand {}
extension RolloverCommand: GlobalOptionsCommand {}
extension HistoryCommand: GlobalOptionsCommand {}
extension MigrateRunCommand: GlobalOptionsCommand {}
extension MigrateStatusCommand: GlobalOptionsCommand {}
extension DoctorCommand: GlobalOptionsCommand {}
