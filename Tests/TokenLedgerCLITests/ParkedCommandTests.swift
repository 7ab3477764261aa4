import Foundation
import RedisTestSupport
import Testing

/// Issue 21 end to end: rollover drops a past cycle's call ids after the dedupe window; a replay is
/// parked (never counted), `spool status` and `doctor` show it, `spool parked` lists, applies and drops.
@Suite("tokenledger rollover's dedupe window and spool parked")
struct ParkedCommandTests {
    @Test("a replay after the window is parked and shown; parked apply needs --yes; drop discards")
    func parkedLifecycle() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cli-parked-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withRedisServer { server async throws in
            let globals = ["--redis", "redis://127.0.0.1:\(server.port)", "--namespace", "park"]
            let spool = ["TOKENLEDGER_SPOOL_DIR": directory]
            // A cycle that began two months ago: ended about a month ago, past the default 7-day window.
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let start = calendar.date(byAdding: .month, value: -2, to: Date())!
            let parts = calendar.dateComponents([.year, .month, .day], from: start)
            let cycle = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            let call = ["record", "alice", "--input", "10", "--output", "5", "--call-id", "c1", "--cycle", cycle]

            #expect(try await CLI.run(globals + call).status == 0)
            let rollover = try jsonObject(try await CLI.run(globals + ["rollover", "--format", "json"]).stdout)
            #expect(rollover["dropped_call_ids"] as? Int == 1 && rollover["dedupe_window_days"] as? Int == 7)

            // The replay: not counted, parked (exit 65 with a sentence naming the window and the command).
            let replay = try await CLI.run(globals + call, environment: spool)
            #expect(replay.status == 65 && replay.stderr.contains("dedupe window"), "\(replay.stderr)")
            #expect(replay.stderr.contains("spool parked list"), "\(replay.stderr)")
            let usage = try jsonObject(
                try await CLI.run(globals + ["usage", "alice", "--cycle", cycle, "--format", "json"]).stdout)
            #expect(usage["total_tokens"] as? Int == 15 && usage["calls"] as? Int == 1)

            let status = try jsonObject(
                try await CLI.run(globals + ["spool", "status", "--format", "json"], environment: spool).stdout)
            #expect(status["parked"] as? Int == 1 && status["events"] as? Int == 0)
            let doctor = try await CLI.run(globals + ["doctor", "--format", "json"], environment: spool)
            #expect(doctor.stdout.contains("1 parked"), "\(doctor.stdout)")
            let list = try await CLI.run(globals + ["spool", "parked", "list", "--format", "json"], environment: spool)
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
            #expect(
                rows.count == 1 && rows.first?["call_id"] as? String == "c1" && rows.first?["cycle"] as? String == cycle
            )
            #expect(rows.first?["total_tokens"] as? Int == 15)

            // apply and drop refuse without --yes (usage error, nothing done).
            for verb in ["apply", "drop"] {
                let refused = try await CLI.run(globals + ["spool", "parked", verb], environment: spool)
                #expect(refused.status == 64 && refused.stderr.contains("--yes"), "\(verb): \(refused.stderr)")
            }
            let dropped = try jsonObject(
                try await CLI.run(globals + ["spool", "parked", "drop", "--yes"], environment: spool).stdout)
            #expect(dropped["dropped"] as? Int == 1 && dropped["remaining"] as? Int == 0)
            let after = try jsonObject(
                try await CLI.run(globals + ["spool", "status", "--format", "json"], environment: spool).stdout)
            #expect(after["parked"] as? Int == 0)
            let final = try jsonObject(
                try await CLI.run(globals + ["usage", "alice", "--cycle", cycle, "--format", "json"]).stdout)
            #expect(final["total_tokens"] as? Int == 15)
        }
    }
}
