import RedisClient
import Testing

@Suite("Configuration from URLs and the environment")
struct ConfigurationTests {
    @Test("URL forms parse into endpoint, user, password and database")
    func urlForms() throws {
        let plain = try RedisConfiguration(url: "redis://example.com")
        #expect(plain.endpoint == .tcp(host: "example.com", port: 6379))
        #expect(plain.password == nil && plain.username == nil && plain.database == 0)

        let full = try RedisConfiguration(url: "redis://app:pa%2Fss@10.0.0.5:6380/3")
        #expect(full.endpoint == .tcp(host: "10.0.0.5", port: 6380))
        #expect(full.username == "app")
        #expect(full.password == "pa/ss")
        #expect(full.database == 3)

        let passwordOnly = try RedisConfiguration(url: "redis://:secret@localhost:7000")
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret")

        let ipv6 = try RedisConfiguration(url: "redis://[::1]:6379/1")
        #expect(ipv6.endpoint == .tcp(host: "::1", port: 6379))

        let socket = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=4")
        #expect(socket.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(socket.database == 4)
    }

    @Test("rediss:// is refused, saying hiredis 0.14 has no TLS")
    func tlsRefused() {
        #expect {
            _ = try RedisConfiguration(url: "rediss://user:topsecret@cache.example.com:6380")
        } throws: { error in
            let error = try #require(error as? RedisError)
            return error.code == .invalidConfiguration && error.message.contains("hiredis 0.14 has no TLS")
                && !error.message.contains("topsecret")
        }
    }

    @Test(
        "malformed URLs give a clear error naming the problem, with the password redacted",
        arguments: [
            ("localhost:6379", "expected redis://"),
            ("http://localhost", "unsupported scheme 'http'"),
            ("redis://localhost:notaport", "port 'notaport'"),
            ("redis://localhost:70000", "port '70000'"),
            ("redis://localhost:6379/abc", "database 'abc'"),
            ("redis://:hunter2@[::1", "unclosed '['"),
            ("unix://relative/path", "absolute path"),
            ("redis://localhost/0?timeout=3", "unknown query parameter"),
        ])
    func malformed(url: String, expected: String) {
        #expect {
            _ = try RedisConfiguration(url: url)
        } throws: { error in
            let error = try #require(error as? RedisError)
            return error.code == .invalidConfiguration && error.message.contains(expected)
                && !error.message.contains("hunter2")
        }
    }

    @Test("descriptions and redacted URLs never show the password")
    func redaction() throws {
        let configuration = try RedisConfiguration(url: "redis://app:hunter2@localhost:6379/1")
        #expect(!configuration.description.contains("hunter2"))
        #expect(configuration.description.contains("(password set)"))
        #expect(RedisConfiguration.redact(url: "redis://app:hunter2@localhost") == "redis://app:***@localhost")
        // `name@` is a user name, not a secret: it stays readable.
        #expect(RedisConfiguration.redact(url: "redis://app@localhost") == "redis://app@localhost")
        // Without `://` the user and password cannot be told apart: all of it is masked.
        #expect(RedisConfiguration.redact(url: "admin:hunter2@127.0.0.1:7005") == "***@127.0.0.1:7005")
        #expect(RedisConfiguration.redact(url: "redis:/admin:hunter2@h:1") == "***@h:1")
        #expect(RedisConfiguration.redact(url: "redis//admin:hun@ter2@h") == "***@h")
    }

    @Test(
        "a malformed URL's error masks its password, from --redis or REDIS_URL",
        arguments: [
            "admin:TopSecretPW@127.0.0.1:7005", "redis:/admin:TopSecretPW@127.0.0.1:7005",
            "redis//admin:TopSecretPW@127.0.0.1:7005", "redis:admin:TopSecretPW@127.0.0.1:7005",
            "redis://admin:TopSecretPW@127.0.0.1:notaport", "redis://admin:TopSecretPW@127.0.0.1:7005/db",
            "redis://admin:Top/Secret/PW@127.0.0.1:7005/x", "http://admin:TopSecretPW@127.0.0.1",
            "redis://admin:TopSecretPW@[::1", "redis://admin:TopSecretPW@host?bad=1",
        ])
    func malformedURLMasksPassword(url: String) throws {
        for build in [
            { try RedisConfiguration(url: url) },
            { try RedisConfiguration.fromEnvironment(["REDIS_URL": url]) },
            { try RedisConfiguration.fromEnvironment([:], url: url) },
        ] as [() throws -> RedisConfiguration] {
            #expect {
                _ = try build()
            } throws: { error in
                let error = try #require(error as? RedisError)
                return error.code == .invalidConfiguration && error.message.contains("invalid Redis URL '")
                    && !error.message.contains("TopSecret") && !error.message.contains("Secret")
                    && !"\(error)".contains("Secret")
            }
        }
    }

    @Test("redis://name@host means user name (as redis-cli and redis-py read it); :pw@ a password; name:pw@ both")
    func userNameAlone() throws {
        let user = try RedisConfiguration(url: "redis://tokenledger-app@h:6380")
        #expect(user.username == "tokenledger-app" && user.password == nil)
        let withPassword = try RedisConfiguration.fromEnvironment(
            ["REDIS_URL": "redis://tokenledger-app@h:6380", "REDIS_PASSWORD": "s3cret"])
        #expect(withPassword.username == "tokenledger-app" && withPassword.password == "s3cret")
        let passwordOnly = try RedisConfiguration(url: "redis://:s3cret@h")
        #expect(passwordOnly.username == nil && passwordOnly.password == "s3cret")
        let both = try RedisConfiguration(url: "redis://app:s3cret@h")
        #expect(both.username == "app" && both.password == "s3cret")
        let encoded = try RedisConfiguration(url: "redis://app%40corp@h")
        #expect(encoded.username == "app@corp" && encoded.password == nil)
        // A password may hold '/', '?' or '@': the credentials end at the last '@'.
        let odd = try RedisConfiguration(url: "redis://app:p/a?s@s@h:7/2")
        #expect(
            odd.username == "app" && odd.password == "p/a?s@s" && odd.endpoint == .tcp(host: "h", port: 7)
                && odd.database == 2)
    }

    @Test("REDIS_URL defaults to localhost; REDIS_PASSWORD overrides the URL's password")
    func environment() throws {
        let none = try RedisConfiguration.fromEnvironment([:])
        #expect(none.endpoint == .tcp(host: "127.0.0.1", port: 6379))
        let both = try RedisConfiguration.fromEnvironment([
            "REDIS_URL": "redis://:old@h:1/2", "REDIS_PASSWORD": "new",
        ])
        #expect(both.password == "new" && both.database == 2)
        let explicit = try RedisConfiguration.fromEnvironment(["REDIS_URL": "redis://a:1"], url: "redis://b:2")
        #expect(explicit.endpoint == .tcp(host: "b", port: 2))
    }
}
