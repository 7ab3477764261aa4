import Foundation
import RedisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private func temporaryDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("cli-spool-\(UUID().uuidString)").path
}

/// The call ids of every complete event line in a spool directory's segments.
private func spooledCallIDs(_ directory: String) throws -> [String] {
    var ids: [String] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() where name.hasPrefix("segment-")
    {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        for line in data.split(separator: 0x0A) {
            if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let id = object["call_id"] as? String
            {
                ids.append(id)
            }
        }
    }
    return ids
}

@Suite("tokenledger record with a spool, spool status, spool flush")
struct SpoolCommandTests {
    @Test("with Redis down, record spools and exits 0 (spooled:true); without a spool dir it exits 69")
    func recordSpools() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let closed = "redis://127.0.0.1:\(try closedPort())"
        let down = ["REDIS_URL": closed, "TOKENLEDGER_SPOOL_DIR": directory]
        // An explicit cycle: the event is spooled now and applied later, perhaps in another month.
        let spooled = try await CLI.run(
            ["record", "s", "--input", "10", "--output", "5", "--call-id", "a", "--cycle", "2026-01-01"],
            environment: down)
        #expect(spooled.status == 0, "\(spooled.stderr)")
        #expect(spooled.stdout == #"{"call_id":"a","spooled":true,"user":"s"}"# + "\n")
        let noSpool = try await CLI.run(
            ["record", "s", "--input", "1", "--output", "1"], environment: ["REDIS_URL": closed])
        #expect(noSpool.status == 69)
        // Bad input is refused before anything is spooled.
        let bad = try await CLI.run(["record", "s", "--input", "-1", "--output", "1"], environment: down)
        #expect(bad.status == 65)
        let status = try jsonObject(
            try await CLI.run(["spool", "status", "--format", "json"], environment: down).stdout)
        #expect(status["events"] as? Int == 1 && status["segments"] as? Int == 1)
        let failedFlush = try await CLI.run(["spool", "flush"], environment: down)
        #expect(failedFlush.status == 69)
        #expect(try spooledCallIDs(directory) == ["a"])

