import Configuration
import Foundation
import RedisClient
import SystemPackage

/// Everything a TokenLedger process configures from outside: how to reach Redis, the ledger's
/// settings, and the local directories and limits. The library, the CLI and the HTTP service read it
/// the same way, in one place: ``init(config:redisURL:namespace:)`` over a swift-configuration
/// reader, which ``load(environment:configFile:redisURL:namespace:)`` builds from the environment
/// first and then an optional JSON file.
///
/// ## Configuration keys
/// Each key is read from the environment under the name in parentheses, else from the JSON file
/// (`{"redis": {"url": …}, "tokenledger": {"namespace": …}}`). An empty value counts as unset.
/// - `redis.url` (`REDIS_URL`, secret): the Redis URL, default `redis://127.0.0.1:6379`.
/// - `redis.password` (`REDIS_PASSWORD`, secret): overrides the URL's password.
/// - `tokenledger.namespace` (`TOKENLEDGER_NAMESPACE`): the key prefix, default `tl`.
/// - `tokenledger.redisMode` (`TOKENLEDGER_REDIS_MODE`): `auto` (default), `cluster` or `standalone`.
/// - `tokenledger.spoolDir` (`TOKENLEDGER_SPOOL_DIR`): the local spool; none by default.
/// - `tokenledger.bpeDir` (`TOKENLEDGER_BPE_DIR`): rank files for exact token counts; heuristic without.
/// - `tokenledger.reservationMargin` (`TOKENLEDGER_RESERVATION_MARGIN`): the margin of heuristic
///   reservation estimates, `measured` (default), `none` or a percentage (``ReservationMargin``).
/// - `tokenledger.maxInputBytes` (`TOKENLEDGER_MAX_INPUT_BYTES`): the CLI's input cap, checked by the
///   command that reads input.
/// - `tokenledger.dedupeWindowDays` (`TOKENLEDGER_DEDUPE_WINDOW_DAYS`): days after a cycle ends that
///   rollover keeps its call ids (default 7); see ``LedgerConfiguration/dedupeWindowDays``.
/// - `tokenledger.waitReplicas` (`TOKENLEDGER_WAIT_REPLICAS`): replicas that must acknowledge each
///   record and settle (`WAIT`), 0 (default) = no wait; see ``LedgerConfiguration/replicaWait``.
/// - `tokenledger.waitTimeoutMs` (`TOKENLEDGER_WAIT_TIMEOUT_MS`): how long to wait for them, in
///   milliseconds, default 1000.
/// - `tokenledger.configFile` (`TOKENLEDGER_CONFIG_FILE`, environment only): the JSON file.
///
/// ``description`` never shows a password.
public struct TokenLedgerConfiguration: Sendable, CustomStringConvertible {
    /// The environment variable that names the JSON configuration file.
    public static let configFileVariable = "TOKENLEDGER_CONFIG_FILE"

    /// How to reach Redis.
    public var redis: RedisConfiguration
    /// The ledger's in-process settings (namespace, thresholds, lease and cache TTLs).
    public var ledger: LedgerConfiguration
    /// The spool and rank file directories and the input cap: what a command that needs no server reads.
    public var local: LocalSettings

    /// Settings of this process that need no server, read without failing (a command that uses one
    /// checks it), so `estimate` runs whatever `REDIS_URL` says.
    public struct LocalSettings: Sendable, Hashable {
        /// The spool directory for events Redis could not take; `nil` means no spool.
        public var spoolDirectory: String?
        /// The directory with `o200k_base` / `cl100k_base` rank files; `nil` means heuristic counting.
        public var bpeDirectory: String?
        /// The input cap as given (text, so the command that reads input names a bad value); `nil` when unset.
        public var maxInputBytes: String?
        /// The reservation margin as given (`measured`, `none` or a percentage); `nil` when unset (measured).
        public var reservationMargin: String?

        /// Creates the settings field by field.
        public init(
            spoolDirectory: String? = nil, bpeDirectory: String? = nil, maxInputBytes: String? = nil,
            reservationMargin: String? = nil
        ) {
            self.spoolDirectory = spoolDirectory
            self.bpeDirectory = bpeDirectory
            self.maxInputBytes = maxInputBytes
            self.reservationMargin = reservationMargin
        }

