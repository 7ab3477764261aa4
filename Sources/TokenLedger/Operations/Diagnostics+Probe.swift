import RedisClient

extension Diagnostics {
    /// What connecting to the server found: the first thing `tokenledger doctor` reports, before the
    /// namespace's checks (``run(repository:now:)``).
    public struct Connectivity: Sendable, Hashable {
        /// The server as the configuration describes it (`redis://127.0.0.1:6379/0`); never the password.
        public var redis: String
        /// `version (mode)` from `INFO server`, e.g. `7.2.4 (standalone)`; `nil` when this user may
        /// not run `INFO` (the application's least-privilege user).
        public var serverVersion: String?
        /// How long connecting and one `PING` took.
        public var roundTrip: Duration

        /// Creates a value.
        ///
        /// - Parameters:
        ///   - redis: The server's description, without the password.
        ///   - serverVersion: The server's version and mode, or `nil` when not shown.
        ///   - roundTrip: How long connecting and one `PING` took.
        public init(redis: String, serverVersion: String?, roundTrip: Duration) {
            self.redis = redis
            self.serverVersion = serverVersion
            self.roundTrip = roundTrip
        }
    }

    /// Connects to the server on a connection of its own, sends `PING` and reads the version.
    ///
    /// The probe's connection uses `timeout` for connecting and for each command (instead of the
    /// configuration's), so an unreachable or stuck server is reported promptly; it is closed before
    /// the probe returns or throws. It goes to the first seed, as to a single server (no routing), so
    /// a Redis Cluster that is down is still reached.
    ///
    /// - Parameters:
    ///   - configuration: The server to probe.
    ///   - timeout: The connect and command timeout. Default 2 seconds.
    /// - Returns: The server, its version and the round trip.
    /// - Throws: `RedisError`. When the server refuses the user (a wrong password, an
    ///   ACL refusal: `RedisError.isPermissionDenied`) or cannot be used
    ///   (`RedisError.isUnavailable`, `RedisError.isServerUnavailable`),
    ///   the error keeps its code and its message names the server: `Redis at 127.0.0.1:6379 refused
    ///   this user: …`, `Redis at 127.0.0.1:6379 is unavailable: …`. A refused `INFO` is not an error
    ///   (``Connectivity/serverVersion`` is `nil`).
    public static func probe(_ configuration: RedisConfiguration, timeout: Duration = .seconds(2)) async throws
        -> Connectivity
    {
        var configuration = configuration
        configuration.connectTimeout = timeout
        configuration.commandTimeout = timeout
        // The first seed itself, never routed: a cluster that is down must still be reported (by
        // ``cluster(repository:now:timeout:)``), not refused here because its slot map has holes.
        configuration.seeds = [configuration.endpoint]
        configuration.mode = .standalone
        let pool = RedisConnectionPool(configuration: configuration, options: .init(maximumConnections: 1))
        do {
            let result = try await probe(pool, configuration)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }

    private static func probe(_ pool: RedisConnectionPool, _ configuration: RedisConfiguration) async throws
        -> Connectivity
    {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await pool.send(PING())
        } catch let error as RedisError where error.isPermissionDenied {
            throw naming(configuration, error, "refused this user")
        } catch let error as RedisError where error.isUnavailable || error.isServerUnavailable {
            throw naming(configuration, error, "is unavailable")
        }
        let roundTrip = clock.now - start
        var serverVersion: String?
        do {
            let server = try await pool.send(INFO("server"))
            serverVersion = "\(server["redis_version"] ?? "unknown") (\(server["redis_mode"] ?? "unknown"))"
        } catch let error as RedisError where error.isPermissionDenied {
            serverVersion = nil
        }
        return Connectivity(redis: "\(configuration)", serverVersion: serverVersion, roundTrip: roundTrip)
    }

    /// `error` with its message saying which server: `Redis at <endpoint> <what>: <message>`.
    private static func naming(_ configuration: RedisConfiguration, _ error: RedisError, _ what: String) -> RedisError {
        RedisError(
            code: error.code, message: "Redis at \(configuration.endpoint) \(what): \(error.message)",
            serverCode: error.serverCode, command: error.command, underlying: error)
    }
}