        try await withRedisServer { server async throws in
            let up = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_SPOOL_DIR": directory]
            let flushed = try await CLI.run(["spool", "flush"], environment: up)
            #expect(
                flushed.stdout == #"{"applied":1,"duplicates":0,"rejected":0,"remaining":0,"torn":0}"# + "\n",
                "\(flushed.stderr)")
            let usage = try jsonObject(
                try await CLI.run(["usage", "s", "--format", "json", "--cycle", "2026-01-01"], environment: up).stdout)
            #expect(usage["total_tokens"] as? Int == 15)
            // With Redis up, record answers from Redis as usual: a retry of the replayed event is a
            // duplicate (the same total; another total would be a conflict, exit 65).
            let live = try await CLI.run(
                ["record", "s", "--input", "10", "--output", "5", "--call-id", "a", "--cycle", "2026-01-01"],
                environment: up)
            #expect(live.stdout.contains(#""applied":false"#), "\(live.stderr)")
        }
        let wrongNamespace = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: wrongNamespace) }
        _ = try await CLI.run(
            ["record", "n", "--input", "1", "--output", "1", "--namespace", "other"],
            environment: ["REDIS_URL": closed, "TOKENLEDGER_SPOOL_DIR": wrongNamespace])
        try await withRedisServer { server async throws in
            // Another namespace's event does not stop the flush: it stays spooled for that namespace.
            let environment = [
                "REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_SPOOL_DIR": wrongNamespace,
            ]
            let flush = try await CLI.run(["spool", "flush"], environment: environment)
            #expect(flush.status == 0 && flush.stderr.contains("another namespace"), "\(flush.stderr)")
            #expect(
                flush.stdout.contains(#""other_namespace":1"#) && flush.stdout.contains(#""remaining":1"#),
                "\(flush.stdout)")
            let other = try await CLI.run(["spool", "flush", "--namespace", "other"], environment: environment)
            #expect(
                other.stdout == #"{"applied":1,"duplicates":0,"rejected":0,"remaining":0,"torn":0}"# + "\n",
                "\(other.stderr)")
        }
        let unset = try await CLI.run(["spool", "status"])
        #expect(unset.status == 64 && unset.stderr.contains("TOKENLEDGER_SPOOL_DIR"))
    }

    @Test(
        "the application killed mid-run with a non-empty spool: a new process replays it, totals exact, nothing twice")
    func applicationKilled() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Redis is down for the whole run, so every event goes to the spool; the process is killed mid-run.
        let running = try CLI.start(
            [
                "loadgen", "--events", "100000", "--users", "20", "--concurrency", "16", "--progress",
                "--record-timeout-ms", "50",
                "--drain-seconds", "0",
            ],
            environment: ["REDIS_URL": "redis://127.0.0.1:\(try closedPort())", "TOKENLEDGER_SPOOL_DIR": directory],
            executable: CLI.benchmark)
        #expect(await waitUntil(interval: .milliseconds(50)) { (try? spooledCallIDs(directory).count) ?? 0 >= 500 })
        kill(running.process.processIdentifier, SIGKILL)
        let killed = await running.finish()
        #expect(killed.status != 0)
        // Only whole lines: the kill can cut the last one short ("durable 12" of "durable 1234").
        var lines = killed.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()  // empty after a final newline, else the cut line
        let acknowledged = Set(
            lines.compactMap { line in
                line.hasPrefix("durable ") ? "load-" + line.dropFirst(8) : nil
            })
        let spooled = try spooledCallIDs(directory)
        #expect(spooled.count >= 500)
        #expect(Set(spooled).count == spooled.count, "an event was spooled twice")
        #expect(acknowledged.isSubset(of: Set(spooled)), "an acknowledged event is missing from the spool")

        // A copy of the spooled segments, to replay the same events a second time below.
        let copy = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        let segments = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasPrefix("segment-")
        }
        for name in segments {
            try FileManager.default.copyItem(atPath: directory + "/" + name, toPath: copy + "/" + name)
        }

        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_SPOOL_DIR": directory]
            let flushed = try jsonObject(try await CLI.run(["spool", "flush"], environment: env).stdout)
            #expect(flushed["applied"] as? Int == spooled.count && flushed["remaining"] as? Int == 0)
            // Expected totals from exactly the events that were spooled (loadgen's deterministic rule).
            var expected: [String: (Int, Int)] = [:]
            for id in spooled {
                let index = Int(id.dropFirst("load-".count))!
                let user = "load-\(index % 20)"
                let old = expected[user] ?? (0, 0)
                expected[user] = (old.0 + index % 97 + 1, old.1 + 1)
            }
            let report = try jsonObject(try await CLI.run(["report", "--format", "json"], environment: env).stdout)
            let users = try #require(report["users"] as? [[String: Any]])
            for row in users {
                let user = try #require(row["user"] as? String)
                #expect(
                    row["input_tokens"] as? Int == expected[user]?.0 && row["calls"] as? Int == expected[user]?.1,
                    "\(user)")
            }
            #expect(users.count == expected.count)
            // A second flush finds nothing left.
            let empty = try jsonObject(try await CLI.run(["spool", "flush"], environment: env).stdout)
            #expect(
                empty["applied"] as? Int == 0 && empty["duplicates"] as? Int == 0 && empty["remaining"] as? Int == 0)
            // Replaying the same events again (the copied segments) changes nothing: every one is a duplicate.
            let replay = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_SPOOL_DIR": copy]
            let again = try jsonObject(try await CLI.run(["spool", "flush"], environment: replay).stdout)
            #expect(again["applied"] as? Int == 0 && again["duplicates"] as? Int == spooled.count, "\(again)")
            #expect(again["remaining"] as? Int == 0)
            let after = try jsonObject(try await CLI.run(["report", "--format", "json"], environment: env).stdout)
            let usersAfter = try #require(after["users"] as? [[String: Any]])
            #expect(
                NSArray(array: usersAfter) == NSArray(array: users), "replaying the events again changed the totals")
        }
    }
}
