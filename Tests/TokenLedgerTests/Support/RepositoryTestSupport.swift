import Foundation
import RedisClient
import RedisTestSupport
import TokenLedger

/// Runs `body` with a repository on its own namespace, against REDIS_URL or a private server.
func withRepository<T>(
    thresholds: [Int] = [80, 100], metrics: LedgerMetrics = LedgerMetrics(), _ body: (TokenRepository) async throws -> T
) async throws -> T {
    try await withRedis { configuration async throws in
        try await withRepository(configuration, thresholds: thresholds, metrics: metrics, body)
    }
}

/// Runs `body` with a repository on a private server, never a shared `REDIS_URL`: for tests with
/// server-wide effects (SCRIPT FLUSH, CONFIG SET, FLUSHALL, ACL changes) that would break others.
func withPrivateRepository<T>(
    thresholds: [Int] = [80, 100], _ body: (TokenRepository) async throws -> T
) async throws -> T {
    try await withRedisServer { server async throws in
        try await withRepository(server.configuration, thresholds: thresholds, body)
    }
}

private func withRepository<T>(
    _ configuration: RedisConfiguration, thresholds: [Int], metrics: LedgerMetrics = LedgerMetrics(),
    _ body: (TokenRepository) async throws -> T
) async throws -> T {
    let pool = RedisConnectionPool(
        // A generous wait: 64 callers on a loaded 2-core machine can hold all 8 connections for long.
        configuration: configuration, options: .init(maximumConnections: 8, waitTimeout: .seconds(300)))
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

/// An instant from an ISO 8601 text (tests only; the text is known to be valid).
func at(_ text: String) -> Date { try! ISO8601Instant.parse(text) }

/// The instant tests record at and read "the current cycle" at: fixed, so that a run across a
/// month end cannot split a test's totals over two cycles.
let testInstant = at("2026-03-16T12:00:00Z")

/// A user's totals over the cycles from `start` to now.
struct UsageTotals: Equatable {
    var inputTokens = 0
    var outputTokens = 0
    var totalTokens = 0
    var calls = 0
    var cachedInputTokens = 0
    var reasoningTokens = 0
}

/// A user's totals summed over the cycles from `start` to now, for records made "now" by code that
/// takes no instant (handlers, the quota guard): a run across a cycle boundary (a month end, or
/// midnight for a daily policy) splits them over two cycles, and this reads both.
func usageSince(_ start: Date, user: String, in repository: TokenRepository) async throws -> UsageTotals {
    let first = try await repository.usage(user: user, at: start)
    let now = try await repository.usage(user: user)
    var totals = UsageTotals()
    for usage in first.cycle == now.cycle ? [now] : [first, now] {
        totals.inputTokens += usage.inputTokens
        totals.outputTokens += usage.outputTokens
        totals.totalTokens += usage.totalTokens
        totals.calls += usage.calls
        totals.cachedInputTokens += usage.cachedInputTokens
        totals.reasoningTokens += usage.reasoningTokens
    }
    return totals
}

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
