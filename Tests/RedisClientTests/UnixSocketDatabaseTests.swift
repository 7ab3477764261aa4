import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

@Suite("unix:///path?db=N against a live server")
struct UnixSocketDatabaseTests {
    @Test("a pool from unix:///path?db=N selects database N on every connection; other databases stay untouched")
    func socketWithDatabase() async throws {
        var options = RedisTestServer.Options()
        options.unixSocket = true
        try await withRedisServer(options) { server async throws in
            let path = try #require(server.unixSocketPath)
            let configuration = try RedisConfiguration(url: "unix://\(path)?db=7")
            #expect(configuration.endpoint == .unix(path: path) && configuration.database == 7)
            let metrics = TestMetrics()
            let pool = RedisConnectionPool(configuration: configuration, options: .init(maximumConnections: 4), metrics: metrics)
            // Two connections held at once, so both must have selected database 7.
            try await pool.withConnection { first in
                try await pool.withConnection { second in
                    _ = try await first.send(RedisCommand("SET", "socket-key-1", "db7"))
                    _ = try await second.send(RedisCommand("SET", "socket-key-2", "db7"))
                    #expect(try await first.send(RedisCommand("CLIENT", "INFO")).string?.contains(" db=7 ") == true)
                    #expect(try await second.send(RedisCommand("CLIENT", "INFO")).string?.contains(" db=7 ") == true)
                }
            }
            #expect(metrics.poolPeakOpen == 2)

            var tcp = server.configuration
            tcp.database = 7
            let overTCP = RedisConnectionPool(configuration: tcp)
            #expect(try await overTCP.send(RedisCommand("DBSIZE")).int == 2)
            #expect(try await overTCP.send(RedisCommand("GET", "socket-key-2")).string == "db7")
            let databaseZero = RedisConnectionPool(configuration: server.configuration)
            #expect(try await databaseZero.send(RedisCommand("DBSIZE")).int == 0, "database 0 must stay empty")
            await pool.close()
            await overTCP.close()
            await databaseZero.close()
        }
    }
}
