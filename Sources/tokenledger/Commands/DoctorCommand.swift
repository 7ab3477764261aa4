import ArgumentParser
import Foundation
import RedisClient

/// `tokenledger doctor`: checks that Redis answers and reports what it finds.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check connectivity to Redis and print the server's version."
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
            } catch let error as RedisError where error.isUnavailable || error.code == .authenticationFailed {
                throw CLIFailure(
                    exitCode: .unavailable,
                    message: "Redis at \(configuration.endpoint) is unavailable: \(error.message)")
            }
            let elapsed = clock.now - start
            let info = try await pool.send(RedisCommand("INFO", "server")).string ?? ""
            let version = infoField("redis_version", in: info) ?? "unknown"
            let mode = infoField("redis_mode", in: info) ?? "unknown"
            print("redis: \(configuration) ok")
            print("server version: \(version) (\(mode))")
            let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3
            print("round trip: \(String(format: "%.2f", milliseconds)) ms (connect and PING)")
            await pool.close()
        }
    }

    private func infoField(_ name: String, in info: String) -> String? {
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix(name + ":") {
            return String(line.dropFirst(name.count + 1))
        }
        return nil
    }
}
