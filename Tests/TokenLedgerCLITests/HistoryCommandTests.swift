import Foundation
import RedisTestSupport
import Testing

/// Every key of a namespace on a test server, sorted.
private func keys(_ server: RedisTestServer, namespace: String) async throws -> [String] {
    let result = try await Program.run(
        "redis-cli", ["-p", String(server.port), "--scan", "--pattern", namespace + ":*"])
    return result.stdout.split(separator: "\n").map(String.init).sorted()
}

/// A port where no server listens: one a test server used and gave back.
private func closedPort() async throws -> Int {
    let server = try await RedisTestServer.start()
    let port = server.port
    await server.stop()
    return port
}

@Suite("tokenledger history, late events, future rollover, dates in range")
struct HistoryCommandTests {
    @Test("the issue's repro: a spooled event replayed after rollover amends the history, readable after retention")
    func lateSpooledEventAmendsHistory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let downPort = try await closedPort()
        try await withRedisServer { server async throws in
            let up = [
                "REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "hist",
                "TOKENLEDGER_SPOOL_DIR": directory,
            ]
            var down = up
            down["REDIS_URL"] = "redis://127.0.0.1:\(downPort)"
            let first = try await CLI.run(
                ["record", "lu", "--input", "100", "--output", "0", "--cycle", "2026-09-01", "--call-id", "c1"],
                environment: up)
            #expect(first.status == 0, "\(first.stderr)")
            let spooled = try await CLI.run(
                ["record", "lu", "--input", "999", "--output", "0", "--cycle", "2026-09-01", "--call-id", "c2"],
                environment: down)
            #expect(spooled.status == 0 && spooled.stdout.contains(#""spooled":true"#), "\(spooled.stderr)")

            let rollover = try await CLI.run(
                ["rollover", "--now", "2026-10-02T00:00:00Z", "--format", "json"], environment: up)
            #expect(rollover.status == 0, "\(rollover.stderr)")
            #expect(
                (try jsonObject(rollover.stdout)["closed"] as? [[String: Any]])?.first?["total_tokens"] as? Int == 100)
            let flush = try await CLI.run(["spool", "flush"], environment: up)
            #expect(flush.status == 0 && flush.stdout.contains(#""applied":1"#), "\(flush.stdout) \(flush.stderr)")

            let usage = try jsonObject(
                try await CLI.run(["usage", "lu", "--cycle", "2026-09-01", "--format", "json"], environment: up).stdout)
            #expect(usage["total_tokens"] as? Int == 1099)
            let expected = try await CLI.run(["history", "--cycle", "2026-09-01", "--format", "json"], environment: up)
            #expect(expected.status == 0, "\(expected.stderr)")
            #expect(!expected.stdout.dropLast().contains("\n"), "not one line")
            let history = try jsonObject(expected.stdout)
            let cycle = try #require((history["cycles"] as? [[String: Any]])?.first)
            let summary = try #require((cycle["users"] as? [[String: Any]])?.first)
            #expect(summary["user"] as? String == "lu" && summary["total_tokens"] as? Int == 1099)
            #expect(summary["calls"] as? Int == 2 && summary["adjustments"] as? Int == 1)
            #expect((cycle["totals"] as? [String: Any])?["total_tokens"] as? Int == 1099)
            let adjustment = try #require((cycle["adjustments"] as? [[String: Any]])?.first)
            #expect(adjustment["call_id"] as? String == "c2" && adjustment["total_tokens"] as? Int == 999)
            #expect(adjustment["user"] as? String == "lu" && (adjustment["at"] as? String)?.hasSuffix("Z") == true)

