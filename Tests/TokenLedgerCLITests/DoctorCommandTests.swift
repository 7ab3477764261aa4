import Foundation
import RedisClient
import RedisTestSupport
import Testing

@Suite("tokenledger doctor, --version, --help")
struct DoctorCommandTests {
    @Test("doctor against a live server prints the server version and exits 0")
    func live() async throws {
        try await withRedisServer { server async throws in
            let result = try await CLI.run(["doctor", "--redis", "redis://127.0.0.1:\(server.port)"])
            #expect(result.status == 0, "stderr: \(result.stderr)")
            // The version the server itself reports (Redis 7 or 8, Valkey…), not a hard-coded one.
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            let info = try await connection.send(RedisCommand("INFO", "server")).string ?? ""
            await connection.close()
            let version = try #require(
                info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("redis_version:") }?.dropFirst(
                    "redis_version:".count),
                "INFO server has no redis_version: \(info)")
            #expect(result.stdout.contains("server version: \(version)"), "\(result.stdout)")
            #expect(result.stdout.contains("127.0.0.1:\(server.port) ok"))
        }
    }

    @Test("doctor reads REDIS_URL and REDIS_PASSWORD, and never prints the password")
    func environment() async throws {
        var options = RedisTestServer.Options()
        options.requirePassword = "doctor-secret"
        try await withRedisServer(options) { server async throws in
            let result = try await CLI.run(
                ["doctor"],
                environment: ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "REDIS_PASSWORD": "doctor-secret"])
            #expect(result.status == 0, "stderr: \(result.stderr)")
            #expect(!(result.stdout + result.stderr).contains("doctor-secret"))

            let wrong = try await CLI.run(
                ["doctor"],
                environment: ["REDIS_URL": "redis://:bad-secret@127.0.0.1:\(server.port)"])
            // A wrong password is a refusal, not an outage: 77 with a sentence.
            #expect(wrong.status == 77)
            #expect(wrong.stderr.contains("refused this user") && wrong.stderr.contains("authentication"))
            #expect(!(wrong.stdout + wrong.stderr).contains("bad-secret"))
        }
    }

    @Test("doctor against a closed port exits 69 naming the address")
    func closedPort() async throws {
        let port = try RedisTestSupport.closedPort()
        let result = try await CLI.run(["doctor", "--redis", "redis://127.0.0.1:\(port)"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("127.0.0.1:\(port)"))
        #expect(result.stdout.isEmpty)
    }

    @Test("rediss:// and malformed URLs are usage errors (64) with clear messages")
    func badURLs() async throws {
        let tls = try await CLI.run(["doctor", "--redis", "rediss://app:pw123@cache:6380"])
        #expect(tls.status == 64)
        #expect(tls.stderr.contains("hiredis 0.14 has no TLS"))
        #expect(!tls.stderr.contains("pw123"))
        let malformed = try await CLI.run(["doctor", "--redis", "redis://host:port"])
        #expect(malformed.status == 64)
        #expect(malformed.stderr.contains("port 'port'"))
    }

    @Test("--version prints the version; --help lists the commands")
    func versionAndHelp() async throws {
        let version = try await CLI.run(["--version"])
        #expect(version.status == 0)
        #expect(
            version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).range(
                of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression) != nil)
        let help = try await CLI.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("doctor"))
        #expect(help.stdout.contains("REDIS_URL"))
        let unknown = try await CLI.run(["no-such-command"])
        #expect(unknown.status == 64)
    }
}
