import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Authentication, timeouts, reconnects, sockets", .serialized)
struct ConnectionFailureTests {
    @Test("REDIS_URL=redis://name@host with REDIS_PASSWORD authenticates as ACL user 'name', not as default")
    func userNameFromURL() async throws {
        var options = RedisTestServer.Options()
        options.requirePassword = "default-Pa55"
        options.aclUsers = [(name: "tokenledger-app", password: "app-Pa55", rules: "resetchannels -@all +ping +acl|whoami")]
        try await withRedisServer(options) { server async throws in
            let url = "redis://tokenledger-app@127.0.0.1:\(server.port)"
            let configuration = try RedisConfiguration.fromEnvironment(["REDIS_URL": url, "REDIS_PASSWORD": "app-Pa55"])
            let pool = RedisConnectionPool(configuration: configuration)
            #expect(try await pool.send(RedisCommand("ACL", "WHOAMI")).string == "tokenledger-app")
            await pool.close()

            // Without a password the user is still the one named (refused), never `default`.
            let noPassword = RedisConnectionPool(configuration: try RedisConfiguration.fromEnvironment(["REDIS_URL": url]))
            await #expect {
                _ = try await noPassword.send(RedisCommand("PING"))
            } throws: { error in
                let error = try #require(error as? RedisError)
                return error.code == .authenticationFailed && error.isPermissionDenied
                    && error.message.contains("user 'tokenledger-app'") && error.message.contains("REDIS_PASSWORD")
            }
            await noPassword.close()
        }
    }

    @Test("an ACL user with a password works; a wrong password is authenticationFailed without the password")
    func aclAuthentication() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = [(name: "app", password: "s3cret-Pa55", rules: "~* &* +@all")]
        try await withRedisServer(options) { server async throws in
            var good = server.configuration
            good.username = "app"
            good.password = "s3cret-Pa55"
            let pool = RedisConnectionPool(configuration: good)
            #expect(try await pool.send(RedisCommand("ACL", "WHOAMI")).string == "app")
            await pool.close()

            var bad = good
            bad.password = "wrong-Pa55word"
            let badPool = RedisConnectionPool(configuration: bad)
            await #expect {
                _ = try await badPool.send(RedisCommand("PING"))
            } throws: { error in
                let error = try #require(error as? RedisError)
                let text = "\(error) \(error.message)"
                return error.code == .authenticationFailed && !text.contains("wrong-Pa55word")
                    && !text.contains("s3cret") && text.contains("app")
            }
            await badPool.close()
        }
    }

    @Test("requirepass through REDIS_URL, and REDIS_PASSWORD overriding it")
    func requirePass() async throws {
        var options = RedisTestServer.Options()
        options.requirePassword = "p@ss:w/rd"
        try await withRedisServer(options) { server async throws in
            let url = "redis://:p%40ss%3Aw%2Frd@127.0.0.1:\(server.port)/2"
            let fromURL = try RedisConfiguration.fromEnvironment(["REDIS_URL": url])
            #expect(fromURL.password == "p@ss:w/rd")
            #expect(fromURL.database == 2)
            let pool = RedisConnectionPool(configuration: fromURL)
            _ = try await pool.send(RedisCommand("SET", "k", "db2"))
            #expect(try await pool.send(RedisCommand("GET", "k")).string == "db2")
            await pool.close()

            let overridden = try RedisConfiguration.fromEnvironment([
                "REDIS_URL": "redis://:nope@127.0.0.1:\(server.port)", "REDIS_PASSWORD": "p@ss:w/rd",
            ])
            let pool2 = RedisConnectionPool(configuration: overridden)
            #expect(try await pool2.send(RedisCommand("PING")) == .status("PONG"))
            // Database 0 does not see database 2's key.
            #expect(try await pool2.send(RedisCommand("GET", "k")) == .null)
            await pool2.close()
            #expect(!"\(overridden)".contains("p@ss"))
        }
    }

    @Test("a stopped server makes a command time out while it is still stopped; after SIGCONT the next command works")
    func pausedServer() async throws {
        try await withRedisServer { server async throws in
            var configuration = server.configuration
            configuration.commandTimeout = .milliseconds(300)
            configuration.connectTimeout = .milliseconds(300)
            let pool = RedisConnectionPool(configuration: configuration)
            _ = try await pool.send(RedisCommand("SET", "k", "before"))

            try await server.pause()
            // Without the command timeout the GET would wait for the server; the backstop resumes
            // it after two minutes, and the GET would then succeed and fail the expectation.
            let backstop = server.resume(after: .seconds(120))
            let clock = ContinuousClock()
            let start = clock.now
            await #expect {
                _ = try await pool.send(RedisCommand("GET", "k"))
            } throws: { error in
                (error as? RedisError)?.code == .timeout
            }
            // A timeout, not an early failure: at least the bound went by.
            #expect(clock.now - start >= .milliseconds(300))
            backstop.cancel()

            server.resume()
            #expect(try await pool.send(RedisCommand("GET", "k")).string == "before")
            await pool.close()
        }
    }

    @Test("after the server restarts on the same port, the next command succeeds on the same pool")
    func restartedServer() async throws {
        try await withRedisServer { server async throws in
            let pool = RedisConnectionPool(configuration: server.configuration)
            // Open several connections so idle ones go stale across the restart.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { _ = try await pool.send(RedisCommand("PING")) } }
                try await group.waitForAll()
            }
            try await server.restart()
            for _ in 0..<8 {
                #expect(try await pool.send(RedisCommand("PING")) == .status("PONG"))
            }
            // Also after a crash (SIGKILL), once it is back.
            server.crash()
            await #expect {
                _ = try await pool.send(RedisCommand("PING"))
            } throws: { error in
                (error as? RedisError)?.isUnavailable == true
            }
            try await server.restart()
            #expect(try await pool.send(RedisCommand("PING")) == .status("PONG"))
            await pool.close()
        }
    }

    @Test("a closed port is connectionRefused, naming the address")
    func refused() async throws {
        let port = try closedPort()
        let configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
        let metrics = TestMetrics()
        let pool = RedisConnectionPool(configuration: configuration, metrics: metrics)
        await #expect {
            _ = try await pool.send(RedisCommand("PING"))
        } throws: { error in
            let error = try #require(error as? RedisError)
            return error.code == .connectionRefused && error.message.contains("127.0.0.1:\(port)")
        }
        // The failed open gave its slot back.
        #expect(metrics.poolOpen == 0 && metrics.poolPeakOpen == 1)
        await pool.close()
    }

    @Test("a unix socket connection works")
    func unixSocket() async throws {
        var options = RedisTestServer.Options()
        options.unixSocket = true
        try await withRedisServer(options) { server async throws in
            let path = try #require(server.unixSocketPath)
            let configuration = try RedisConfiguration(url: "unix://\(path)")
            #expect(configuration.endpoint == .unix(path: path))
            let pool = RedisConnectionPool(configuration: configuration)
            _ = try await pool.send(RedisCommand("SET", "via", "socket"))
            #expect(try await pool.send(RedisCommand("GET", "via")).string == "socket")
            await pool.close()
        }
    }

    @Test("a missing unix socket is connectionRefused naming the path")
    func missingSocket() async throws {
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: "unix:///nonexistent/redis.sock"))
        await #expect {
            _ = try await pool.send(RedisCommand("PING"))
        } throws: { error in
            let error = try #require(error as? RedisError)
            return error.code == .connectionRefused && error.message.contains("/nonexistent/redis.sock")
        }
    }
}
