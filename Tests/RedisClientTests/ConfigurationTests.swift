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
        #expect(RedisConfiguration.redact(url: "redis://hunter2@localhost") == "redis://***@localhost")
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