        /// Reads `spoolDir`, `bpeDir`, `maxInputBytes` and `reservationMargin` from a reader scoped to
        /// the `tokenledger` keys.
        public init(config: ConfigReader) {
            self.spoolDirectory = config.text(forKey: "spoolDir")
            self.bpeDirectory = config.text(forKey: "bpeDir")
            self.maxInputBytes = config.text(forKey: "maxInputBytes")
            self.reservationMargin = config.text(forKey: "reservationMargin")
        }

        /// The reservation margin: ``ReservationMargin/measured`` when unset.
        ///
        /// - Throws: ``ValidationError`` naming `TOKENLEDGER_RESERVATION_MARGIN` when the value is not
        ///   `measured`, `none` or a whole percentage 0…100.
        public func parsedReservationMargin() throws(ValidationError) -> ReservationMargin {
            guard let reservationMargin else { return .measured }
            return try ReservationMargin(parsing: reservationMargin)
        }

        /// Reads the settings from the environment, then the JSON file when one is named (see
        /// ``TokenLedgerConfiguration/reader(environment:configFile:)``).
        public static func load(
            environment: [String: String] = ProcessInfo.processInfo.environment, configFile: String? = nil
        ) async throws(ValidationError) -> LocalSettings {
            LocalSettings(
                config: try await reader(environment: environment, configFile: configFile).scoped(to: "tokenledger"))
        }

        /// The token counter: exact from ``bpeDirectory`` when it is set, else heuristic; with the
        /// reservation margin (a value that does not parse counts as `measured`, and `doctor` fails
        /// naming it).
        public func tokenCounting() -> TokenCounting {
            let margin = (try? parsedReservationMargin()) ?? .measured
            if bpeDirectory == nil && margin == .measured { return .heuristic }
            return TokenCounting(directory: bpeDirectory, reservationMargin: margin)
        }
    }

    /// Creates a configuration field by field.
    public init(redis: RedisConfiguration, ledger: LedgerConfiguration, local: LocalSettings = LocalSettings()) {
        self.redis = redis
        self.ledger = ledger
        self.local = local
    }

    /// Reads every key (see the type's documentation) from a reader.
    ///
    /// - Parameters:
    ///   - config: The reader, at the root (its keys are `redis.*` and `tokenledger.*`).
    ///   - redisURL: A URL that takes the place of `redis.url` (a `--redis` option).
    ///   - namespace: A namespace that takes the place of `tokenledger.namespace` (a `--namespace` option).
    /// - Throws: `RedisError` for a bad Redis URL (its password masked);
    ///   ``ValidationError`` for a bad namespace.
    public init(config: ConfigReader, redisURL: String? = nil, namespace: String? = nil) throws {
        let ledgerKeys = config.scoped(to: "tokenledger")
        self.redis = try RedisConfiguration(config: config.scoped(to: "redis"), url: redisURL)
        try redis.setMode(ledgerKeys.string(forKey: "redisMode"))
        self.ledger = try LedgerConfiguration(config: ledgerKeys, namespace: namespace)
        self.local = LocalSettings(config: ledgerKeys)
    }

