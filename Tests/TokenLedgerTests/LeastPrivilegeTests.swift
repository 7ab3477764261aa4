import Foundation
import RedisClient
import RedisTestSupport
import TokenLedger
import Testing

/// The ACL lines documented in docs/operations.md (the ```acl block), with test passwords.
private func documentedUsers() throws -> [(name: String, password: String, rules: String)] {
    let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/operations.md")
    let text = try String(contentsOf: docs, encoding: .utf8)
    let block = try #require(text.components(separatedBy: "```acl\n").dropFirst().first?.components(separatedBy: "```").first)
    return block.split(separator: "\n").map { line in
        let words = line.split(separator: " ").map(String.init)
        // user NAME on >PASSWORD rules…
        let password = words[3] == ">APP_PASSWORD" ? "app-secret" : "admin-secret"
        return (name: words[1], password: password, rules: words[4...].joined(separator: " "))
    }
}

@Suite("Least privilege ACL users")
struct LeastPrivilegeTests {
    @Test("the documented application user records, reserves and settles, but cannot reset, change limits or leave its namespace")
    func applicationUser() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedUsers()
        #expect(options.aclUsers.map(\.name) == ["tokenledger-app", "tokenledger-admin"])
        try await withRedisServer(options) { server async throws in
            func repository(_ user: String, _ password: String) throws -> TokenRepository {
                var configuration = server.configuration
                configuration.username = user
                configuration.password = password
                return try TokenRepository(
                    pool: RedisConnectionPool(configuration: configuration),
                    configuration: try LedgerConfiguration(namespace: "tl", settingsCacheTTL: .zero))
            }
            let admin = try repository("tokenledger-admin", "admin-secret")
            let app = try repository("tokenledger-app", "app-secret")
            try await admin.setLimit(user: "alice", tokens: 1000)
            try await admin.setDefaultLimit(5000)

            // The application's whole path works.
            #expect(try await app.record(user: "alice", callID: "r1", usage: UsageRecord(inputTokens: 10, outputTokens: 5)).applied)
            #expect(try await app.reserve(user: "alice", callID: "l1", tokens: 100).status == .admitted)
            #expect(try await app.check(user: "alice", tokens: 10).allowed)
            #expect(try await app.settle(user: "alice", callID: "l1", usage: UsageRecord(inputTokens: 50, outputTokens: 20)).applied)
            #expect(try await app.reserve(user: "alice", callID: "l2", tokens: 10).status == .admitted)
            #expect(try await app.release(user: "alice", callID: "l2") == 10)
            #expect(try await app.usage(user: "alice").totalTokens == 85)

            // Refused directly: NOPERM; refused inside a script: "the user executing the script can't …".
            func isPermissionError(_ error: any Error) -> Bool {
                let text = "\(error)"
                return text.contains("NOPERM") || text.contains("executing the script can't")
            }
            // … but not the administrator's.
            await #expect { _ = try await app.reset(user: "alice") } throws: { isPermissionError($0) }
            await #expect { try await app.setLimit(user: "alice", tokens: 1_000_000) } throws: { isPermissionError($0) }
            await #expect { try await app.setDefaultLimit(nil) } throws: { isPermissionError($0) }
            await #expect { _ = try await app.pool.send(RedisCommand("GET", "other:{alice}:profile")) } throws: { isPermissionError($0) }
            await #expect { _ = try await app.pool.send(RedisCommand("HGETALL", "other:{alice}:cycle:2026-01-01")) } throws: { isPermissionError($0) }
            await #expect { _ = try await app.pool.send(RedisCommand("FLUSHALL")) } throws: { isPermissionError($0) }
            // Nothing the refused calls tried changed anything.
            #expect(try await admin.usage(user: "alice").totalTokens == 85)
            #expect(try await admin.limit(user: "alice").own == 1000)

            // doctor tells the two roles apart with probes that change nothing.
            let before = try await snapshot(admin)
            let appChecks = try await Diagnostics.run(repository: app)
            let adminChecks = try await Diagnostics.run(repository: admin)
            #expect(try await snapshot(admin) == before)
            let appPermissions = try #require(appChecks.first { $0.name == "permissions" })
            #expect(appPermissions.status == .ok && appPermissions.detail.contains("application") && appPermissions.detail.contains("tokenledger-app"))
            #expect(appChecks.first { $0.name == "key access" }?.status == .ok)
            #expect(adminChecks.first { $0.name == "permissions" }?.detail.contains("administrator") == true)

            // A late call by the application: counted and kept pending (the history is the
            // administrator's), and the administrator's rollover amends the history with it.
            _ = try await admin.record(
                user: "bob", callID: "b1", usage: UsageRecord(inputTokens: 100, outputTokens: 0), at: at("2026-09-10T00:00:00Z"))
            _ = try await Rollover(repository: admin).run(try RolloverOptions(now: at("2026-10-02T00:00:00Z"), retentionMonths: 0))
            let late = try await app.record(
                user: "bob", callID: "b2", usage: UsageRecord(inputTokens: 999, outputTokens: 0), at: at("2026-09-20T00:00:00Z"))
            #expect(late.applied && late.amendsHistory && late.totalTokens == 1099)
            #expect(try await Rollover(repository: admin).history(cycle: date("2026-09-01")).totals.totalTokens == 100)
            let amend = try await Rollover(repository: admin).run(try RolloverOptions(now: at("2026-10-02T00:00:00Z"), retentionMonths: 0))
            #expect(amend.amendedCalls == 1)
            #expect(try await Rollover(repository: admin).history(cycle: date("2026-09-01")).totals.totalTokens == 1099)

            // The administrator can.
            #expect(try await admin.reset(user: "alice").totalTokens == 85)
            #expect(try await admin.report().users.isEmpty)
            await app.pool.close()
            await admin.pool.close()
        }
    }

    @Test("a user without script permissions gets the permission error from the quota guard, whatever its policy")
    func guardSurfacesPermissionErrors() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = [(name: "nobody", password: "pw", rules: "resetchannels -@all +ping +hmget ~*")]
        try await withRedisServer(options) { server async throws in
            var configuration = server.configuration
            configuration.username = "nobody"
            configuration.password = "pw"
            let pool = RedisConnectionPool(configuration: configuration)
            let repository = try TokenRepository(pool: pool)
            for policy in QuotaGuard.UnavailablePolicy.allCases {
                let guardian = QuotaGuard(repository: repository, counting: .heuristic, whenUnavailable: policy)
                let ran = Locked(false)
                await #expect {
                    _ = try await guardian.run(
                        context: LLMCallContext(user: "u"), messages: [ChatMessage(role: "user", content: "hi")], maxOutputTokens: 5
                    ) {
                        ran.withLock { $0 = true }
                        return (1, UsageRecord(inputTokens: 1, outputTokens: 1))
                    }
                } throws: { error in
                    (error as? RedisError)?.serverCode == "NOPERM"
                }
                #expect(!ran.withLock { $0 }, "\(policy) ran the call")
            }
            await pool.close()
        }
    }

    @Test("doctor warns when the user is not confined to the namespace (the default user)")
    func unconfinedUser() async throws {
        try await withRepository { repository async throws in
            let checks = try await Diagnostics.run(repository: repository)
            #expect(checks.first { $0.name == "key access" }?.status == .warn)
            #expect(checks.first { $0.name == "permissions" }?.status == .ok)
        }
    }
}
