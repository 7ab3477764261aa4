import Foundation
import RedisClient
import RedisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The repository root (for scripts/, docker/).
private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// `redis-cli -p PORT args…`, raw output.
private func redisCLI(_ server: RedisTestServer, _ arguments: [String]) async throws -> String {
    let result = try await Program.run("redis-cli", ["-p", String(server.port), "--no-raw"] + arguments)
    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Writes legacy data with the seed's own TokenUsageRepository; returns what the seed reads back.
private func seed(_ server: RedisTestServer, _ operations: String) async throws -> [String: [String: Int]] {
    let result = try await Program.run(
        "python3", [root.appendingPathComponent("scripts/seed_legacy.py").path],
        environment: ["REDIS_HOST": "127.0.0.1", "REDIS_PORT": String(server.port)], stdin: operations)
    #expect(result.status == 0, "seed_legacy.py: \(result.stderr)")
    let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    return try #require(object as? [String: [String: Int]], "seed output: \(result.stdout) \(result.stderr)")
}

/// The seed's data by cycle: cycle → user → (prompt, completion, total, limit).
private func byCycle(_ seeded: [String: [String: Int]]) -> [String: [String: [String: Int]]] {
    var result: [String: [String: [String: Int]]] = [:]
    for (key, values) in seeded {
        let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
        result[parts[1], default: [:]][parts[0]] = values
    }
    return result
}

/// The limit the import should give each user: the latest legacy cycle's limit above 0.
private func expectedLimits(_ seeded: [String: [String: Int]]) -> [String: Int] {
    var latest: [String: (String, Int)] = [:]
    for (key, values) in seeded {
        let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
        guard let limit = values["limit"], limit > 0 else { continue }
        if let current = latest[parts[0]], current.0 > parts[1] { continue }
        latest[parts[0]] = (parts[1], limit)
    }
    return latest.mapValues(\.1)
}

/// Checks `report --cycle` for every legacy cycle against what the seed reads back.
private func expectReportsMatch(_ seeded: [String: [String: Int]], env: [String: String]) async throws {
    let limits = expectedLimits(seeded)
    for (cycle, users) in byCycle(seeded) {
        let result = try await CLI.run(["report", "--cycle", cycle, "--format", "json"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try jsonObject(result.stdout)
        let rows = try #require(report["users"] as? [[String: Any]])
        var seen: [String: [String: Any]] = [:]
        for row in rows { seen[row["user"] as? String ?? ""] = row }
        let withUsage = users.filter { $0.value["total_tokens", default: 0] > 0 }
        #expect(Set(seen.keys) == Set(withUsage.keys), "cycle \(cycle)")
        for (user, values) in withUsage {
            let row = try #require(seen[user], "\(user) missing from the report of \(cycle)")
            let prompt = values["prompt_tokens", default: 0]
            let completion = values["completion_tokens", default: 0]
            let total = values["total_tokens", default: 0]
            #expect(row["total_tokens"] as? Int == total, "\(user) \(cycle)")
            #expect(row["output_tokens"] as? Int == completion, "\(user) \(cycle)")
            #expect(row["input_tokens"] as? Int == prompt + max(0, total - prompt - completion), "\(user) \(cycle)")
            if let limit = limits[user] {
                #expect(row["limit"] as? Int == limit, "\(user) \(cycle)")
            } else {
                #expect(row["limit"] is NSNull, "\(user) \(cycle)")
            }
        }
        let totals = try #require(report["totals"] as? [String: Any])
        #expect(totals["total_tokens"] as? Int == withUsage.values.reduce(0) { $0 + $1["total_tokens", default: 0] })
    }
}

@Suite("tokenledger migrate, rollover, report --format html, doctor, docker/", .serialized)
struct OperationsCommandTests {
    @Test(
        "migrate imports what the seed's own repository wrote; usage and report agree; a second migrate changes nothing"
    )
    func importSeedData() async throws {
        var options = RedisTestServer.Options()
        options.extraArguments = ["--enable-debug-command", "local"]
        try await withRedisServer(options) { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "acc"]
            let seeded = try await seed(
                server,
                """
                [{"op": "generate", "users": 12, "cycles": ["2025-10-01", "2025-11-01"], "seed": 7},
                 {"op": "detailed", "user": "org:alice", "cycle": "2025-11-01", "prompt": 300, "completion": 200},
                 {"op": "detailed", "user": "org:alice", "cycle": "2025-11-01", "prompt": 30, "completion": 20},
                 {"op": "total", "user": "basic-bob", "cycle": "2025-11-01", "tokens": 777},
                 {"op": "limit", "user": "basic-bob", "cycle": "2025-11-01", "limit": 5000},
                 {"op": "limit", "user": "basic-bob", "cycle": "2025-10-01", "limit": 9000},
                 {"op": "prompt", "user": "pat", "cycle": "2025-10-01", "tokens": 50},
                 {"op": "completion", "user": "pat", "cycle": "2025-10-01", "tokens": 25},
                 {"op": "total", "user": "pat", "cycle": "2025-10-01", "tokens": 75}]
                """)
            #expect(seeded.count == 12 * 2 + 4)
            #expect(try await redisCLI(server, ["EXISTS", "token_usage:org:alice:2025-11-01"]) == "(integer) 1")

            let dry = try await CLI.run(["migrate", "--dry-run", "--format", "json"], environment: env)
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(dry.stdout.contains(#""would_import":27"#), "\(dry.stdout)")
            #expect(try await redisCLI(server, ["EXISTS", "acc:{global}:migrations"]) == "(integer) 0")

            let first = try await CLI.run(["migrate", "--format", "json", "--batch-size", "7"], environment: env)
            #expect(first.status == 0, "\(first.stderr)")
            let steps = try #require(try jsonObject(first.stdout)["steps"] as? [[String: Any]])
            // Migration 3 (compact call ids) converts the ids the import just wrote: none, they are
            // already fingerprints.
            #expect(steps.map { $0["action"] as? String } == ["applied", "applied", "applied"])
            let counts = try #require(steps[1]["counts"] as? [String: Int])
            #expect(counts["imported"] == 27 && counts["limit_only"] == 1 && counts["skipped"] == 0)
            try await expectReportsMatch(seeded, env: env)

            let alice = try jsonObject(
                try await CLI.run(
                    // A user whose id starts with org: is named user:org:… (org:alice would be the org).
                    ["usage", "user:org:alice", "--cycle", "2025-11-01", "--format", "json"], environment: env
                ).stdout)
            #expect(
                alice["total_tokens"] as? Int == 550 && alice["input_tokens"] as? Int == 330 && alice["limit"] is NSNull
            )
            let bob = try jsonObject(
                try await CLI.run(
                    ["usage", "basic-bob", "--cycle", "2025-11-01", "--format", "json"], environment: env
                ).stdout)
            #expect(
                bob["total_tokens"] as? Int == 777 && bob["limit"] as? Int == 5000 && bob["remaining"] as? Int == 4223)
            // Legacy keys stay without --delete-legacy.
            #expect(try await redisCLI(server, ["EXISTS", "token_usage:org:alice:2025-11-01"]) == "(integer) 1")

            let digest = try await redisCLI(server, ["DEBUG", "DIGEST"])
            #expect(digest.count > 20, "DEBUG DIGEST: \(digest)")
            let second = try await CLI.run(["migrate", "--format", "json"], environment: env)
            #expect(second.status == 0, "\(second.stderr)")
            let again = try #require(try jsonObject(second.stdout)["steps"] as? [[String: Any]])
            #expect(again.map { $0["action"] as? String } == ["already_applied", "already_applied", "already_applied"])
            #expect(try await redisCLI(server, ["DEBUG", "DIGEST"]) == digest, "the second migrate changed the data")

            let status = try jsonObject(
                try await CLI.run(["migrate", "status", "--format", "json"], environment: env).stdout)
            #expect((status["pending"] as? [Int]) == [] && status["schema_version"] as? Int == 2)
            let doctor = try await CLI.run(["doctor"], environment: env)
            #expect(
                doctor.stdout.contains("schema version 2 (this build writes 2); no pending migrations"),
                "\(doctor.stdout)")
        }
    }

    @Test("a migrate killed mid-scan resumes from its checkpoint and ends with exact totals")
    func interruptedMigration() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "kill"]
            let seeded = try await seed(
                server, #"[{"op": "generate", "users": 150, "cycles": ["2025-08-01", "2025-09-01"], "seed": 3}]"#)
            #expect(seeded.count == 300)

            // 5 keys per batch and at least 100 ms between batches: from 60 keys done to all 300
            // takes at least 4.8 s, a window a loaded machine cannot miss.
            let running = try CLI.start(
                ["migrate", "--batch-size", "5", "--pause-ms", "100", "--lock-ttl", "1", "--format", "json"],
                environment: env)
            let watcher = try await RedisConnection.connect(configuration: server.configuration)
            let progress = { () async throws -> Int in
                Int(try await watcher.send(RedisCommand("HGET", "kill:{global}:migration:2", "keys")).string ?? "") ?? 0
            }
            #expect(try await waitUntil { try await progress() >= 60 || !running.process.isRunning })
            #expect(running.process.isRunning, "migrate finished before it could be killed")
            kill(running.process.processIdentifier, SIGKILL)
            _ = await running.finish()
            let done = try await progress()
            await watcher.close()
            #expect(done >= 60 && done < 300, "killed after \(done) keys")

            let status = try jsonObject(
                try await CLI.run(["migrate", "status", "--format", "json"], environment: env).stdout)
            let states = try #require(status["migrations"] as? [[String: Any]])
            #expect(states.map { $0["status"] as? String } == ["applied", "in_progress", "pending"])
            #expect((status["pending"] as? [Int]) == [2, 3])

            // The killed run's lock expires (its TTL is 1 s) before a new run can take over.
            #expect(
                try await waitUntil {
                    try await redisCLI(server, ["EXISTS", "kill:{global}:lock:migrate"]) == "(integer) 0"
                })
            let resumed = try await CLI.run(["migrate", "--format", "json", "--batch-size", "50"], environment: env)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(resumed.stderr.contains("resuming from SCAN cursor"), "\(resumed.stderr)")
            let steps = try #require(try jsonObject(resumed.stdout)["steps"] as? [[String: Any]])
            #expect(steps.map { $0["action"] as? String } == ["already_applied", "applied", "applied"])
            let counts = try #require(steps[1]["counts"] as? [String: Int])
            // A kill between a batch's import and its checkpoint leaves that batch (at most 5 keys, the
            // killed run's batch size) to be seen again as duplicates; the totals below prove that
            // every key counts exactly once.
            #expect(counts["imported", default: 0] + counts["duplicates", default: 0] == 300, "\(counts)")
            #expect(counts["duplicates", default: 0] <= 5, "\(counts)")
            try await expectReportsMatch(seeded, env: env)
            #expect(try await redisCLI(server, ["EXISTS", "kill:{global}:migration:2"]) == "(integer) 0")
        }
    }

    @Test("rollover: concurrent runs close each user once, a rerun closes nothing, bad --now is exit 65")
    func rollover() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "roll"]
            for index in 0..<12 {
                let result = try await CLI.run(
                    [
                        "record", "user\(index)", "--input", String(100 + index), "--output", "10", "--cycle",
                        "2026-01-01",
                    ],
                    environment: env)
                #expect(result.status == 0, "\(result.stderr)")
            }
            let dry = try await CLI.run(["rollover", "--now", "2026-02-01T00:30:00Z", "--dry-run"], environment: env)
            #expect(dry.status == 0 && dry.stdout.contains("dry run"), "\(dry.stdout) \(dry.stderr)")
            #expect(try await redisCLI(server, ["EXISTS", "roll:{global}:history:2026-01-01"]) == "(integer) 0")

            let runs = try (0..<3).map { _ in
                try CLI.start(
                    ["rollover", "--now", "2026-02-01T00:30:00Z", "--format", "json", "--batch-size", "2"],
                    environment: env)
            }
            var users = 0
            var tokens = 0
            for running in runs {
                let result = await running.finish()
                #expect(result.status == 0, "\(result.stderr)")
                let object = try jsonObject(result.stdout)
                for closed in object["closed"] as? [[String: Any]] ?? [] {
                    users += closed["users"] as? Int ?? 0
                    tokens += closed["total_tokens"] as? Int ?? 0
                }
            }
            #expect(users == 12 && tokens == (0..<12).reduce(0) { $0 + 110 + $1 })
            #expect(
                try await redisCLI(
                    server, ["--raw", "HGET", "roll:{global}:history-totals:2026-01-01", "total_tokens"])
                    == String(tokens))
            let rerun = try jsonObject(
                try await CLI.run(["rollover", "--now", "2026-02-03T00:30:00Z", "--format", "json"], environment: env)
                    .stdout)
            #expect((rerun["closed"] as? [Any])?.isEmpty == true && rerun["locked"] as? Bool == false)
            let bad = try await CLI.run(["rollover", "--now", "yesterday"], environment: env)
            #expect(bad.status == 65 && bad.stderr.contains("--now"), "\(bad.stderr)")
        }
    }

    @Test("report --format html renders in headless Chromium: the numbers appear and the chart is drawn")
    func htmlReport() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "html"]
            let calls: [[String]] = [
                ["dave", "40000", "12000", "gpt-4o"], ["erin <b>&", "9000", "1000", "claude-3-5"],
                ["frank", "1200", "34", "gpt-4o"], ["gina", "9000", "1000", "gpt-4o"],
                ["a-user-with-a-rather-long-name-of-40-chars", "500", "500", "gpt-4o"],
            ]
            for call in calls {
                let result = try await CLI.run(
                    [
                        "record", call[0], "--input", call[1], "--output", call[2], "--model", call[3], "--cycle",
                        "2026-01-01",
                    ],
                    environment: env)
                #expect(result.status == 0, "\(result.stderr)")
            }
            _ = try await CLI.run(["limit", "set", "dave", "45000"], environment: env)
            _ = try await CLI.run(["limit", "set", "frank", "100000"], environment: env)
            // 333 % over: its bar is scaled to its own limit, so it fills its row in red.
            _ = try await CLI.run(["limit", "set", "gina", "3000"], environment: env)
            _ = try await CLI.run(
                ["limit", "set", "a-user-with-a-rather-long-name-of-40-chars", "2000"], environment: env)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "html-report-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let page = directory.appendingPathComponent("report.html")
            let written = try await CLI.run(
                ["report", "--cycle", "2026-01-01", "--format", "html", "--output", page.path], environment: env)
            #expect(written.status == 0 && written.stdout.isEmpty, "\(written.stderr)")
            let html = try String(contentsOf: page, encoding: .utf8)
            #expect(
                !html.contains("src=") && !html.contains("href=") && !html.contains("@import"),
                "the page must not fetch anything")
            #expect(html.contains("erin &lt;b&gt;&amp;") && !html.contains("erin <b>"))

            let chromium = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(directory.path)/profile"]
            let dom = try await Program.run(
                "chromium", chromium + ["--dump-dom", page.absoluteString], timeout: .seconds(90))
            #expect(dom.status == 0, "chromium --dump-dom: \(dom.stderr.suffix(500))")
            for text in [
                "74,234", "59,700", "14,534", "52,000 / 45,000 (115.6 %)", "1,234 / 100,000 (1.2 %)",
                "10,000 / 3,000 (333.3 %)", "1,000 / 2,000 (50.0 %)", "10,000 (unlimited)", "gpt-4o", "claude-3-5",
                "64,234", "All 5 users against their limits", "0 (over by 7,000)", "98,766",
                ">a-user-with-a-rather-long-name-of-40-chars<",
            ] {
                #expect(dom.stdout.contains(text), "the rendered page lacks \(text)")
            }
            // Sorted by share of limit: gina 333 %, dave 116 %, the long name 50 %, frank 1 %, then
            // the unlimited erin.
            let order = ["gina", "dave", "a-user-with-a-rather-long-name-of-40-chars", "frank", "erin &lt;b&gt;&amp;"]
            let positions = order.map { dom.stdout.range(of: "data-user=\"\($0)\"")?.lowerBound }
            #expect(positions.allSatisfy { $0 != nil }, "\(positions)")
            #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted(), "chart order \(order)")
            let top = try await CLI.run(
                ["report", "--cycle", "2026-01-01", "--format", "html", "--top", "2"], environment: env)
            #expect(top.stdout.contains("Top 2 of 5 users against their limits"), "\(top.stdout.prefix(300))")
            #expect(top.stdout.components(separatedBy: "<g class=\"bar\"").count - 1 == 2)
            #expect(top.stdout.components(separatedBy: "<tr><td>").count - 1 == 2 + 2, "2 users and 2 models")
            let shot = directory.appendingPathComponent("report.png")
            let screenshot = try await Program.run(
                "chromium",
                chromium + [
                    "--screenshot=\(shot.path)", "--window-size=1000,700", "--hide-scrollbars", page.absoluteString,
                ],
                timeout: .seconds(90))
            #expect(screenshot.status == 0, "chromium --screenshot: \(screenshot.stderr.suffix(500))")
            let stats = try jsonObject(
                try await Program.run(
                    "python3",
                    [root.appendingPathComponent("scripts/png_stats.py").path, shot.path, "#3b6fd8", "#d8453b"]
                ).stdout)
            let colors = try #require(stats["colors"] as? [String: Int])
            #expect(stats["width"] as? Int == 1000)
            #expect((stats["non_white"] as? Int ?? 0) > 20_000, "the screenshot is (nearly) blank: \(stats)")
            #expect((stats["distinct"] as? Int ?? 0) > 50, "\(stats)")
            #expect(
                colors["#3b6fd8", default: 0] > 500 && colors["#d8453b", default: 0] > 500, "bars not drawn: \(stats)")
        }
    }

    @Test("doctor reports persistence, scripts, schema and rollover")
    func doctor() async throws {
        var options = RedisTestServer.Options()
        options.appendOnly = true
        try await withRedisServer(options) { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "doc"]
            let before = try await CLI.run(["doctor"], environment: env)
            #expect(before.status == 0, "\(before.stderr)")
            for line in [
                "warn  schema: schema version none (this build writes 2); pending migrations: 1 schema-version, 2 import-legacy, 3 compact-call-ids",
                "ok    scripts: 29 Lua scripts load", "ok    persistence: AOF on (appendfsync everysec)",
                "ok    memory: used", "warn  rollover: has never run",
            ] {
                #expect(before.stdout.contains(line), "doctor lacks '\(line)':\n\(before.stdout)")
            }
            _ = try await CLI.run(["migrate"], environment: env)
            _ = try await CLI.run(["rollover"], environment: env)
            let after = try await CLI.run(["doctor"], environment: env)
            #expect(
                after.stdout.contains("ok    schema: schema version 2")
                    && after.stdout.contains("ok    rollover: last ran"), "\(after.stdout)")
            _ = try await redisCLI(server, ["CONFIG", "SET", "maxmemory", "1gb"])
            _ = try await redisCLI(server, ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"])
            #expect(try await CLI.run(["doctor"], environment: env).stdout.contains("warn  memory:"))
        }
    }

    @Test("docker/compose.yaml: services reference files and tokenledger commands that exist")
    func compose() async throws {
        let docker = root.appendingPathComponent("docker")
        let parsed = try await Program.run(
            "python3",
            [
                "-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
                docker.appendingPathComponent("compose.yaml").path,
            ])
        #expect(parsed.status == 0, "PyYAML: \(parsed.stderr)")
        let compose = try jsonObject(parsed.stdout)
        let services = try #require(compose["services"] as? [String: [String: Any]])
        // Without a profile: exactly these; the `cluster` profile's are checked by scripts/check_compose.py.
        #expect(
            Set(services.filter { $0.value["profiles"] == nil }.keys) == ["redis", "migrate", "serve", "rollover"])
        let clusterProfile = try await Program.run(
            "python3",
            [
                root.appendingPathComponent("scripts/check_compose.py").path,
                docker.appendingPathComponent("compose.yaml").path,
            ])
        #expect(clusterProfile.status == 0, "check_compose.py: \(clusterProfile.stderr)")
        let volumes = try #require(compose["volumes"] as? [String: Any?])

        // Redis: AOF on, data on a declared volume, a healthcheck.
        let redis = try #require(services["redis"])
        let redisCommand = try #require(redis["command"] as? [String])
        let aof = try #require(redisCommand.firstIndex(of: "--appendonly"))
        #expect(redisCommand[aof + 1] == "yes")
        #expect(redisCommand.contains("noeviction"))
        let mounts = try #require(redis["volumes"] as? [String])
        #expect(
            mounts.contains { $0.hasSuffix(":/data") && volumes.keys.contains(String($0.split(separator: ":")[0])) })
        #expect((redis["healthcheck"] as? [String: Any])?["test"] != nil)

        // The image is built from docker/Dockerfile; every COPY source exists.
        let migrate = try #require(services["migrate"])
        let build = try #require(migrate["build"] as? [String: String])
        let context = docker.appendingPathComponent(try #require(build["context"])).standardizedFileURL
        let dockerfile = context.appendingPathComponent(try #require(build["dockerfile"]))
        #expect(FileManager.default.fileExists(atPath: dockerfile.path), "\(dockerfile.path)")
        let dockerText = try String(contentsOf: dockerfile, encoding: .utf8)
        for line in dockerText.split(separator: "\n") where line.hasPrefix("COPY ") && !line.contains("--from") {
            let parts = line.split(separator: " ").map(String.init)
            for source in parts.dropFirst().dropLast() {
                #expect(
                    FileManager.default.fileExists(atPath: context.appendingPathComponent(source).path),
                    "COPY \(source)")
            }
        }
        #expect(dockerText.contains("TokenLedger_TokenLedger.resources"))
        // The service reads its OpenAPI document from its own bundle; its healthcheck uses curl.
        #expect(dockerText.contains("TokenLedger_TokenLedgerService.resources"))
        #expect(dockerText.contains(" curl"))

        // Every tokenledger command the services and the crontab run exists (its --help works).
        var commands: [[String]] = []
        for (name, service) in services where !(service["image"] as? String ?? "").hasPrefix("redis:") {
            let command = try #require(service["command"] as? [String], "\(name) has no command")
            #expect(service["image"] as? String == migrate["image"] as? String, "\(name) runs another image")
            if command[0] == "tokenledger" {
                commands.append(Array(command.dropFirst()))
            } else {
                let script = try #require(command[0].split(separator: "/").last)
                #expect(FileManager.default.fileExists(atPath: docker.appendingPathComponent(String(script)).path))
                #expect(dockerText.contains("COPY docker/\(script) \(command[0])"), "the image lacks \(command[0])")
            }
            for dependency in (service["depends_on"] as? [String: Any] ?? [:]).keys {
                #expect(services[dependency] != nil, "\(name) depends on unknown \(dependency)")
            }
        }
        let crontab = try String(contentsOf: docker.appendingPathComponent("crontab"), encoding: .utf8)
        #expect(dockerText.contains("COPY docker/crontab /etc/cron.d/tokenledger"))
        var scheduled = 0
        for line in crontab.split(separator: "\n") where !line.hasPrefix("#") && line.contains("tokenledger rollover") {
            let fields = line.split(separator: " ")
            #expect(fields.count > 6 && fields[5] == "root", "not cron.d format: \(line)")
            let words =
                line.components(separatedBy: "-- tokenledger ").last?.split(separator: ">").first?
                .split(separator: " ").map(String.init) ?? []
            commands.append(words)
            scheduled += 1
        }
        #expect(scheduled == 1)
        #expect(commands.contains { $0.first == "migrate" } && commands.contains { $0.first == "rollover" })
        #expect(commands.contains { $0.first == "serve" })
        for command in commands {
            let help = try await CLI.run(command + ["--help"])
            #expect(help.status == 0, "tokenledger \(command.joined(separator: " ")) --help: \(help.stderr)")
        }
    }
}
