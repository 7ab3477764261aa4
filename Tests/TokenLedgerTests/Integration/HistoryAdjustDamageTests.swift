import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// A late call amends a folded cycle's compact summary (`history_adjust.lua`): a damaged number in
/// the summary is reported as corrupt data, never read as 0.
@Suite("A late call never trusts a damaged compact summary")
struct HistoryAdjustDamageTests {
    @Test(
        "a damaged counter of a compact summary is corrupt data naming the user and field; nothing is written",
        arguments: [
            ("i", "\"lots\""), ("i", "-5"), ("n", "1.5"), ("o", "true"), ("c", "{}"), ("mi:gpt-4o-mini", "\"7\""),
        ])
    func damagedCounter(field: String, damage: String) async throws {
        try await withRepository { repository in
            let cycle = DedupeWindowTests.pastCycle
            try await ClosedCycleFoldTests.recordMix(repository, cycle: cycle)
            _ = try await Rollover(repository: repository).run(try RolloverOptions(dedupeWindowDays: 0))
            let keys = repository.keys
            let pool = repository.pool
            let compact = try #require(try await pool.send(HGET(keys.history(cycle), field: "alice")))
            #expect(CompactSummary.isCompact(compact), "\(compact)")
            // The field's value replaced (or added) as raw JSON text.
            var object = try #require(
                try JSONSerialization.jsonObject(with: Data(compact.utf8)) as? [String: Any])
            object[field] = "@@"
            let template = String(
                decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            let damaged = template.replacingOccurrences(of: "\"@@\"", with: damage)
            _ = try await pool.send(HSET(keys.history(cycle), fields: [("alice", damaged)]))
            let totals = try await pool.send(HGETALL(keys.historyTotals(.user, cycle)))

            let adjustment =
                #"{"at":1,"cache_write_tokens":0,"cached_input_tokens":0,"call_id":"late-x","input_tokens":10,"#
                + #""model":"other-model","output_tokens":4,"reasoning_tokens":0}"#
            let error = await #expect(throws: LedgerError.self) {
                try await repository.run(
                    HistoryAdjustScript(keySet: keys, cycle: cycle, user: "alice", callID: "late-x", json: adjustment))
            }
            #expect(error?.code == .corruptData, "\(String(describing: error))")
            #expect(error?.message.contains("alice \(field)") == true, "\(String(describing: error))")
            #expect(try await pool.send(HGET(keys.history(cycle), field: "alice")) == damaged)
            #expect(try await pool.send(HGETALL(keys.historyTotals(.user, cycle))) == totals)
            #expect(try await pool.send(HLEN(keys.historyAdjustments(.user, cycle))) == 0)
        }
    }
}