    /// Reads the configuration from the environment first, then from a JSON file when one is named
    /// (`configFile`, else `TOKENLEDGER_CONFIG_FILE`).
    ///
    /// - Parameters:
    ///   - environment: The variables to read; defaults to the process environment.
    ///   - configFile: A JSON file that takes the place of `TOKENLEDGER_CONFIG_FILE` (a `--config` option).
    ///   - redisURL: A URL that takes the place of `redis.url`.
    ///   - namespace: A namespace that takes the place of `tokenledger.namespace`.
    /// - Throws: the errors of ``reader(environment:configFile:)`` and ``init(config:redisURL:namespace:)``.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment, configFile: String? = nil,
        redisURL: String? = nil, namespace: String? = nil
    ) async throws -> TokenLedgerConfiguration {
        let config = try await reader(environment: environment, configFile: configFile)
        return try TokenLedgerConfiguration(config: config, redisURL: redisURL, namespace: namespace)
    }

    /// The one reader of every source: the environment first, then a JSON file when one is named
    /// (`configFile`, else `TOKENLEDGER_CONFIG_FILE`).
    ///
    /// - Throws: ``ValidationError`` with ``ValidationError/Code/invalidConfiguration`` naming the file
    ///   when it is missing or not JSON.
    public static func reader(
        environment: [String: String] = ProcessInfo.processInfo.environment, configFile: String? = nil
    ) async throws(ValidationError) -> ConfigReader {
        var providers: [any ConfigProvider] = [environmentProvider(environment)]
        if let file = configFile ?? environment[configFileVariable].flatMap({ $0.isEmpty ? nil : $0 }) {
            do {
                providers.append(
                    try await FileProvider<JSONSnapshot>(
                        parsingOptions: .init(secretsSpecifier: .specific(["redis.url", "redis.password"])),
                        filePath: FilePath(file)))
            } catch {
                throw ValidationError(
                    code: .invalidConfiguration, field: "config_file",
                    message: "cannot read the configuration file \(file): \(fileProblem(file))")
            }
        }
        return ConfigReader(providers: providers)
    }

    /// A provider over environment variables (`REDIS_URL`, `TOKENLEDGER_NAMESPACE`, …) with the Redis
    /// URL and password marked secret.
    public static func environmentProvider(_ environment: [String: String]) -> EnvironmentVariablesProvider {
        EnvironmentVariablesProvider(
            environmentVariables: environment,
            secretsSpecifier: .specific(RedisConfiguration.secretEnvironmentVariables))
    }

    /// Why a configuration file could not be read, in words (never the file's content, which may hold a password).
    private static func fileProblem(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "no such file" }
        if isDirectory.boolValue { return "it is a directory" }
        guard FileManager.default.isReadableFile(atPath: path) else { return "permission denied" }
        return "it is not a JSON object of strings, numbers and objects"
    }

    /// Redis (without its password), the namespace and the directories set, e.g.
    /// `redis 127.0.0.1:6379 (password set), namespace tl, spool /var/spool/tl`.
    public var description: String {
        var text = "redis \(redis), namespace \(ledger.namespace)"
        if let spoolDirectory = local.spoolDirectory { text += ", spool \(spoolDirectory)" }
        if let bpeDirectory = local.bpeDirectory { text += ", rank files \(bpeDirectory)" }
        if let maxInputBytes = local.maxInputBytes { text += ", input cap \(maxInputBytes) bytes" }
        return text
    }
}

extension LedgerConfiguration {
    /// The defaults, with the reader's `namespace` (or `namespace` when given) as the namespace.
    ///
    /// - Parameters:
    ///   - config: A reader scoped to the `tokenledger` keys.
    ///   - namespace: A namespace that takes the place of the `namespace` key.
    public init(config: ConfigReader, namespace: String? = nil) throws(ValidationError) {
        try self.init(
            namespace: namespace ?? config.text(forKey: "namespace") ?? "tl", replicaWait: try Self.replicaWait(config),
            dedupeWindowDays: try Self.dedupeWindowDays(config))
    }

    /// `dedupeWindowDays` (`TOKENLEDGER_DEDUPE_WINDOW_DAYS`): whole days, default 7.
    static func dedupeWindowDays(_ config: ConfigReader) throws(ValidationError) -> Int {
        guard let text = config.text(forKey: "dedupeWindowDays") else { return 7 }
        guard let days = Int(text), (0...3650).contains(days) else {
            throw ValidationError(
                code: .invalidLimit, field: "dedupe_window_days",
                message: "TOKENLEDGER_DEDUPE_WINDOW_DAYS is '\(text.prefix(40))'; use whole days from 0 to 3650")
        }
        return days
    }

    /// The defaults, with `TOKENLEDGER_NAMESPACE` (or `namespace` when given) as the namespace.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, namespace: String? = nil
    ) throws(ValidationError) -> LedgerConfiguration {
        try LedgerConfiguration(config: .ledgerKeys(environment), namespace: namespace)
    }
}

extension TokenCounting {
    /// Exact counting from `TOKENLEDGER_BPE_DIR` when it is set, else heuristic.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        -> TokenCounting
    {
        TokenLedgerConfiguration.LocalSettings(config: .ledgerKeys(environment)).tokenCounting()
    }
}

extension ConfigReader {
    /// A reader of the `tokenledger` keys in environment variables (`TOKENLEDGER_NAMESPACE`, …).
    static func ledgerKeys(_ environment: [String: String]) -> ConfigReader {
        ConfigReader(provider: TokenLedgerConfiguration.environmentProvider(environment)).scoped(to: "tokenledger")
    }

    /// A value as text (a JSON number as its digits); `nil` when unset or empty.
    func text(forKey key: ConfigKey) -> String? {
        (string(forKey: key) ?? int(forKey: key).map(String.init)).flatMap { $0.isEmpty ? nil : $0 }
    }
}
