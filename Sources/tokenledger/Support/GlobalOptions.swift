import ArgumentParser
import RedisClient

/// Options every command that talks to Redis takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379). Put the password in REDIS_PASSWORD, not here.")
    var redis: String?

    @Option(name: .long, help: "Key namespace (default: $TOKENLEDGER_NAMESPACE, else tl).")
    var namespace: String?

    init() {}

    init(redis: String?, namespace: String?) {
        self.redis = redis
        self.namespace = namespace
    }

    /// The Redis configuration from the option and the environment.
    func redisConfiguration() throws -> RedisConfiguration {
        do {
            return try RedisConfiguration.fromEnvironment(url: redis)
        } catch {
            throw CLIFailure(exitCode: .usage, message: error.message)
        }
    }
}

/// A command that takes the global options (`--redis`, `--namespace`), before or after its name.
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
extension DemoCommand: GlobalOptionsCommand {}
extension RolloverCommand: GlobalOptionsCommand {}
extension HistoryCommand: GlobalOptionsCommand {}
extension MigrateRunCommand: GlobalOptionsCommand {}
extension MigrateStatusCommand: GlobalOptionsCommand {}
extension DoctorCommand: GlobalOptionsCommand {}
