import Foundation
import RedisClient
import RedisTestSupport
import Testing

@Suite("CLI: permission refusals exit 77, unavailable servers 69, with a sentence")
struct PermissionCommandTests {
    @Test(
        "as the documented application user: record works, reset/limit set/cycle set exit 77, doctor works and names admin-only checks"
    )
    func applicationUser() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers()
        try await withRedisServer(options) { server async throws in
            let url = "redis://tokenledger-app@127.0.0.1:\(server.port)"
            let app = ["REDIS_URL": url, "REDIS_PASSWORD": "app-secret", "TOKENLEDGER_NAMESPACE": "tl"]
            let admin = [
                "REDIS_URL": "redis://tokenledger-admin@127.0.0.1:\(server.port)", "REDIS_PASSWORD": "admin-secret",
                "TOKENLEDGER_NAMESPACE": "tl",
            ]

            // Before the administrator loaded the scripts: unavailable, saying who must act.
            let early = try await CLI.run(["record", "alice", "--input", "1", "--output", "1"], environment: app)
            #expect(early.status == 69, "\(early.stderr)")
            #expect(early.stderr.contains("tokenledger migrate") && early.stderr.contains("administrator"))

            let migrate = try await CLI.run(["migrate"], environment: admin)
            #expect(migrate.status == 0, "\(migrate.stderr)")
            let record = try await CLI.run(["record", "alice", "--input", "10", "--output", "5"], environment: app)
            #expect(record.status == 0, "\(record.stderr)")

            for arguments in [
                ["reset", "alice", "--yes"], ["limit", "set", "alice", "5"],
                ["cycle", "set", "alice", "--period", "weekly"], ["limit", "set", "--default", "5"],
            ] {
                let refused = try await CLI.run(arguments, environment: app)
                #expect(refused.status == 77, "\(arguments): \(refused.stderr)")
                #expect(refused.stderr.contains("permission denied"), "\(arguments): \(refused.stderr)")
                #expect(
                    !refused.stderr.contains("ERR The user") && !refused.stderr.contains("RedisError"),
                    "\(refused.stderr)")
                #expect(!(refused.stdout + refused.stderr).contains("app-secret"))
            }

            // API keys are the administrator's: the application may not create, list or revoke them.
            let created = try await CLI.run(["key", "create", "svc", "--role", "app"], environment: admin)
            #expect(created.status == 0, "\(created.stderr)")
            for arguments in [
                ["key", "create", "mine", "--role", "admin"], ["key", "revoke", "svc"], ["key", "list"],
            ] {
                let refused = try await CLI.run(arguments, environment: app)
                #expect(refused.status == 77, "\(arguments): \(refused.stderr)")
                #expect(refused.stderr.contains("permission denied"), "\(arguments): \(refused.stderr)")
            }
            let keys = try await CLI.run(["key", "list", "--format", "csv"], environment: admin)
            #expect(
                keys.stdout.split(separator: "\n").map { $0.prefix { $0 != "," } } == ["name", "svc"], "\(keys.stdout)")

            let doctor = try await CLI.run(["doctor"], environment: app)
            #expect(doctor.status == 0, "stdout: \(doctor.stdout) stderr: \(doctor.stderr)")
            #expect(doctor.stdout.contains("ok    scripts:"), "\(doctor.stdout)")
            #expect(doctor.stdout.contains("needs the administrator's user"), "\(doctor.stdout)")
            #expect(doctor.stdout.contains("tokenledger-app"), "\(doctor.stdout)")
        }
    }

    @Test("a spool with a wrong password fails loudly (77) and spools nothing")
    func wrongPasswordWithSpool() async throws {
        var options = RedisTestServer.Options()
        options.requirePassword = "right-secret"
        try await withRedisServer(options) { server async throws in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "cli-perm-\(UUID().uuidString)"
            ).path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let environment = [
                "REDIS_URL": "redis://127.0.0.1:\(server.port)", "REDIS_PASSWORD": "wrong-secret",
                "TOKENLEDGER_SPOOL_DIR": directory,
            ]
            let result = try await CLI.run(["record", "u", "--input", "1", "--output", "1"], environment: environment)
            #expect(result.status == 77, "\(result.stdout) \(result.stderr)")
            #expect(!result.stdout.contains("spooled"))
            #expect(result.stderr.contains("authentication") && !result.stderr.contains("wrong-secret"))
            let status = try await CLI.run(["spool", "status", "--format", "json"], environment: environment)
            #expect(status.stdout.contains("\"events\":0"), "\(status.stdout) \(status.stderr)")
            let flush = try await CLI.run(["spool", "flush"], environment: environment)
            #expect(flush.status == 0 || flush.status == 77, "\(flush.stderr)")
        }
    }

    @Test("a read-only replica: record exits 69 saying so; doctor fails its role check naming the replica")
    func replica() async throws {
        try await withRedisServer { primary async throws in
            var options = RedisTestServer.Options()
            options.extraArguments = ["--replicaof", "127.0.0.1", String(primary.port)]
            try await withRedisServer(options) { replica async throws in
                let environment = ["REDIS_URL": "redis://127.0.0.1:\(replica.port)"]
                var linked = false
                let deadline = ContinuousClock.now + .seconds(60)
                while !linked && ContinuousClock.now < deadline {
                    let doctor = try await CLI.run(["doctor"], environment: environment)
                    linked = doctor.stdout.contains("read-only replica")
                    if linked {
                        #expect(doctor.status == 70)
                        #expect(doctor.stdout.contains("fail  role:"), "\(doctor.stdout)")
                    }
                }
                #expect(linked)
                let record = try await CLI.run(
                    ["record", "u", "--input", "1", "--output", "1"], environment: environment)
                #expect(record.status == 69, "\(record.stderr)")
                #expect(record.stderr.contains("read-only replica"), "\(record.stderr)")
            }
        }
    }

    @Test("an out-of-memory server (maxmemory, noeviction): record exits 69 saying so")
    func outOfMemory() async throws {
        var options = RedisTestServer.Options()
        options.extraArguments = ["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]
        try await withRedisServer(options) { server async throws in
            let environment = ["REDIS_URL": "redis://127.0.0.1:\(server.port)"]
            #expect(try await CLI.run(["migrate"], environment: environment).status == 0)  // loads the scripts
            let pool = RedisConnectionPool(configuration: server.configuration)
            var full = false
            for batch in 0..<400 where !full {
                let replies = try await pool.pipeline(
                    (0..<100).map { RedisCommand("SET", "fill:\(batch):\($0)", String(repeating: "x", count: 1024)) })
                full = replies.contains {
                    if case .error(let error) = $0 { return error.serverCode == "OOM" } else { return false }
                }
            }
            await pool.close()
            #expect(full)
            let record = try await CLI.run(["record", "u", "--input", "1", "--output", "1"], environment: environment)
            #expect(record.status == 69, "\(record.stderr)")
            #expect(record.stderr.contains("out of memory"), "\(record.stderr)")
        }
    }
}
