import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// Issue 21: call ids are kept as fingerprints for a dedupe window after their cycle ends; rollover
/// then drops them, and a later event of the cycle is parked instead of counted twice.
@Suite("The dedupe window: call ids dropped after it, late events parked")
struct DedupeWindowTests {
    /// An explicit cycle that began two months ago: ended about a month ago, well inside retention.
    static var pastCycle: CalendarDate { CalendarDate(containing: Date(), in: .gmt).addingMonths(-2) }
    static let usage = UsageRecord(inputTokens: 10, outputTokens: 5)

    /// The call-id keys of a user's cycle (buckets and any old-layout hash).
    static func callKeys(_ repository: TokenRepository, _ user: String, _ cycle: CalendarDate) async throws -> [String]
    {
        let pattern = try repository.keys.user(user).calls(cycle) + "*"
        let reply = try await repository.pool.send(RedisCommand("KEYS", pattern))
        return (reply.array ?? []).compactMap(\.string)
    }

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("parked-\(UUID().uuidString)").path
    }

    @Test("a replay inside the window is a duplicate, also after rollover closed the cycle")
    func replayInsideWindow() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            #expect(try await repository.record(user: "alice", callID: "c1", usage: Self.usage, cycle: cycle).applied)
            let result = try await Rollover(repository: repository).run(try RolloverOptions(dedupeWindowDays: 3650))
            #expect(result.closed.contains { $0.cycle == cycle })
            #expect(result.droppedCallIDs == 0 && result.dedupeWindowDays == 3650)
            #expect(try await Self.callKeys(repository, "alice", cycle).count == 1)
            let replay = try await repository.record(user: "alice", callID: "c1", usage: Self.usage, cycle: cycle)
            #expect(!replay.applied && replay.recordedTotalTokens == 15)
            let usage = try await repository.usage(user: "alice", cycle: cycle)
            #expect(usage.totalTokens == 15 && usage.counts.calls == 1)
            #expect(try await Rollover(repository: repository).history(cycle: cycle).totals.totalTokens == 15)
        }
    }

    @Test("after the window the call ids are dropped; a replay is parked, never counted twice, and shows in the spool")
    func replayAfterWindow() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            _ = try await repository.record(user: "alice", callID: "c1", usage: Self.usage, cycle: cycle)
            _ = try await repository.record(user: "alice", callID: "c2", usage: Self.usage, cycle: cycle)
            let result = try await Rollover(repository: repository).run(try RolloverOptions(dedupeWindowDays: 7))
            #expect(result.droppedCallIDs == 1)
            // The call ids are gone, the counters and the history stay, and the cycle is marked.
            #expect(try await Self.callKeys(repository, "alice", cycle).isEmpty)
            let cycleKey = try repository.keys.user("alice").cycle(cycle)
            #expect(try await repository.pool.send(EXISTS(cycleKey)) == 0)
            let profile = try repository.keys.user("alice").profile
            #expect(try await repository.pool.send(HGET(profile, field: "folded")) == cycle.description)
            #expect(try await repository.usage(user: "alice", cycle: cycle).totalTokens == 30)

            // The library refuses it; nothing is written.
            await #expect(throws: ParkedWrite.self) {
                try await repository.record(user: "alice", callID: "c1", usage: Self.usage, cycle: cycle)
            }
            // A recorder with a spool parks it.
            let directory = Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let spool = try EventSpool(directory: directory)
            // A generous record bound: on a loaded machine the default one spools before Redis answers.
            let recorder = UsageRecorder(
                repository: repository, spool: spool,
                options: .init(recordTimeout: .seconds(60), replaysInBackground: false))
            let outcome = await recorder.record(user: "alice", callID: "c1", usage: Self.usage, cycle: cycle)
            guard case .parked(let parked) = outcome else {
                Issue.record("not parked: \(outcome)")
                return
            }
            #expect(parked.callID == "c1" && parked.cycle == cycle && outcome.isDurable)
            #expect(spool.status().parked == 1)
            // A spooled event of the cycle (written while Redis was down) is parked by the replay.
            try spool.append(
                SpooledEvent(
                    operation: .record, user: "alice", callID: "c2", usage: Self.usage, cycle: cycle, at: Date(),
                    namespace: repository.keys.namespace))
            let replay = try await recorder.flush()
            #expect(replay.parked == 1 && replay.applied == 0 && replay.duplicates == 0)
            #expect(spool.status().parked == 2 && spool.status().events == 0)
            // Never double-counted: the cycle and its history are as they were.
            #expect(try await repository.usage(user: "alice", cycle: cycle).totalTokens == 30)
            #expect(try await Rollover(repository: repository).history(cycle: cycle).totals.totalTokens == 30)
            #expect(try await Self.callKeys(repository, "alice", cycle).isEmpty)

            // The administrator's choices: apply one anyway (it counts, the history is amended), drop the other.
            let events = ParkedEvents(directory: directory)
            #expect(events.list().map(\.event.callID) == ["c1", "c2"])
            #expect(events.list().allSatisfy { $0.reason.contains("dedupe window") })
            let applied = try await events.remove { entry in
                guard entry.event.callID == "c1" else { return false }
                return try await repository.applyParked(entry.event).applied
            }
            #expect(applied.map(\.event.callID) == ["c1"] && events.count == 1)
            #expect(try await repository.usage(user: "alice", cycle: cycle).totalTokens == 45)
            #expect(try await Rollover(repository: repository).history(cycle: cycle).totals.totalTokens == 45)
            let dropped = try await events.remove { _ in true }
            #expect(dropped.map(\.event.callID) == ["c2"] && events.count == 0 && spool.status().parked == 0)
            await recorder.shutdown()
        }
    }

    @Test("reset of a folded cycle is refused: a later event of the cycle is still parked; the summary stays")
    func resetKeepsMark() async throws {
        try await withRepository { repository in
            let cycle = Self.pastCycle
            _ = try await repository.record(user: "bob", callID: "c1", usage: Self.usage, cycle: cycle)
            _ = try await Rollover(repository: repository).run(try RolloverOptions(dedupeWindowDays: 0))
            // Folded into its summary: reset is refused, naming the cycle, and changes nothing.
            let error = await #expect(throws: LedgerError.self) {
                try await repository.reset(user: "bob", cycle: cycle, actor: "test")
            }
            #expect(error?.code == .cycleFolded && error?.message.contains(cycle.description) == true)
            await #expect(throws: ParkedWrite.self) {
                try await repository.record(user: "bob", callID: "c1", usage: Self.usage, cycle: cycle)
            }
            #expect(try await repository.usage(user: "bob", cycle: cycle).totalTokens == 15)
        }
    }

    @Test("a legacy import into a cycle past the dedupe window is counted as parked, not as a duplicate")
    func legacyImportParked() async throws {
        // A private server: migration 2 scans every legacy key of the server, outside the namespace.
        try await withPrivateRepository { repository in
            let cycle = Self.pastCycle
            _ = try await repository.record(user: "lee", callID: "c1", usage: Self.usage, cycle: cycle)
            _ = try await Rollover(repository: repository).run(try RolloverOptions(dedupeWindowDays: 0))
            _ = try await repository.pool.send(
                RedisCommand(
                    "HSET", "token_usage:lee:\(cycle)", "prompt_tokens", 40, "completion_tokens", 2, "total_tokens", 42)
            )
            let outcome = try await MigrationRunner(repository: repository).run(try MigrationOptions())
            let counts = outcome.steps[1].counts
            #expect(counts["parked"] == 1 && counts["duplicates"] == nil && counts["imported"] == nil, "\(counts)")
            // Nothing counted: the cycle cannot tell the import from an earlier one.
            #expect(try await repository.usage(user: "lee", cycle: cycle).totalTokens == 15)
        }
    }

    @Test(
        "a legacy hash of a cycle rollover closed (inside the window) is counted as closed, not imported, and migrate goes on"
    )
    func legacyImportClosed() async throws {
        try await withPrivateRepository { repository in
            let cycle = Self.pastCycle
            _ = try await repository.record(user: "lex", callID: "c1", usage: Self.usage, cycle: cycle)
            _ = try await Rollover(repository: repository).run(try RolloverOptions(dedupeWindowDays: 3650))
            _ = try await repository.pool.send(
                RedisCommand(
                    "HSET", "token_usage:lex:\(cycle)", "prompt_tokens", 40, "completion_tokens", 2, "total_tokens", 42)
            )
            let outcome = try await MigrationRunner(repository: repository).run(try MigrationOptions())
            let counts = outcome.steps[1].counts
            #expect(counts["closed"] == 1 && counts["imported"] == nil, "\(counts)")
            #expect(try await repository.usage(user: "lex", cycle: cycle).totalTokens == 15)
        }
    }

    @Test("migration 1 records version 1, not 2: a namespace that had no version refuses writes until migration 3 ran")
    func migrationOneRecordsVersionOne() async throws {
        try await withRepository { first in
            let cycle = try await first.usage(user: "old").cycle
            // Version-1 call ids in a namespace that never recorded its schema version.
            _ = try await first.pool.send(RedisCommand("HSET", try first.keys.user("old").calls(cycle), "o1", "9"))
            let stored = try await SchemaVersionMigration().apply(
                MigrationContext(
                    repository: first, options: try MigrationOptions(), version: 1, lock: nil, progress: nil))
            #expect(stored["schema_version"] == 1)
            #expect(try await first.pool.send(GET(first.keys.schema)) == "1")
            let repository = try TokenRepository(pool: first.pool, configuration: first.configuration)
            do {
                _ = try await repository.record(
                    user: "old", callID: "o1", usage: UsageRecord(inputTokens: 9, outputTokens: 0))
                Issue.record("a new-layout write landed beside unconverted call ids")
            } catch let error as LedgerError {
                #expect(error.code == .olderSchema, "\(error)")
            }
        }
    }

    @Test("migration 3 converts schema version 1's call ids; writers refuse before it; converted calls deduplicate")
    func migration() async throws {
        try await withRepository { first in
            let keys = try first.keys.user("alice")
            let cycle = try await first.usage(user: "alice").cycle
            // Schema version 1's layout, as the previous build wrote it (call id -> total tokens).
            for command in [
                RedisCommand("SET", first.keys.schema, "1"),
                RedisCommand(
                    "HSET", keys.cycle(cycle), "input_tokens", "15", "output_tokens", "7", "calls", "2",
                    "model:primary", ""),
                RedisCommand("HSET", keys.calls(cycle), "c1", "15", "c2", "7"),
                RedisCommand("HSET", try first.keys.user("bob").calls(cycle), "b1", "3"),
            ] {
                _ = try await first.pool.send(command)
            }
            // A fresh repository (as a process of the new build) reads the schema version at its first write.
            let repository = try TokenRepository(pool: first.pool, configuration: first.configuration)
            // Before the migration every writer refuses, naming the command to run; nothing is written.
            do {
                _ = try await repository.record(user: "alice", callID: "c3", usage: Self.usage)
                Issue.record("recorded into schema version 1")
            } catch let error as LedgerError {
                #expect(error.code == .olderSchema && error.message.contains("tokenledger migrate"))
            }
            #expect(try await repository.usage(user: "alice").totalTokens == 22)

            let outcome = try await MigrationRunner(repository: repository).run(try MigrationOptions(batchSize: 1))
            let step = try #require(outcome.steps.first { $0.migration.name == "compact-call-ids" })
            #expect(step.action == "applied" && step.counts["moved"] == 3 && step.counts["keys"] == 2)
            #expect(outcome.schemaVersion == 2)
            #expect(try await repository.pool.send(RedisCommand("EXISTS", keys.calls(cycle))).int == 0)
            #expect(try await Self.callKeys(repository, "alice", cycle).count == 2)

            // The converted call ids still deduplicate: a retry is a duplicate, another total a conflict.
            let retry = try await repository.record(
                user: "alice", callID: "c1", usage: UsageRecord(inputTokens: 10, outputTokens: 5))
            #expect(!retry.applied && retry.recordedTotalTokens == 15)
            await #expect(throws: CallConflict.self) {
                try await repository.record(
                    user: "alice", callID: "c2", usage: UsageRecord(inputTokens: 1, outputTokens: 1))
            }
            #expect(try await repository.record(user: "alice", callID: "c3", usage: Self.usage).applied)
            #expect(try await repository.usage(user: "alice").totalTokens == 37)
            #expect(
                !(try await repository.record(
                    user: "bob", callID: "b1", usage: UsageRecord(inputTokens: 3, outputTokens: 0)
                ).applied))
            // A second run has nothing left to do.
            let again = try await MigrationRunner(repository: repository).run(try MigrationOptions())
            #expect(again.steps.allSatisfy { $0.action == "already_applied" })
        }
    }
}
