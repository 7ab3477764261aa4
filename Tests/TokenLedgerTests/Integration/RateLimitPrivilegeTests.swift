import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

@Suite("Rate limits under the documented ACL users")
struct RateLimitPrivilegeTests {
    @Test(
        "the application user reserves, settles, records and releases through rate windows (user and team), but cannot set a rate limit"
    )
    func applicationUserChargesWindows() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers()
        try await withRedisServer(options) { server async throws in
            let (admin, app) = try documentedACLRepositories(server.configuration)
            _ = try await Diagnostics.loadScripts(repository: admin)
            _ = try await admin.setMembership(user: "a", team: "t", org: nil)
            try await admin.setRateLimit(scope: .user("a"), tpm: 1000, rpm: 10)
            try await admin.setRateLimit(scope: .team("t"), tpm: 1000, rpm: nil)

            #expect(try await app.reserve(user: "a", callID: "c1", tokens: 600).status == .admitted)
            #expect(try await app.check(user: "a", tokens: 500).deniedBy == .tpm)
            _ = try await app.settle(user: "a", callID: "c1", usage: UsageRecord(inputTokens: 100, outputTokens: 0))
            #expect(try await app.reserve(user: "a", callID: "c2", tokens: 800).status == .admitted)
            _ = try await app.releaseLease(user: "a", callID: "c2")
            _ = try await app.record(user: "a", callID: "c3", usage: UsageRecord(inputTokens: 50, outputTokens: 0))
            let check = try await app.check(user: "a", tokens: 0)
            #expect(check.windowTokens == 150 && check.windowRequests == 2)
            let team = try await admin.pool.send(HGET(admin.keys.scope(.team("t")).rateTokens, field: ""))
            #expect(team == "150")

            // Refused inside the loaded script: a permission error.
            await #expect {
                try await app.setRateLimit(scope: .user("a"), tpm: 1_000_000, rpm: nil)
            } throws: { ($0 as? RedisError)?.isPermissionDenied == true }
            await #expect {
                try await app.setDefaultRateLimit(tpm: 5, rpm: nil)
            } throws: { ($0 as? RedisError)?.isPermissionDenied == true }
            #expect(try await admin.rateLimits(scope: .user("a")).tpm == 1000)
        }
    }

    @Test("doctor names an application user whose ACL lacks the rate keys (the line of before rate limits)")
    func doctorNamesMissingRateRules() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers(replacing: documentedRateRules.map { ($0, "") })
        #expect(!options.aclUsers[0].rules.contains("rate"))
        try await withRedisServer(options) { server async throws in
            let (admin, app) = try documentedACLRepositories(server.configuration)
            _ = try await Diagnostics.loadScripts(repository: admin)
            // Without a rate limit the application's calls pass: only doctor can tell.
            #expect(try await app.reserve(user: "a", callID: "c1", tokens: 10).status == .admitted)
            let permissions = try #require(
                try await Diagnostics.run(repository: app).first { $0.name == "permissions" })
            #expect(permissions.status == .fail, "\(permissions)")
            #expect(permissions.detail.contains("rate-limit keys") && permissions.detail.contains("ZADD rate"))
            #expect(permissions.detail.contains("HDEL rate-tokens") && permissions.detail.contains("ZCARD rate"))
            // The administrator (all of ~tl:*) passes the same probe.
            let adminPermissions = try await Diagnostics.run(repository: admin).first { $0.name == "permissions" }
            #expect(adminPermissions?.status == .ok, "\(String(describing: adminPermissions))")
            try await admin.setRateLimit(scope: .user("a"), tpm: 1000, rpm: nil)
            await #expect {
                _ = try await app.reserve(user: "a", callID: "c2", tokens: 10)
            } throws: { ($0 as? RedisError)?.isPermissionDenied == true }
            await app.pool.close()
            await admin.pool.close()
        }
    }

    @Test("doctor names an application user who may delete from rate-tokens but not set it, and leaves no key")
    func doctorNamesMissingRateTokensWrite() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers(replacing: [
            (" (+hset +hdel +pexpire ~tl:*:rate-tokens)", " (+hdel +pexpire ~tl:*:rate-tokens)")
        ])
        try await withRedisServer(options) { server async throws in
            let (admin, app) = try documentedACLRepositories(server.configuration)
            _ = try await Diagnostics.loadScripts(repository: admin)
            let permissions = try #require(
                try await Diagnostics.run(repository: app).first { $0.name == "permissions" })
            #expect(permissions.status == .fail, "\(permissions)")
            #expect(permissions.detail.contains("refused: HSET rate-tokens)"), "\(permissions.detail)")
            // The administrator's probe sets a field on an absent key and removes it: nothing is left.
            let adminPermissions = try await Diagnostics.run(repository: admin).first { $0.name == "permissions" }
            #expect(adminPermissions?.status == .ok, "\(String(describing: adminPermissions))")
            var cursor = "0"
            var left: [String] = []
            repeat {
                let page = try await admin.pool.send(
                    RedisCommand("SCAN", cursor, "MATCH", "*rate-tokens", "COUNT", "1000"))
                cursor = page.array?.first?.string ?? "0"
                left += page.array?.last?.array?.compactMap(\.string) ?? []
            } while cursor != "0"
            #expect(left.isEmpty, "\(left)")
            await app.pool.close()
            await admin.pool.close()
        }
    }
}
