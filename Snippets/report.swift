// Reports every user's usage in a billing cycle, largest first, as an administrator reads it.
//
// Run: `swift build && .build/debug/report`. REDIS_URL (default redis://127.0.0.1:6379) says which
// server, TOKENLEDGER_NAMESPACE (default `snippets`) which key prefix.

// snippet.hide
import Foundation
import RedisClient
import TokenLedger

let environment = ProcessInfo.processInfo.environment
let namespace = environment["TOKENLEDGER_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? "snippets"
do {
    // snippet.show
    let configuration = try await TokenLedgerConfiguration.load(namespace: namespace)
    let pool = RedisConnectionPool(configuration: configuration.redis)
    let ledger = try TokenRepository(pool: pool, configuration: configuration.ledger)

    // Two calls to report on, in the cycle of January 2026 (an explicit cycle wins over the policy).
    let cycle = try CalendarDate(parsing: "2026-01-01")
    let january = try ISO8601Instant.parse("2026-01-15T12:00:00Z")
    _ = try await ledger.record(
        user: "carol", callID: "report-1", usage: UsageRecord(inputTokens: 2_000, outputTokens: 500), model: "gpt-4o",
        provider: "openai", cycle: cycle, at: january)
    _ = try await ledger.record(
        user: "dave", callID: "report-2", usage: UsageRecord(inputTokens: 700, outputTokens: 100),
        model: "claude-sonnet-4", provider: "anthropic", cycle: cycle, at: january)

    let report = try await ledger.report(cycle: cycle, sort: .total)
    print("cycle \(report.cycle): \(report.totals.users) users, \(report.totals.counts.totalTokens) tokens")
    for user in report.users {
        print("  \(user.user): \(user.counts.totalTokens) tokens in \(user.counts.calls) calls")
    }
    // snippet.hide
    await pool.close()
} catch {
    // A snippet that cannot reach Redis (or is refused) says why and exits 1; it never traps.
    FileHandle.standardError.write(Data("report: \(error)\n".utf8))
    exit(1)
}
