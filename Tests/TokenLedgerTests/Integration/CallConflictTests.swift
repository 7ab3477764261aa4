import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// A spool directory of its own.
private func conflictSpoolDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("spool-conflict-\(UUID().uuidString)").path
}

@Suite("A reused call id with another total is a conflict, decided by the library")
struct CallConflictTests {
    @Test("record: the same total is a duplicate, another total throws CallConflict naming both; nothing changes")
    func recordConflict() async throws {
        try await withRepository { repository async throws in
            let usage = UsageRecord(inputTokens: 10, outputTokens: 5)
            _ = try await repository.record(user: "u", callID: "c1", usage: usage, at: testInstant)
            let retry = try await repository.record(user: "u", callID: "c1", usage: usage, at: testInstant)
            #expect(!retry.applied && retry.recordedTotalTokens == 15)
            do {
                _ = try await repository.record(
                    user: "u", callID: "c1", usage: UsageRecord(inputTokens: 10, outputTokens: 6), at: testInstant)
                Issue.record("another total must be a conflict")
            } catch let conflict as CallConflict {
                #expect(conflict.callID == "c1" && conflict.user == "u")
                #expect(conflict.recordedTotalTokens == 15 && conflict.totalTokens == 16)
                #expect(conflict.message.contains("\"c1\"") && conflict.message.contains("15"))
                #expect(conflict.message.contains("16"))
                #expect(ErrorCategory.of(conflict) == .badInput)
            }
            let seen = try await repository.usage(user: "u", at: testInstant)
            #expect(seen.calls == 1 && seen.totalTokens == 15)
        }
    }

    @Test("settle: another total than the call id was recorded with is a conflict and keeps the lease")
    func settleConflictKeepsLease() async throws {
        try await withRepository { repository async throws in
            let admitted = try await repository.reserve(user: "s", callID: "c1", tokens: 100)
            #expect(admitted.status == .admitted)
            // Recorded (not settled): the lease is still live.
            _ = try await repository.record(
                user: "s", callID: "c1", usage: UsageRecord(inputTokens: 10, outputTokens: 5))
            #expect(try await repository.check(user: "s").reserved == 100)
            await #expect(throws: CallConflict.self) {
                try await repository.settle(
                    user: "s", callID: "c1", usage: UsageRecord(inputTokens: 10, outputTokens: 10))
            }
            #expect(try await repository.check(user: "s").reserved == 100, "a conflicting settle drops nothing")
            #expect(try await repository.usage(user: "s").totalTokens == 15)
            // The same total is a retry: a duplicate, which drops the lease as before.
            let retry = try await repository.settle(
                user: "s", callID: "c1", usage: UsageRecord(inputTokens: 10, outputTokens: 5))
            #expect(!retry.applied && retry.releasedTokens == 100)
            #expect(try await repository.check(user: "s").reserved == 0)
        }
    }

    @Test(
        "the recorder answers .conflict on the pool and the pipeline, counted as result conflict",
        arguments: [true, false])
    func recorderOutcome(loneCallerUsesPool: Bool) async throws {
        let metrics = TestMetrics()
        try await withRepository { repository async throws in
            let recorder = UsageRecorder(
                repository: repository,
                options: .init(pipeline: .init(), loneCallerUsesPool: loneCallerUsesPool),
                metrics: LedgerMetrics(factory: metrics))
            try await recorder.withRunning {
                let first = await recorder.record(
                    user: "r", callID: "c1", usage: UsageRecord(inputTokens: 3, outputTokens: 4))
                guard case .applied = first else { throw TestFailure("the first record must apply, got \(first)") }
                let same = await recorder.record(
                    user: "r", callID: "c1", usage: UsageRecord(inputTokens: 4, outputTokens: 3))
                guard case .duplicate = same else { throw TestFailure("the same total is a duplicate, got \(same)") }
                let other = await recorder.settle(
                    user: "r", callID: "c1", usage: UsageRecord(inputTokens: 4, outputTokens: 4))
                guard case .conflict(let conflict) = other else {
                    throw TestFailure("another total is a conflict, got \(other)")
                }
                #expect(conflict.recordedTotalTokens == 7 && conflict.totalTokens == 8)
                #expect(!other.isDurable)
            }
            #expect(metrics.counterValue("tokenledger_records_total", [("result", "conflict")]) == 1)
            #expect(metrics.counterValue("tokenledger_records_total", [("result", "duplicate")]) == 1)
            #expect(try await repository.usage(user: "r").totalTokens == 7)
        }
    }

    @Test("a fire-and-forget record with another total is counted as conflict, never spooled")
    func backgroundConflict() async throws {
        let metrics = TestMetrics()
        let directory = conflictSpoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withRepository { repository async throws in
            _ = try await repository.record(
                user: "b", callID: "c1", usage: UsageRecord(inputTokens: 1, outputTokens: 1))
            let spool = try EventSpool(directory: directory)
            let recorder = UsageRecorder(
                repository: repository, spool: spool, options: .init(recordTimeout: .seconds(30), pipeline: .init()),
                metrics: LedgerMetrics(factory: metrics))
            await recorder.withRunning {
                // The first awaited record loads the settings, so the next one takes the pipeline.
                _ = await recorder.record(user: "b", callID: "c0", usage: UsageRecord(inputTokens: 1, outputTokens: 0))
                await recorder.recordInBackground(
                    user: "b", callID: "c1", usage: UsageRecord(inputTokens: 5, outputTokens: 5))
                let counted = await waitUntil {
                    metrics.counterValue("tokenledger_records_total", [("result", "conflict")]) == 1
                }
                #expect(counted, "the conflict is counted")
            }
            #expect(spool.status().events == 0)
            #expect(try await repository.usage(user: "b").totalTokens == 3)
        }
    }

    @Test("spool replay: a conflicting event leaves the spool (counted, set aside); the events after it apply")
    func replayConflict() async throws {
        let metrics = TestMetrics()
        let directory = conflictSpoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withRepository { repository async throws in
            _ = try await repository.record(
                user: "p", callID: "c1", usage: UsageRecord(inputTokens: 10, outputTokens: 5), at: testInstant)
            let spool = try EventSpool(directory: directory)
            let namespace = repository.keys.namespace
            for (callID, output) in [("c1", 6), ("c2", 1), ("c3", 2)] {
                try spool.append(
                    SpooledEvent(
                        operation: .record, user: "p", callID: callID,
                        usage: UsageRecord(inputTokens: 10, outputTokens: output), at: testInstant,
                        namespace: namespace))
            }
            let recorder = UsageRecorder(
                repository: repository, spool: spool, options: .init(replaysInBackground: false),
                metrics: LedgerMetrics(factory: metrics))
            let result = try await recorder.flush()
            #expect(result.applied == 2 && result.rejected == 1 && result.remaining == 0, "\(result)")
            #expect(spool.status().events == 0)
            #expect(metrics.counterValue("tokenledger_records_total", [("result", "conflict")]) == 1)
            let second = try await recorder.flush()
            #expect(second.applied == 0 && second.rejected == 0 && second.remaining == 0, "never retried: \(second)")
            let rejected = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasPrefix("rejected-") && $0.hasSuffix(".jsonl") }
            #expect(rejected.count == 1)
            let seen = try await repository.usage(user: "p", at: testInstant)
            #expect(seen.calls == 3 && seen.totalTokens == 15 + 11 + 12)
            await recorder.shutdown()
        }
    }
}

/// A failure with a sentence, for `guard … else { throw }` in tests.
private struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
