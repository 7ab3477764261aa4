import ArgumentParser
import Foundation
import RedisClient
import TokenLedger

/// `tokenledger doctor`: checks that Redis answers and reports what it finds.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check Redis and the namespace: connectivity, version, schema and migrations, scripts, persistence, memory, rollover.",
        discussion: """
            Prints one line per check (ok, warn or fail). Exits 69 when Redis is unavailable, 77 when it \
            refuses the user (wrong password), 70 when a check fails (e.g. the Lua scripts are not \
            loaded, or the server is a read-only replica), else 0, warnings included. Run as the \
            application's least-privilege user, checks that need the administrator say so (warn).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: FormatOptions

    func run() async throws {
        try await reportingFailures {
            let formatter = try output.formatter()
            var configuration = try await global.redisConfiguration()
            configuration.connectTimeout = .seconds(2)
            configuration.commandTimeout = .seconds(2)
            let pool = RedisConnectionPool(configuration: configuration, options: .init(maximumConnections: 1))
            let clock = ContinuousClock()
            let start = clock.now
            do {
                _ = try await pool.send(RedisCommand("PING"))
            } catch let error as RedisError where error.isPermissionDenied {
                throw CLIFailure(
                    exitCode: .permissionDenied,
                    message: "Redis at \(configuration.endpoint) refused this user: \(error.message)")
            } catch let error as RedisError where error.isUnavailable || error.isServerUnavailable {
                throw CLIFailure(
                    exitCode: .unavailable,
                    message: "Redis at \(configuration.endpoint) is unavailable: \(error.message)")
            }
            let elapsed = clock.now - start
            var result = DoctorOutput(redis: "\(configuration)", roundTrip: elapsed)
            do {
                let info = try await pool.send(RedisCommand("INFO", "server")).string ?? ""
                let version = infoField("redis_version", in: info) ?? "unknown"
                let mode = infoField("redis_mode", in: info) ?? "unknown"
                result.serverVersion = "\(version) (\(mode))"
            } catch let error as RedisError where error.isPermissionDenied {
                result.serverVersion = nil
            }
            await pool.close()

            result.checks = try await global.withRepository { repository in
                try await Diagnostics.run(repository: repository)
            }
            try formatter.print(result)
            let failed = result.checks.filter { $0.status == .fail }
            if !failed.isEmpty {
                throw CLIFailure(
                    exitCode: .internalError, message: "doctor: \(failed.map(\.name).joined(separator: ", ")) failed (see above)")
            }
        }
    }

    private func infoField(_ name: String, in info: String) -> String? {
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix(name + ":") {
            return String(line.dropFirst(name.count + 1))
        }
        return nil
    }
}

/// What `doctor` found: `{"checks":[{"detail","name","status"}],"redis","round_trip_microseconds","server_version"}`
/// (`server_version` null when INFO needs the administrator's user).
struct DoctorOutput: CommandResult {
    var redis: String
    var serverVersion: String?
    var roundTripMicroseconds: Int
    var checks: [Diagnostics.Check] = []

    init(redis: String, roundTrip: Duration) {
        self.redis = redis
        let (seconds, attoseconds) = roundTrip.components
        roundTripMicroseconds = Int(clamping: seconds) &* 1_000_000 &+ Int(attoseconds / 1_000_000_000_000)
    }

    enum CodingKeys: String, CodingKey {
        case redis, checks
        case serverVersion = "server_version"
        case roundTripMicroseconds = "round_trip_microseconds"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(redis, forKey: .redis)
        try c.encode(serverVersion, forKey: .serverVersion)
        try c.encode(roundTripMicroseconds, forKey: .roundTripMicroseconds)
        try c.encode(checks, forKey: .checks)
    }

    /// The connection, the server version, the round trip, then one `STATUS  name: detail` line per check.
    func renderTable() throws -> String {
        var text = "redis: \(redis) ok\n"
        text += "server version: \(serverVersion ?? "not shown (INFO needs the administrator's user)")\n"
        text += "round trip: \(String(format: "%.2f", Double(roundTripMicroseconds) / 1000)) ms (connect and PING)\n"
        for check in checks {
            text += "\(check.status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  \(check.name): \(check.detail)\n"
        }
        return text
    }

    /// `name,status,detail`, a row per check.
    func csvRows() throws -> [[String]] {
        [["name", "status", "detail"]] + checks.map { [$0.name, $0.status.rawValue, $0.detail] }
    }
}
