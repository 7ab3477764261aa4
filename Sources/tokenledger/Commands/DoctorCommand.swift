import ArgumentParser
import Foundation
import RedisClient
import TokenLedger

/// `tokenledger doctor`: checks that Redis answers and reports what it finds.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract:
            "Check Redis and the namespace: connectivity, version, schema and migrations, scripts, persistence, memory, rollover.",
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
            let connectivity: Diagnostics.Connectivity
            do {
                connectivity = try await Diagnostics.probe(try await global.redisConfiguration())
            } catch let error as RedisError where error.isPermissionDenied {
                // The exit table would add its hint about administrative commands (NOPERM, NOAUTH):
                // a refused connection is not one, and the probe's message already says what failed.
                throw CLIFailure(exitCode: .permissionDenied, message: error.message)
            }
            var result = DoctorOutput(connectivity)
            result.checks = try await global.withRepository { repository in
                try await Diagnostics.run(repository: repository)
            }
            try formatter.print(result)
            let failed = result.checks.filter { $0.status == .fail }
            if !failed.isEmpty {
                throw CLIFailure(
                    exitCode: .internalError,
                    message: "doctor: \(failed.map(\.name).joined(separator: ", ")) failed (see above)")
            }
        }
    }
}

/// What `doctor` found: `{"checks":[{"detail","name","status"}],"redis","round_trip_microseconds","server_version"}`
/// (`server_version` null when INFO needs the administrator's user).
struct DoctorOutput: CommandResult {
    var redis: String
    var serverVersion: String?
    var roundTripMicroseconds: Int
    var checks: [Diagnostics.Check] = []

    init(_ connectivity: Diagnostics.Connectivity) {
        redis = connectivity.redis
        serverVersion = connectivity.serverVersion
        let (seconds, attoseconds) = connectivity.roundTrip.components
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
            text +=
                "\(check.status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  \(check.name): \(check.detail)\n"
        }
        return text
    }

    /// `name,status,detail`, a row per check.
    func csvRows() throws -> [[String]] {
        [["name", "status", "detail"]] + checks.map { [$0.name, $0.status.rawValue, $0.detail] }
    }
}
