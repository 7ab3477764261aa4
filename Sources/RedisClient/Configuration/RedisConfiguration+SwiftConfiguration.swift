import Configuration
import Foundation

extension RedisConfiguration {
    /// The environment variables whose values are secret: a URL may carry a password.
    public static let secretEnvironmentVariables: Set<String> = ["REDIS_URL", "REDIS_PASSWORD"]

    /// Creates a configuration from a swift-configuration reader scoped to Redis's keys (`redis`).
    ///
    /// ## Configuration keys
    /// - `url` (string, secret, default ``defaultURL``): the Redis URL; environment `REDIS_URL`.
    /// - `password` (string, secret): overrides the URL's password; environment `REDIS_PASSWORD`.
    ///
    /// An empty value counts as unset.
    ///
    /// - Parameters:
    ///   - config: The reader, scoped to the Redis keys.
    ///   - url: A URL that takes the place of the `url` key (for example a `--redis` option).
    /// - Throws: ``RedisError`` with ``RedisError/Code/invalidConfiguration`` naming what is wrong,
    ///   the URL's password masked.
    public init(config: ConfigReader, url: String? = nil) throws(RedisError) {
        let chosen = url ?? config.string(forKey: "url", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        try self.init(url: chosen ?? Self.defaultURL)
        if let password = config.string(forKey: "password", isSecret: true), !password.isEmpty {
            self.password = password
        }
    }

    /// Builds a configuration from environment variables: `REDIS_URL` (default ``defaultURL``),
    /// then `REDIS_PASSWORD`, which overrides the URL's password, and `TOKENLEDGER_REDIS_MODE`.
    /// It reads them through
    /// ``init(config:url:)``, as every other source does.
    ///
    /// - Parameters:
    ///   - environment: The variables to read; defaults to the process environment.
    ///   - url: A URL that takes the place of `REDIS_URL` (for example a `--redis` option).
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        url: String? = nil
    ) throws(RedisError) -> RedisConfiguration {
        let provider = EnvironmentVariablesProvider(
            environmentVariables: environment, secretsSpecifier: .specific(secretEnvironmentVariables))
        let reader = ConfigReader(provider: provider)
        var configuration = try RedisConfiguration(config: reader.scoped(to: "redis"), url: url)
        try configuration.setMode(reader.string(forKey: "tokenledger.redisMode"))  // TOKENLEDGER_REDIS_MODE
        return configuration
    }
}
