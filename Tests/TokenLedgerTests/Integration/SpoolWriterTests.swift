import Dispatch
import Foundation
import RedisClient
import RedisTestSupport
import Synchronization
import Testing

@testable import TokenLedger

#if canImport(Glibc)
    import Glibc
#endif

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

    @Test("records spooled at once while Redis is down are all acknowledged and all in the spool")
    func recorderSpoolsThroughWriter() async throws {
        let pool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(try closedPort())"))
        let repository = try TokenRepository(pool: pool)
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try EventSpool(directory: directory)
        let recorder = UsageRecorder(repository: repository, spool: spool, options: .init(replaysInBackground: false))
        let total = 256
        let outcomes = await withTaskGroup(of: RecordOutcome.self) { group in
            for index in 0..<total {
                group.addTask {
                    await recorder.record(
                        user: "u\(index % 8)", callID: "c\(index)", usage: UsageRecord(inputTokens: 5, outputTokens: 1))
                }
            }
            var all: [RecordOutcome] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let others = outcomes.filter { if case .spooled = $0 { return false } else { return true } }
        #expect(others.isEmpty, "\(others.prefix(3))")
        #expect(spool.status().events == total)
        // Fewer fsyncs than events whenever events arrived during an fsync (timing; not asserted).
        #expect(spool.syncCount <= total)
        await recorder.shutdown()
        await pool.close()
    }

    @Test("events that arrive while the writer is busy share one write and one fsync")
    func groupCommit() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try EventSpool(directory: directory)
        let queue = DispatchQueue(label: "test.spool-writer")
        let writer = SpoolWriter(spool: spool, queue: queue)
        let written = Atomic<Int>(0)
        queue.suspend()  // the writer is "busy": events queue up
        for index in 0..<50 {
            writer.append(Self.event(index)) { result in
                if case .success = result { written.add(1, ordering: .relaxed) }
            }
        }
        queue.resume()
        await writer.waitUntilWritten()
        #expect(written.load(ordering: .relaxed) == 50)
        #expect(spool.syncCount == 1)
        #expect(spool.status().events == 50)
    }

    @Test("a caller that may wait (a pipeline lane) waits while the writer is maximumPending events behind")
    func backPressure() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try EventSpool(directory: directory)
        let queue = DispatchQueue(label: "test.spool-writer")
        let writer = SpoolWriter(spool: spool, maximumPending: 5, queue: queue)
        let appended = Atomic<Int>(0)
        let written = Atomic<Int>(0)
        let laneThread = Atomic<Int32>(0)
        queue.suspend()
        let lane = Thread {
            laneThread.store(currentThreadID() ?? -1, ordering: .relaxed)
            for index in 0..<10 {
                writer.append(Self.event(index), waitingForRoom: true) { _ in written.add(1, ordering: .relaxed) }
                appended.add(1, ordering: .relaxed)
            }
        }
        lane.start()
        // The writer is suspended, so nothing frees room: once the lane has appended 5 and sleeps
        // in the kernel (blocked on the writer's condition), it is waiting for room. Without the
        // bound it would append all 10 and end instead.
        #expect(
            await waitUntil {
                if appended.load(ordering: .relaxed) > 5 { return true }
                let thread = laneThread.load(ordering: .relaxed)
                guard appended.load(ordering: .relaxed) == 5, thread > 0 else { return false }
                return processState(pid: getpid(), thread: thread) == "S"
            })
        #expect(appended.load(ordering: .relaxed) == 5, "the lane should wait for room")
        queue.resume()
        #expect(await waitUntil { written.load(ordering: .relaxed) == 10 })
        #expect(appended.load(ordering: .relaxed) == 10)
        #expect(spool.status().events == 10)
        // An async caller never waits: it appends past the bound.
        queue.suspend()
        for index in 10..<20 { writer.append(Self.event(index)) { _ in written.add(1, ordering: .relaxed) } }
        queue.resume()
        await writer.waitUntilWritten()
        #expect(written.load(ordering: .relaxed) == 20)
    }

    @Test(
        "a group the size bound refuses is retried event by event: those that fit are kept, each caller hears its own outcome"
    )
    func refusedGroup() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let line = try Self.event(0).line().count
        // Room for exactly 10 events.
        let spool = try EventSpool(directory: directory, options: .init(maximumBytes: line * 10 + line / 2))
        let queue = DispatchQueue(label: "test.spool-writer")
        let writer = SpoolWriter(spool: spool, queue: queue)
        let results = Mutex<[Int: Result<Void, SpoolError>]>([:])
        queue.suspend()  // all 30 reach the writer as one group, which does not fit as a whole
        for index in 0..<30 {
            writer.append(Self.event(index)) { result in results.withLock { $0[index] = result } }
        }
        queue.resume()
        await writer.waitUntilWritten()
        let all = results.withLock { $0 }
        #expect(all.count == 30)
        let written = all.filter { if case .success = $0.value { return true } else { return false } }
        let refused = all.compactMap { entry -> SpoolError? in
            if case .failure(let error) = entry.value { return error } else { return nil }
        }
        #expect(refused.count == 20)
        #expect(refused.allSatisfy { $0.code == .full })
        #expect(spool.status().events == 10)
        // The events kept are the first ten, in order (a replay applies them in that order).
        #expect(written.keys.sorted() == Array(0..<10))
    }
}
