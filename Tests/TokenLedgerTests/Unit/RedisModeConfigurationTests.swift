import RedisClient
import Testing
import TokenLedger

@Suite("TOKENLEDGER_REDIS_MODE and cluster seeds in the one configuration")
struct RedisModeConfigurationTests {
    @Test("The mode and several seeds come through the shared configuration")
    func modeFromEnvironment() async throws {
        let environment = ["REDIS_URL": "redis://:topsecret@h1:7001,h2:7002", "TOKENLEDGER_REDIS_MODE": "cluster"]
        let configuration = try await TokenLedgerConfiguration.load(environment: environment)
        #expect(configuration.redis.mode == .cluster)
        #expect(configuration.redis.seeds == [.tcp(host: "h1", port: 7001), .tcp(host: "h2", port: 7002)])
        #expect(try RedisConfiguration.fromEnvironment(environment) == configuration.redis)
        #expect(!configuration.description.contains("topsecret"))

        let unset = try await TokenLedgerConfiguration.load(environment: ["REDIS_URL": "redis://h1:7001"])
        #expect(unset.redis.mode == .auto)
    }

    @Test("A bad mode, or standalone with several seeds, is refused naming the setting")
    func refused() async {
        await #expect {
            try await TokenLedgerConfiguration.load(environment: ["TOKENLEDGER_REDIS_MODE": "sharded"])
        } throws: { error in
            (error as? RedisError)?.message.contains("invalid TOKENLEDGER_REDIS_MODE 'sharded'") == true
        }
        let several = ["REDIS_URL": "redis://:topsecret@h1:7001,h2:7002", "TOKENLEDGER_REDIS_MODE": "standalone"]
        await #expect {
            try await TokenLedgerConfiguration.load(environment: several)
        } throws: { error in
            let error = try #require(error as? RedisError)
            return error.message.contains("mode is standalone but 2 seeds") && !error.message.contains("topsecret")
        }
        #expect(throws: RedisError.self) { try RedisConfiguration.fromEnvironment(several) }
    }
}
