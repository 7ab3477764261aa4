import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// `doctor`'s connectivity probe, against real servers.
@Suite("Diagnostics.probe")
struct DiagnosticsProbeTests {
    @Test("a live server: its description, the version and mode INFO reports, a round trip")
    func live() async throws {
        try await withRedisServer { server async throws in
            let connectivity = try await Diagnostics.probe(server.configuration)
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            let info = try await connection.send(RedisCommand("INFO", "server")).string ?? ""
            await connection.close()
            func field(_ name: String) -> String? {
                info.split(whereSeparator: \.isNewline).first { $0.hasPrefix(name + ":") }.map {
                    String($0.dropFirst(name.count + 1))
                }
            }
            let version = try #require(field("redis_version"), "\(info)")
            let mode = try #require(field("redis_mode"), "\(info)")
            #expect(connectivity.serverVersion == "\(version) (\(mode))")
            #expect(connectivity.redis == "\(server.configuration)")
            #expect(connectivity.roundTrip > .zero)
        }
    }

    @Test("an unreachable server is unavailable, the message naming its address")
    func unreachable() async throws {
        let port = try closedPort()
        let configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
        await #expect {
            _ = try await Diagnostics.probe(configuration)
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.isUnavailable && ErrorCategory.of(error) == .unavailable
                && error.message.hasPrefix("Redis at 127.0.0.1:\(port) is unavailable: ")
                && (error.underlying as? RedisError)?.code == error.code
        }
    }

    @Test("a refused user (no password, a wrong one) is permission denied, naming the server, never the password")
    func refused() async throws {
        var options = RedisTestServer.Options()
        options.requirePassword = "probe-secret"
        try await withRedisServer(options) { server async throws in
            var configuration = server.configuration
            configuration.password = "probe-secret"
            #expect(try await Diagnostics.probe(configuration).serverVersion != nil)
            for password in [nil, "wrong-secret"] {
                configuration.password = password
                await #expect {
                    _ = try await Diagnostics.probe(configuration)
                } throws: { error in
                    guard let error = error as? RedisError else { return false }
                    return error.isPermissionDenied
                        && error.message.hasPrefix("Redis at 127.0.0.1:\(server.port) refused this user: ")
                        && !error.message.contains("secret")
                }
            }
        }
    }

    @Test("a user that may not run INFO still passes the probe, without a version")
    func leastPrivilege() async throws {
        // (The documented application user may run INFO since cluster support: it detects a
        // cluster with it. This user may run everything but INFO.)
        var options = RedisTestServer.Options()
        options.aclUsers = [(name: "no-info", password: "no-info-secret", rules: "~* &* +@all -info")]
        try await withRedisServer(options) { server async throws in
            var configuration = server.configuration
            configuration.username = "no-info"
            configuration.password = "no-info-secret"
            let connectivity = try await Diagnostics.probe(configuration)
            #expect(connectivity.serverVersion == nil)
            #expect(!connectivity.redis.contains("no-info-secret"))
        }
    }
}
