import ArgumentParser
import Foundation
import RedisClient
import TokenLedger

extension GlobalOptions {
    /// Opens a pool of at most `maximumConnections` to the configured Redis, runs `body` with it and
    /// the configuration, and closes the pool, also when `body` throws.
    func withPool<T>(
        maximumConnections: Int, _ body: (RedisConnectionPool, TokenLedgerConfiguration) async throws -> T
    ) async throws -> T {
        let configuration = try await self.configuration()
        let pool = RedisConnectionPool(
            configuration: configuration.redis, options: .init(maximumConnections: maximumConnections))
        do {
            let result = try await body(pool, configuration)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }

    /// Opens a repository for the configured Redis and namespace, runs `body`, and closes the pool.
    func withRepository<T>(_ body: (TokenRepository) async throws -> T) async throws -> T {
        try await withPool(maximumConnections: 4) { pool, configuration in
            try await body(try TokenRepository(pool: pool, configuration: configuration.ledger))
        }
    }
}

/// Parses a token count given as text (so `-5` is bad data, exit 65, not an unknown option).
func tokenCount(_ text: String, _ option: String) throws -> Int {
    try Validation.parseTokenCount(text, field: option)
}

/// Parses an optional token count.
func tokenCount(_ text: String?, _ option: String) throws -> Int? {
    guard let text else { return nil }
    return try Validation.parseTokenCount(text, field: option)
}

/// Parses `--cycle DATE`.
func cycleDate(_ text: String?) throws -> CalendarDate? {
    guard let text else { return nil }
    return try Validation.parseCycleDate(text, field: "--cycle")
}
