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

    func run() async throws {
        try await reportingFailures {
            var configuration = try global.redisConfiguration()
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
            print("redis: \(configuration) ok")
            do {
                let info = try await pool.send(RedisCommand("INFO", "server")).string ?? ""
                let version = infoField("redis_version", in: info) ?? "unknown"
                let mode = infoField("redis_mode", in: info) ?? "unknown"
                print("server version: \(version) (\(mode))")
            } catch let error as RedisError where error.isPermissionDenied {
                print("server version: not shown (INFO needs the administrator's user)")
            }
            let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3
            print("round trip: \(String(format: "%.2f", milliseconds)) ms (connect and PING)")
            await pool.close()

            let checks = try await global.withRepository { repository in
                try await Diagnostics.run(repository: repository)
            }
            for check in checks {
                print("\(check.status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  \(check.name): \(check.detail)")
            }
            let failed = checks.filter { $0.status == .fail }
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
