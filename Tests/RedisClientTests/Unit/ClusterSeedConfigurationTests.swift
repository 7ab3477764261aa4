import RedisClient
import Testing

@Suite("Cluster seeds and mode in the configuration")
struct ClusterSeedConfigurationTests {
    @Test("One host is one seed, exactly as before")
    func oneHost() throws {
        let config = try RedisConfiguration(url: "redis://app:secret@10.0.0.5:6380/2")
        #expect(config.seeds == [.tcp(host: "10.0.0.5", port: 6380)])
        #expect(config.endpoint == .tcp(host: "10.0.0.5", port: 6380))
        #expect(config.additionalSeeds.isEmpty && config.mode == .auto)
        #expect(config == (try RedisConfiguration(url: "redis://app:secret@10.0.0.5:6380/2")))
        let socket = try RedisConfiguration(url: "unix:///run/redis.sock")
        #expect(socket.seeds == [.unix(path: "/run/redis.sock")])
    }

    @Test("Several seeds: the first is the endpoint a standalone client uses")
    func severalSeeds() throws {
        let config = try RedisConfiguration(url: "redis://app:s3cret@h1:7001,h2:7002,[::1]:7003,h4/0")
        #expect(
            config.seeds == [
                .tcp(host: "h1", port: 7001), .tcp(host: "h2", port: 7002), .tcp(host: "::1", port: 7003),
                .tcp(host: "h4", port: 6379),
            ])
        #expect(config.endpoint == .tcp(host: "h1", port: 7001))
        #expect(config.username == "app" && config.password == "s3cret" && config.database == 0)
        #expect(!config.description.contains("s3cret"))

        var edited = config
        edited.seeds = [.tcp(host: "h9", port: 1)]
        #expect(edited.endpoint == .tcp(host: "h9", port: 1) && edited.additionalSeeds.isEmpty)
        edited.seeds = []
        #expect(edited.seeds == [.tcp(host: "h9", port: 1)])
    }

    @Test("A bad seed names itself and the password stays masked")
    func badSeed() {
        let cases: [(String, String)] = [
            ("redis://app:topsecret@h1:7001,h2:99999", "seed 'h2:99999': port '99999' is not a number from 1 to 65535"),
            ("redis://app:topsecret@h1:7001,,h3:7003", "empty seed in host list 'h1:7001,,h3:7003'"),
            ("redis://app:topsecret@h1:7001,", "empty seed"),
            ("redis://app:topsecret@h1:7001,[::1:7002", "seed '[::1:7002': unclosed '[' in host"),
            ("redis://app:topsecret@h1:x,h2:7002", "seed 'h1:x': port 'x'"),
        ]
        for (url, why) in cases {
            #expect {
                try RedisConfiguration(url: url)
            } throws: { error in
                let error = try #require(error as? RedisError)
                return error.code == .invalidConfiguration && error.message.contains(why)
                    && !error.message.contains("topsecret") && error.message.contains("redis://app:***@")
            }
        }
    }

    @Test("unix:// with several sockets is refused, as is a unix socket among seeds")
    func unixSeeds() throws {
        #expect {
            try RedisConfiguration(url: "unix://app:topsecret@/tmp/a.sock,/tmp/b.sock")
        } throws: { error in
            let error = try #require(error as? RedisError)
            return error.message.contains("names one socket") && !error.message.contains("topsecret")
        }
        var config = try RedisConfiguration(url: "redis://h1:7001")
        config.seeds = [.tcp(host: "h1", port: 7001), .unix(path: "/tmp/b.sock")]
        #expect {
            try config.validateSeeds()
        } throws: { error in
            (error as? RedisError)?.message.contains("unix:/tmp/b.sock is a unix socket") == true
        }
    }

    @Test("Mode parses auto, cluster and standalone; standalone refuses several seeds")
    func mode() throws {
        #expect(try RedisConfiguration.Mode(parsing: " Cluster ") == .cluster)
        #expect(try RedisConfiguration.Mode(parsing: "standalone") == .standalone)
        #expect(try RedisConfiguration.Mode(parsing: "AUTO") == .auto)
        #expect {
            try RedisConfiguration.Mode(parsing: "sentinel")
        } throws: { error in
            (error as? RedisError)?.message
                == "invalid TOKENLEDGER_REDIS_MODE 'sentinel': expected auto, cluster or standalone"
        }

        var single = try RedisConfiguration(url: "redis://h1:7001")
        try single.setMode("standalone")
        #expect(single.mode == .standalone)
        try single.setMode(nil)
        try single.setMode("")
        #expect(single.mode == .standalone)

        var several = try RedisConfiguration(url: "redis://:topsecret@h1:7001,h2:7002")
        try several.setMode("cluster")
        #expect(several.mode == .cluster)
        #expect {
            try several.setMode("standalone")
        } throws: { error in
            let error = try #require(error as? RedisError)
            return error.code == .invalidConfiguration
                && error.message.contains("mode is standalone but 2 seeds are given (h1:7001, h2:7002)")
                && !error.message.contains("topsecret")
        }
    }

    @Test("TOKENLEDGER_REDIS_MODE and several seeds read from the environment")
    func environment() throws {
        let config = try RedisConfiguration.fromEnvironment(["REDIS_URL": "redis://h1:7001,h2:7002"])
        #expect(config.seeds.count == 2 && config.mode == .auto)
    }
}