            let csv = try await CLI.run(["history", "--user", "lu", "--format", "csv"], environment: up)
            #expect(csv.stdout.hasPrefix("cycle,user,cycle_end,input_tokens,output_tokens,"), "\(csv.stdout)")
            // Both calls are unpriced (no model): cost 0, two unpriced calls.
            #expect(
                csv.stdout.contains("2026-09-01,lu,2026-10-01,1099,0,0,0,0,1099,2,,1,0.000000000,2\n"), "\(csv.stdout)")
            let table = try await CLI.run(["history"], environment: up)
            #expect(
                table.stdout.contains("cycle 2026-09-01: 1 users, 1099 tokens, 2 calls, 0.000000000 USD, 1 late calls")
                    && table.stdout.contains("c2"))
            let nobody = try await CLI.run(["history", "--user", "nobody", "--format", "json"], environment: up)
            #expect(nobody.stdout == #"{"cycles":[]}"# + "\n")
            // A late call through the CLI says so, on stdout and stderr.
            let direct = try await CLI.run(
                ["record", "lu", "--input", "0", "--output", "0", "--cycle", "2026-09-01", "--call-id", "c0"],
                environment: up)
            #expect(
                direct.stdout.contains(#""history_amended":true"#) && direct.stderr.contains("already closed"),
                "\(direct.stderr)")
            let amended = try await CLI.run(["history", "--cycle", "2026-09-01", "--format", "json"], environment: up)
            #expect(amended.stdout.contains(#""adjustments":2"#), "\(amended.stdout)")

            // Retention (cycles that ended over a month ago) deletes the counters; history stays.
            let retention = try await CLI.run(
                ["rollover", "--retention-months", "1", "--format", "json"], environment: up)
            #expect(
                (try jsonObject(retention.stdout))["deleted_user_cycles"] as? Int == 1,
                "\(retention.stdout) \(retention.stderr)")
            let after = try await CLI.run(["history", "--cycle", "2026-09-01", "--format", "json"], environment: up)
            #expect(after.stdout == amended.stdout)
            // A late event for the deleted cycle is refused (it could not be deduplicated), nothing written.
            let refused = try await CLI.run(
                ["record", "lu", "--input", "5", "--output", "0", "--cycle", "2026-09-01", "--call-id", "c3"],
                environment: up)
            #expect(refused.status == 65 && refused.stderr.contains("retention"), "\(refused.stderr)")
            #expect(
                try await CLI.run(["history", "--cycle", "2026-09-01", "--format", "json"], environment: up).stdout
                    == amended.stdout)
        }
    }

    @Test("rollover --now beyond the server's clock: exit 64 with a reason, nothing written; --dry-run may look ahead")
    func futureRollover() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "fut"]
            _ = try await CLI.run(["record", "lu", "--input", "100", "--output", "0"], environment: env)
            let before = try await keys(server, namespace: "fut")
            let future = try await CLI.run(["rollover", "--now", "2099-01-01T00:00:00Z"], environment: env)
            #expect(future.status == 64 && future.stderr.contains("Redis server's clock"), "\(future.stderr)")
            #expect(future.stdout.isEmpty)
            #expect(try await keys(server, namespace: "fut") == before)
            let dry = try await CLI.run(
                ["rollover", "--now", "2099-01-01T00:00:00Z", "--dry-run", "--format", "json"], environment: env)
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(try jsonObject(dry.stdout)["dry_run"] as? Bool == true)
            #expect(try await keys(server, namespace: "fut") == before)
        }
    }

    @Test("reset of a cycle rollover folded exits 65 naming the cycle and why; nothing is written")
    func resetOfFoldedCycle() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "fold"]
            // The first day of the month two months ago: closed, and past a window of 0 days.
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let month = calendar.date(byAdding: .month, value: -2, to: Date())!
            let parts = calendar.dateComponents([.year, .month], from: month)
            let cycle = String(format: "%04d-%02d-01", parts.year!, parts.month!)
            let record = try await CLI.run(
                ["record", "fu", "--input", "5", "--output", "5", "--cycle", cycle], environment: env)
            #expect(record.status == 0, "\(record.stderr)")
            let rollover = try await CLI.run(["rollover", "--dedupe-window-days", "0"], environment: env)
            #expect(rollover.status == 0, "\(rollover.stderr)")
            let before = try await keys(server, namespace: "fold")
            let reset = try await CLI.run(["reset", "fu", "--cycle", cycle, "--yes"], environment: env)
            #expect(reset.status == 65 && reset.stdout.isEmpty, "\(reset.stdout) \(reset.stderr)")
            #expect(reset.stderr.contains(cycle) && reset.stderr.contains("folded"), "\(reset.stderr)")
            #expect(try await keys(server, namespace: "fold") == before)
            let usage = try await CLI.run(["usage", "fu", "--cycle", cycle, "--format", "json"], environment: env)
            #expect(try jsonObject(usage.stdout)["total_tokens"] as? Int == 10, "\(usage.stdout) \(usage.stderr)")
        }
    }

    @Test("cycle set mid-cycle: a user at his limit is still denied (exit 1) until the running cycle ends")
    func policyChangeDoesNotResetQuota() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "pol"]
            _ = try await CLI.run(["limit", "set", "lu", "1000"], environment: env)
            _ = try await CLI.run(["record", "lu", "--input", "1000", "--output", "0"], environment: env)
            #expect(try await CLI.run(["quota", "check", "lu", "--tokens", "1"], environment: env).status == 1)
            // A policy whose running cycle starts on another day than the calendar month's.
            let today = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date())
                .day
            let policy = today == 1 ? ["--period", "monthly", "--anchor-day", "2"] : ["--period", "daily"]
            let set = try await CLI.run(["cycle", "set", "lu"] + policy, environment: env)
            #expect(set.status == 0, "\(set.stderr)")
            let check = try await CLI.run(["quota", "check", "lu", "--tokens", "1"], environment: env)
            #expect(check.status == 1, "\(check.stdout) \(check.stderr)")
            #expect(try jsonObject(check.stdout)["used"] as? Int == 1000)
            let reserve = try await CLI.run(
                ["quota", "reserve", "lu", "--tokens", "1", "--call-id", "r"], environment: env)
            #expect(reserve.status == 1, "\(reserve.stdout) \(reserve.stderr)")
        }
    }

    @Test("dates stay in range: reset of nobody writes nothing, rollover at 0001-01-01, a cycle ending after 9999")
    func datesInRange() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "dates"]
            let reset = try await CLI.run(["reset", "nobody", "--yes"], environment: env)
            #expect(reset.status == 0 && reset.stdout.contains(#""reset":false"#), "\(reset.stdout) \(reset.stderr)")
            #expect(reset.stderr.contains("nothing was reset"))
            #expect(try await keys(server, namespace: "dates").filter { $0.contains("nobody") }.isEmpty)

            let early = try await CLI.run(
                ["rollover", "--now", "0001-01-01T00:00:00Z", "--format", "json"], environment: env)
            #expect(early.status == 0, "\(early.stderr)")
            #expect(
                (try jsonObject(early.stdout))["retention_cutoff"] as? String == "0001-01-01"
                    && !early.stdout.contains("-0001"))

            let last = try await CLI.run(
                ["usage", "lu", "--cycle", "9999-12-31", "--format", "json"], environment: env)
            #expect(
                last.status == 65 && last.stderr.contains("9999-12-31") && last.stdout.isEmpty,
                "\(last.stdout) \(last.stderr)")
            let atEnd = try await CLI.run(["usage", "lu", "--at", "9999-12-15T00:00:00Z"], environment: env)
            #expect(atEnd.status == 65, "\(atEnd.stdout) \(atEnd.stderr)")
            let record = try await CLI.run(
                ["record", "lu", "--input", "1", "--output", "1", "--cycle", "9999-12-31"], environment: env)
            #expect(record.status == 65 && !record.stderr.contains("10000"), "\(record.stderr)")
            let inRange = try await CLI.run(
                ["usage", "lu", "--cycle", "9999-11-01", "--format", "json"], environment: env)
            #expect((try jsonObject(inRange.stdout))["cycle_end"] as? String == "9999-12-01", "\(inRange.stderr)")
            #expect(try await keys(server, namespace: "dates").filter { $0.contains("{lu}") }.isEmpty)
        }
    }
}
