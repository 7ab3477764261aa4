import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@Suite("Rate limits: an update is one write")
struct RateLimitUpdateTests {
    /// The commands `redis-cli monitor` saw that name `key` (as a key or an argument), as text.
    static func commands(naming key: String, in commands: [[[UInt8]]]) -> [[String]] {
        commands.map { $0.map { String(decoding: $0, as: UTF8.self) } }.filter { $0.contains(key) }
    }

    @Test("setting or clearing tpm and rpm (a scope's or the defaults) is one script: no reader sees half of it")
    func oneWrite() async throws {
        try await withRedisServer { server async throws in
            let pool = RedisConnectionPool(configuration: server.configuration)
            let repository = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: "rateset", settingsCacheTTL: .zero))
            let profile = try repository.keys.scope(.team("t")).profile
            _ = try await repository.rateLimits(scope: .team("t"))  // loads the settings before the monitor
            // Loads both scripts before the monitor (a first EVALSHA is answered NOSCRIPT and sent again).
            try await repository.setDefaultRateLimit(tpm: 1, rpm: 1)
            try await repository.setRateLimit(scope: .team("warm"), tpm: 1, rpm: nil)

            var monitor = try await server.startMonitor()
            var limits = try await repository.setRateLimit(scope: .team("t"), tpm: 9000, rpm: 90)
            var writes = Self.commands(naming: profile, in: try await monitor.stop()).filter { $0[0] == "EVALSHA" }
            #expect(limits.tpm == 9000 && limits.rpm == 90)
            #expect(writes.count == 1 && writes.first?.suffix(4) == ["tpm", "9000", "rpm", "90"], "\(writes)")

            monitor = try await server.startMonitor()
            limits = try await repository.clearRateLimit(scope: .team("t"))
            writes = Self.commands(naming: profile, in: try await monitor.stop()).filter { $0[0] == "EVALSHA" }
            #expect(limits.tpm == nil && limits.rpm == nil)
            #expect(writes.count == 1 && writes.first?.suffix(4) == ["tpm", "", "rpm", ""], "\(writes)")

            monitor = try await server.startMonitor()
            try await repository.setDefaultRateLimit(tpm: 500, rpm: 5, clear: true)
            writes = Self.commands(naming: "default_tpm", in: try await monitor.stop()).filter { $0[0] == "EVALSHA" }
            #expect(writes.count == 1 && writes.first?.contains("default_rpm") == true, "\(writes)")
            limits = try await repository.rateLimits(scope: .user("u"))
            #expect(limits.defaultTPM == 500 && limits.defaultRPM == 5)
            await pool.close()
        }
    }
}
