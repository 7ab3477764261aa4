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
