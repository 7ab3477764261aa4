import Foundation
import RedisClient
import Synchronization
import Testing

@testable import TokenLedger

/// Spooled events are written by `SpoolWriter` on a thread of its own, several per fsync (group
/// commit), instead of one fsync each on the caller's cooperative thread.
@Suite("Writing the spool")
struct SpoolWriterTests {
    static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("spool-writer-\(UUID().uuidString)").path
    }

    static func event(_ index: Int) -> SpooledEvent {
        SpooledEvent(
            operation: .record, user: "u", callID: "c\(String(format: "%04d", index))",
            usage: UsageRecord(inputTokens: 10, outputTokens: 1), at: Date(timeIntervalSince1970: 1_700_000_000),
            namespace: "tl")
    }

    @Test("records spooled at once while Redis is down share fsyncs, and every one is in the spool")
    func groupCommit() async throws {
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"))
        let repository = try TokenRepository(pool: pool)
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try EventSpool(directory: directory)
        let recorder = UsageRecorder(repository: repository, spool: spool, options: .init(replaysInBackground: false))
        let total = 256
        let outcomes = await withTaskGroup(of: RecordOutcome.self) { group in
            for index in 0..<total {
                group.addTask {
                    await recorder.record(user: "u\(index % 8)", callID: "c\(index)", usage: UsageRecord(inputTokens: 5, outputTokens: 1))
                }
            }
            var all: [RecordOutcome] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let spooled = outcomes.filter { if case .spooled = $0 { return true } else { return false } }.count
        #expect(spooled == total, "\(outcomes.filter { if case .spooled = $0 { return false } else { return true } }.prefix(3))")
        #expect(spool.status().events == total)
        // One fsync per event when each caller wrote its own; the writer takes every event that
        // arrived during the previous fsync.
        #expect(spool.syncCount < total, "\(spool.syncCount) fsyncs for \(total) events")
        await recorder.shutdown()
        await pool.close()
    }

    @Test("a group the size bound refuses is retried event by event: those that fit are kept, each caller hears its own outcome")
    func refusedGroup() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let line = try Self.event(0).line().count
        // Room for exactly 10 events.
        let spool = try EventSpool(directory: directory, options: .init(maximumBytes: line * 10 + line / 2))
        let writer = SpoolWriter(spool: spool)
        let results = Mutex<[Int: Result<Void, SpoolError>]>([:])
        let done = Atomic<Int>(0)
        // Appended back to back, they reach the writer in one or a few groups; one of more than ten
        // does not fit as a whole.
        for index in 0..<30 {
            writer.append(Self.event(index)) { result in
                results.withLock { $0[index] = result }
                done.add(1, ordering: .relaxed)
            }
        }
        await writer.waitUntilWritten()
        #expect(done.load(ordering: .relaxed) == 30)
        let written = results.withLock { all in all.filter { if case .success = $0.value { return true } else { return false } } }
        let refused = results.withLock { all in
            all.compactMap { entry -> SpoolError? in if case .failure(let error) = entry.value { return error } else { return nil } }
        }
        #expect(written.count == 10)
        #expect(refused.count == 20)
        #expect(refused.allSatisfy { $0.code == .full })
        #expect(spool.status().events == 10)
        // The events kept are the first ten, in order (a replay applies them in that order).
        #expect(written.keys.sorted() == Array(0..<10))
    }
}
