import Foundation
import RedisClient
import RedisTestSupport
import TokenLedger

/// Runs `body` with a repository on its own namespace, against REDIS_URL or a private server.
func withRepository<T>(
    thresholds: [Int] = [80, 100], metrics: LedgerMetrics = LedgerMetrics(), _ body: (TokenRepository) async throws -> T
) async throws -> T {
    try await withRedis { configuration async throws in
        let pool = RedisConnectionPool(
            configuration: configuration, options: .init(maximumConnections: 8, waitTimeout: .seconds(30)))
        let repository = try TokenRepository(
            pool: pool,
            configuration: try LedgerConfiguration(
                namespace: uniqueNamespace("tl"), thresholds: thresholds, settingsCacheTTL: .zero),
            metrics: metrics)
        do {
            let result = try await body(repository)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }
}

/// An instant from an ISO 8601 text (tests only; the text is known to be valid).
func at(_ text: String) -> Date { try! ISO8601Instant.parse(text) }

/// A calendar date from `YYYY-MM-DD` (tests only).
func date(_ text: String) -> CalendarDate { try! CalendarDate(parsing: text) }

/// Every key in the repository's namespace with its type and contents, to prove nothing changed.
func snapshot(_ repository: TokenRepository) async throws -> [String: String] {
    var result: [String: String] = [:]
    var cursor = "0"
    repeat {
        let reply = try await repository.pool.send(
            RedisCommand("SCAN", cursor, "MATCH", repository.keys.namespace + ":*", "COUNT", 1000))
        let parts = reply.array ?? []
        cursor = parts.first?.string ?? "0"
        for key in parts.last?.array ?? [] {
            let name = key.string ?? ""
            let type = try await repository.pool.send(RedisCommand("TYPE", name)).string ?? ""
            let dump: RedisReply
            switch type {
            case "hash": dump = try await repository.pool.send(RedisCommand("HGETALL", name))
            case "set": dump = try await repository.pool.send(RedisCommand("SMEMBERS", name))
            case "zset": dump = try await repository.pool.send(RedisCommand("ZRANGE", name, 0, -1, "WITHSCORES"))
            case "stream": dump = try await repository.pool.send(RedisCommand("XLEN", name))
            default: dump = try await repository.pool.send(RedisCommand("GET", name))
            }
            result[name] = "\(type) \(dump)"
        }
    } while cursor != "0"
    return result
}
