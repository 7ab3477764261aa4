import ArgumentParser
import Foundation
import RedisClient
import TokenLedger

/// `TokenLedgerBenchmark loadgen`: a deterministic recording workload for chaos and load checks
/// (scripts/chaos, the spool durability test).
///
/// Event `j` (0-based) is user `load-(j % users)`, call id `PREFIX-j`, input `j % 97 + 1`, output
/// `j % 31`, so anyone can compute the exact expected totals. Each event goes through a
/// ``UsageRecorder`` (with the spool from `TOKENLEDGER_SPOOL_DIR`, when set). One line `durable J`
/// is printed per event once it is in Redis or in the spool.
struct Loadgen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "TokenLedgerBenchmark loadgen",
        abstract: "Record a deterministic workload (for chaos and load checks)."
    )

    @Option(help: "Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379).") var redis: String?
    @Option(help: "Key namespace (default: $TOKENLEDGER_NAMESPACE, else tl).") var namespace: String?
    @Option(help: "Events to record.") var events = 20_000
    @Option(help: "Distinct users.") var users = 50
    @Option(help: "Concurrent callers.") var concurrency = 64
    @Option(help: "Call id prefix (a new prefix is a new set of events).") var prefix = "load"
    @Option(name: .customLong("record-timeout-ms"), help: "How long a record waits for Redis before spooling.")
    var recordTimeoutMilliseconds = 500
    @Option(name: .customLong("drain-seconds"), help: "After the workload, how long to wait for the spool to drain.")
    var drainSeconds = 60
    @Flag(help: "Print a `durable J` line per event.") var progress = false
    @Flag(help: "After draining, compare every user's totals with the expected ones and print `lost N`.")
    var verify = false

    func validate() throws {
        guard events >= 0, users > 0, concurrency > 0 else {
            throw ArgumentParser.ValidationError("--events ≥ 0, --users > 0 and --concurrency > 0")
        }
        // Upper bounds too: no count or duration may make the run trap or spawn without limit.
        guard events <= 1_000_000_000, users <= 10_000_000, concurrency <= 10_000 else {
            throw ArgumentParser.ValidationError("--events ≤ 1000000000, --users ≤ 10000000 and --concurrency ≤ 10000")
        }
        guard (1...86_400_000).contains(recordTimeoutMilliseconds), (0...86_400).contains(drainSeconds) else {
            throw ArgumentParser.ValidationError(
                "--record-timeout-ms must be 1 to 86400000 and --drain-seconds 0 to 86400")
        }
    }

    /// The deterministic event `index`.
    static func event(_ index: Int, users: Int, prefix: String) -> (user: String, callID: String, usage: UsageRecord) {
        (
            "load-\(index % users)", "\(prefix)-\(index)",
            UsageRecord(inputTokens: index % 97 + 1, outputTokens: index % 31)
        )
    }

    func run() async throws {
        do {
            try await generate()
        } catch {
            let message =
                (error as? RedisError)?.message ?? (error as? LedgerError)?.message
                ?? (error as? TokenLedger.ValidationError)?.message ?? (error as? SpoolError)?.message ?? "\(error)"
            FileHandle.standardError.write(Data("loadgen: \(message)\n".utf8))
            throw ExitCode.failure
        }
    }

    private func generate() async throws {
        let configuration = try await TokenLedgerConfiguration.load(redisURL: redis, namespace: namespace)
        let spool = try configuration.local.spoolDirectory.map { try EventSpool(directory: $0) }
        let pool = RedisConnectionPool(configuration: configuration.redis, options: .init(maximumConnections: 4))
        let repository = try TokenRepository(pool: pool, configuration: configuration.ledger)
        let summary: [String: Int]
        do {
            summary = try await workload(repository: repository, spool: spool)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        if let lost = summary["lost"] { print("lost \(lost)") }
    }

    /// Records the events through a ``UsageRecorder``, drains the spool, and counts the outcomes.
    private func workload(repository: TokenRepository, spool: EventSpool?) async throws -> [String: Int] {
        let recorder = UsageRecorder(
            repository: repository, spool: spool,
            options: .init(recordTimeout: .milliseconds(recordTimeoutMilliseconds), maximumBackoff: .seconds(1)))
        let counts = Locked<[String: Int]>([:])
        let next = Locked(0)
        let output = Locked(())
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while true {
                        let index = next.withLock { value -> Int in
                            defer { value += 1 }
                            return value
                        }
                        guard index < events else { return }
                        let event = Self.event(index, users: users, prefix: prefix)
                        let outcome = await recorder.record(user: event.user, callID: event.callID, usage: event.usage)
                        let name: String
                        switch outcome {
                        case .applied: name = "applied"
                        case .duplicate: name = "duplicate"
                        case .conflict: name = "conflict"
                        case .parked: name = "parked"
                        case .spooled: name = "spooled"
                        case .rejected: name = "rejected"
                        case .failed: name = "failed"
                        }
                        counts.withLock { $0[name, default: 0] += 1 }
                        if progress && outcome.isDurable {
                            output.withLock { _ in print("durable \(index)") }
                        }
                    }
                }
            }
        }
        // Let the flusher drain what was spooled.
        let deadline = ContinuousClock.now + .seconds(drainSeconds)
        while let spool, spool.status().events > 0, ContinuousClock.now < deadline {
            _ = try? await recorder.flush()
            if spool.status().events > 0 { try await Task.sleep(for: .milliseconds(200)) }
        }
        await recorder.shutdown()
        var summary = counts.withLock { $0 }
        summary["spool_remaining"] = spool?.status().events ?? 0
        if verify { summary["lost"] = try await lostEvents(repository) }
        return summary
    }

    /// Expected minus recorded tokens, in events' worth: 0 when every user's totals are exact.
    private func lostEvents(_ repository: TokenRepository) async throws -> Int {
        var expected: [String: (input: Int, output: Int, calls: Int)] = [:]
        for index in 0..<events {
            let event = Self.event(index, users: users, prefix: prefix)
            let old = expected[event.user] ?? (0, 0, 0)
            expected[event.user] = (
                old.input + event.usage.inputTokens, old.output + event.usage.outputTokens, old.calls + 1
            )
        }
        var lost = 0
        for (user, totals) in expected {
            let usage = try await repository.usage(user: user)
            if usage.inputTokens != totals.input || usage.outputTokens != totals.output || usage.calls != totals.calls {
                FileHandle.standardError.write(
                    Data(
                        "mismatch for \(user): input \(usage.inputTokens)/\(totals.input), output \(usage.outputTokens)/\(totals.output), calls \(usage.calls)/\(totals.calls)\n"
                            .utf8))
                lost += max(1, abs(totals.calls - usage.calls))
            }
        }
        return lost
    }
}
