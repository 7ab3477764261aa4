import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

@Suite("Least privilege ACL users")
struct LeastPrivilegeTests {
    @Test(
        "the documented application user records, reserves and settles, but cannot reset, change limits or leave its namespace"
    )
    func applicationUser() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers()
        #expect(options.aclUsers.map(\.name) == ["tokenledger-app", "tokenledger-admin"])
        try await withRedisServer(options) { server async throws in
            let (admin, app) = try documentedACLRepositories(server.configuration)
            try await admin.setLimit(user: "alice", tokens: 1000)
            try await admin.setDefaultLimit(5000)

            // The application may not load scripts: until the administrator does, its writes say so.
            await #expect {
                _ = try await app.record(
                    user: "alice", callID: "r0", usage: UsageRecord(inputTokens: 1, outputTokens: 1))
            } throws: {
                ($0 as? RedisError)?.code == .scriptNotLoaded && ($0 as? RedisError)?.isServerUnavailable == true
            }
            #expect(try await Diagnostics.loadScripts(repository: admin) > 10)

            // The application's whole path works.
            #expect(
                try await app.record(
                    user: "alice", callID: "r1", usage: UsageRecord(inputTokens: 10, outputTokens: 5), at: testInstant
                ).applied)
            #expect(
                try await app.reserve(user: "alice", callID: "l1", tokens: 100, at: testInstant).status == .admitted)
            #expect(try await app.check(user: "alice", tokens: 10, at: testInstant).allowed)
            #expect(
                try await app.settle(
                    user: "alice", callID: "l1", usage: UsageRecord(inputTokens: 50, outputTokens: 20), at: testInstant
                ).applied)
            #expect(try await app.reserve(user: "alice", callID: "l2", tokens: 10, at: testInstant).status == .admitted)
            #expect(try await app.release(user: "alice", callID: "l2") == 10)
            #expect(try await app.usage(user: "alice", at: testInstant).totalTokens == 85)
            #expect(try await app.limit(user: "alice").own == 1000)

            // Refused directly (NOPERM) and inside a loaded script ("the user executing the script can't …"):
            // both are permission errors.
            func isPermissionError(_ error: any Error) -> Bool { (error as? RedisError)?.isPermissionDenied == true }
            let events = try await admin.events(user: "alice").count
            await #expect { _ = try await app.reset(user: "alice", at: testInstant) } throws: { isPermissionError($0) }
            await #expect { try await app.setLimit(user: "alice", tokens: 1_000_000) } throws: { isPermissionError($0) }
            await #expect { try await app.clearLimit(user: "alice") } throws: { isPermissionError($0) }
            await #expect { try await app.setDefaultLimit(nil) } throws: { isPermissionError($0) }
            await #expect {
                try await app.setCyclePolicy(user: "alice", policy: try BillingCyclePolicy(periodName: "weekly"))
            } throws: { isPermissionError($0) }
            await #expect { _ = try await app.pool.send(RedisCommand("GET", "other:{alice}:profile")) } throws: {
                isPermissionError($0)
            }
            await #expect {
                _ = try await app.pool.send(RedisCommand("HGETALL", "other:{alice}:cycle:2026-01-01"))
            } throws: { isPermissionError($0) }
            await #expect { _ = try await app.pool.send(RedisCommand("FLUSHALL")) } throws: { isPermissionError($0) }
            // Nothing the refused calls tried changed anything (reset wrote no audit event either).
            #expect(try await admin.usage(user: "alice", at: testInstant).totalTokens == 85)
            #expect(try await admin.limit(user: "alice").own == 1000)
            #expect(try await admin.settings(fresh: true).defaultLimit == 5000)
            #expect(try await admin.events(user: "alice").count == events)

            // doctor tells the two roles apart with probes that change nothing.
            let before = try await snapshot(admin)
            let appChecks = try await Diagnostics.run(repository: app)
            let adminChecks = try await Diagnostics.run(repository: admin)
            #expect(try await snapshot(admin) == before)
            let appPermissions = try #require(appChecks.first { $0.name == "permissions" })
            #expect(
                appPermissions.status == .ok && appPermissions.detail.contains("application")
                    && appPermissions.detail.contains("tokenledger-app"))
            #expect(appChecks.first { $0.name == "key access" }?.status == .ok)
            #expect(adminChecks.first { $0.name == "permissions" }?.detail.contains("administrator") == true)

            // A late call by the application: counted and kept pending (the history is the
            // administrator's), and the administrator's rollover amends the history with it.
            _ = try await admin.record(
                user: "bob", callID: "b1", usage: UsageRecord(inputTokens: 100, outputTokens: 0),
                at: at("2026-09-10T00:00:00Z"))
            _ = try await Rollover(repository: admin).run(
                try RolloverOptions(now: at("2026-10-02T00:00:00Z"), retentionMonths: 0, dedupeWindowDays: 3650))
            let late = try await app.record(
                user: "bob", callID: "b2", usage: UsageRecord(inputTokens: 999, outputTokens: 0),
                at: at("2026-09-20T00:00:00Z"))
            #expect(late.applied && late.amendsHistory && late.totalTokens == 1099)
            #expect(try await Rollover(repository: admin).history(cycle: date("2026-09-01")).totals.totalTokens == 100)
            let amend = try await Rollover(repository: admin).run(
                try RolloverOptions(now: at("2026-10-02T00:00:00Z"), retentionMonths: 0, dedupeWindowDays: 3650))
            #expect(amend.amendedCalls == 1)
            #expect(try await Rollover(repository: admin).history(cycle: date("2026-09-01")).totals.totalTokens == 1099)

            // The administrator can.
            #expect(try await admin.reset(user: "alice", at: testInstant).totalTokens == 85)
            #expect(try await admin.report(at: testInstant).users.isEmpty)
            await app.pool.close()
            await admin.pool.close()
        }
    }

    @Test(
        "the documented application user gets NOPERM for raw writes outside its counters, for EVAL, SCRIPT LOAD, FUNCTION and the administrator's scripts"
    )
    func rawCommandsAndScripts() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers()
        try await withRedisServer(options) { server async throws in
            let (admin, app) = try documentedACLRepositories(server.configuration)
            _ = try await Diagnostics.loadScripts(repository: admin)
            try await admin.setLimit(user: "victim", tokens: 1000)
            _ = try await app.record(
                user: "victim", callID: "r1", usage: UsageRecord(inputTokens: 100, outputTokens: 0))
            let keys = try admin.keys.user("victim")
            let cycle = try await app.usage(user: "victim").cycle
            let cycleKey = keys.cycle(cycle)
            let history = "tl:{global}:history:\(cycle)"

            func refused(_ command: RedisCommand) async {
                do {
                    _ = try await app.pool.send(command)
                    Issue.record("not refused: \(String(decoding: command.wireArguments, as: UTF8.self))")
                } catch let error as RedisError {
                    #expect(
                        error.serverCode == "NOPERM" && error.isPermissionDenied
                            && error.message.contains("permission denied"), "\(error)")
                } catch {
                    Issue.record(error)
                }
            }
            // No deletes at all; no writes to limits, policies, settings, schema or history; writes
            // commands only on the key kinds the scripts write with them.
            for key in [cycleKey, keys.calls(cycle), keys.reserved, keys.leases, keys.profile, keys.events, history] {
                await refused(RedisCommand("DEL", key))
                await refused(RedisCommand("UNLINK", key))
            }
            await refused(RedisCommand("HSET", keys.profile, "limit", 1_000_000_000))
            await refused(RedisCommand("HINCRBY", keys.profile, "limit", 1_000_000))
            await refused(RedisCommand("HDEL", keys.profile, "limit"))
            await refused(RedisCommand("HSET", "tl:{global}:config", "default_limit", 1))
            await refused(RedisCommand("SET", "tl:{global}:schema", 0))
            await refused(RedisCommand("HSET", history, "victim", "{}"))
            await refused(RedisCommand("HINCRBY", "tl:{global}:history-totals:\(cycle)", "total_tokens", -100))
            await refused(RedisCommand("DECRBY", cycleKey, 1))
            await refused(RedisCommand("HSET", keys.reserved, "x", 1))
            await refused(RedisCommand("SET", keys.reserved, -5))
            await refused(RedisCommand("HDEL", cycleKey, "input_tokens"))
            await refused(RedisCommand("XTRIM", keys.events, "MAXLEN", 0))
            await refused(RedisCommand("DECRBY", "other:{victim}:reserved", 5))
            await refused(RedisCommand("EVAL", "return redis.call('HSET', KEYS[1], 'limit', 1)", 1, keys.profile))
            await refused(RedisCommand("EVAL", "return 1", 0))
            await refused(RedisCommand("SCRIPT", "LOAD", "return 1"))
            await refused(RedisCommand("SCRIPT", "FLUSH"))
            await refused(
                RedisCommand("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f', function() return 1 end)"))
            await refused(RedisCommand("KEYS", "*"))
            await refused(RedisCommand("CONFIG", "SET", "maxmemory", "1"))

            // The administrator's loaded scripts, run by the application with the real keys, are
            // refused by the ACL inside the script: reset, limits, history, retention.
            let scripts = try Diagnostics.allScripts(admin)
            func refusedScript(_ name: String, keys scriptKeys: [String], _ arguments: [String]) async {
                do {
                    _ = try await app.pool.evaluate(scripts[name]!, keys: scriptKeys, arguments: arguments)
                    Issue.record("\(name).lua was not refused")
                } catch {
                    #expect((error as? RedisError)?.isPermissionDenied == true, "\(name).lua: \(error)")
                }
            }
            await refusedScript(
                "reset", keys: [cycleKey, keys.events, keys.profile], ["victim", cycle.description, "app"])
            await refusedScript("profile", keys: [keys.profile], ["limit", "1000000000"])
            await refusedScript(
                "config", keys: ["tl:{global}:config", "tl:{global}:schema"], ["default_limit", "1", "1"])
            await refusedScript(
                "retention", keys: [cycleKey, keys.calls(cycle), keys.profile, keys.late(cycle)], [cycle.description])
            let adjustment =
                #"{"at":1,"cache_write_tokens":0,"cached_input_tokens":0,"call_id":"x","input_tokens":1,"model":"","output_tokens":0,"reasoning_tokens":0}"#
            // The application may read summaries (usage of a folded cycle), so give the script one to amend:
            // its writes are refused.
            _ = try await admin.pool.send(
                RedisCommand("HSET", history, "victim", #"{"c":0,"e":31,"i":1,"n":1}"#))
            await refusedScript(
                "history_adjust",
                keys: [history, "tl:{global}:history-totals:\(cycle)", "tl:{global}:history-adjustments:\(cycle)"],
                ["victim", "x", adjustment])
            await refusedScript("late_done", keys: [keys.late(cycle)], ["x"])
            await refusedScript(
                "history", keys: [history, "tl:{global}:history-totals:\(cycle)", "tl:{global}:history-cycles"],
                [cycle.description, "1", "victim", "{}"])
            #expect(try await admin.usage(user: "victim").totalTokens == 100)
            #expect(try await admin.limit(user: "victim").own == 1000)
            #expect(try await admin.events(user: "victim").isEmpty)

            // What Redis ACLs cannot refuse (docs/operations.md): the commands the application's own
            // scripts write its counters with. A raw DECRBY of reserved is then refused by every
            // script, naming the key, instead of admitting a reservation over the limit.
            #expect(try await app.pool.send(RedisCommand("DECRBY", keys.reserved, 1_000_000)).int == -1_000_000)
            await #expect { _ = try await app.reserve(user: "victim", callID: "big", tokens: 50_000) } throws: {
                error in
                let error = try #require(error as? LedgerError)
                return error.code == .corruptData && error.message.contains("\(keys.reserved) holds -1000000")
                    && error.message.contains("stored value is corrupt")
            }
            await #expect { _ = try await app.check(user: "victim", tokens: 1) } throws: {
                ($0 as? LedgerError)?.code == .corruptData
            }
            #expect(try await admin.pool.send(RedisCommand("HLEN", keys.leases)).int == 0)
            #expect(try await admin.pool.send(RedisCommand("GET", keys.reserved)).string == "-1000000")
            await app.pool.close()
            await admin.pool.close()
        }
    }

    @Test(
        "API keys: the application user authenticates (HGET of one record) but cannot list, create, revoke or write either key hash"
    )
    func apiKeys() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers()
        try await withRedisServer(options) { server async throws in
            let (admin, app) = try documentedACLRepositories(server.configuration)
            let adminKeys = try APIKeyStore(pool: admin.pool, namespace: "tl")
            let appKeys = try APIKeyStore(pool: app.pool, namespace: "tl")
            _ = try await Diagnostics.loadScripts(repository: admin)

            // The administrator manages keys; the application (what the service runs as) authenticates.
            let created = try await adminKeys.create(name: "svc", role: .app)
            #expect(try await appKeys.authenticate(secret: created.secret)?.name == "svc")
            #expect(try await appKeys.authenticate(secret: APIKeySecret.generate().text) == nil)

            func isPermissionError(_ error: any Error) -> Bool { (error as? RedisError)?.isPermissionDenied == true }
            await #expect { _ = try await appKeys.create(name: "mine", role: .admin) } throws: { isPermissionError($0) }
            await #expect { _ = try await appKeys.revoke(name: "svc") } throws: { isPermissionError($0) }
            await #expect { _ = try await appKeys.list() } throws: { isPermissionError($0) }
            let keyID = try #require(APIKeySecret(parsing: created.secret)).keyID
            let record = try #require(try await admin.pool.send(HGET(adminKeys.keys.apiKeys, field: keyID)))
            for command in [
                RedisCommand("HSET", adminKeys.keys.apiKeys, "0123456789abcdef", record),
                RedisCommand("HSETNX", adminKeys.keys.apiKeys, "0123456789abcdef", record),
                RedisCommand("HDEL", adminKeys.keys.apiKeys, keyID),
                RedisCommand("DEL", adminKeys.keys.apiKeys),
                RedisCommand("HGETALL", adminKeys.keys.apiKeys),
                RedisCommand("HGET", adminKeys.keys.apiKeyNames, "svc"),
                RedisCommand("HSET", adminKeys.keys.apiKeyNames, "mine", keyID),
                RedisCommand("HDEL", adminKeys.keys.apiKeyNames, "svc"),
            ] {
                await #expect {
                    _ = try await app.pool.send(command)
                } throws: { isPermissionError($0) }
            }
            // The key scripts, loaded by the administrator and run by the application with the
            // real keys, are refused inside the script before any write.
            let scripts = try Diagnostics.allScripts(admin)
            let keyHashes = [adminKeys.keys.apiKeys, adminKeys.keys.apiKeyNames]
            await #expect {
                _ = try await app.pool.evaluate(
                    scripts["apikey_create"]!, keys: keyHashes, arguments: ["x", "00", "{}"])
            } throws: { isPermissionError($0) }
            await #expect {
                _ = try await app.pool.evaluate(scripts["apikey_revoke"]!, keys: keyHashes, arguments: ["svc"])
            } throws: { isPermissionError($0) }
            // Nothing changed: one key, still working.
            #expect(try await adminKeys.list().map(\.name) == ["svc"])
            #expect(try await appKeys.authenticate(secret: created.secret)?.role == .app)
            #expect(try await adminKeys.revoke(name: "svc"))
            #expect(try await appKeys.authenticate(secret: created.secret) == nil)

            // doctor says whether the user may authenticate keys (what the service needs).
            #expect(try await Diagnostics.run(repository: app).first { $0.name == "api keys" }?.status == .ok)
            #expect(try await Diagnostics.run(repository: admin).first { $0.name == "api keys" }?.status == .ok)
            await app.pool.close()
            await admin.pool.close()
        }
    }

    @Test(
        "an application user with the ACL line of before API keys: authenticating is refused, and doctor warns naming the rule to add"
    )
    func applicationUserWithoutKeyAccess() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers().map { user in
            (
                name: user.name, password: user.password,
                rules: user.rules.replacingOccurrences(of: " (+hget %R~tl:{global}:apikeys)", with: "")
            )
        }
        #expect(!options.aclUsers[0].rules.contains("apikeys"))
        try await withRedisServer(options) { server async throws in
            let (admin, app) = try documentedACLRepositories(server.configuration)
            _ = try await Diagnostics.loadScripts(repository: admin)
            let created = try await APIKeyStore(pool: admin.pool, namespace: "tl").create(name: "svc", role: .app)
            await #expect {
                _ = try await APIKeyStore(pool: app.pool, namespace: "tl").authenticate(secret: created.secret)
            } throws: { ($0 as? RedisError)?.isPermissionDenied == true }
            let check = try #require(try await Diagnostics.run(repository: app).first { $0.name == "api keys" })
            #expect(check.status == .warn && check.detail.contains("(+hget %R~tl:{global}:apikeys)"), "\(check)")
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
                        context: LLMCallContext(user: "u"), messages: [ChatMessage(role: "user", content: "hi")],
                        maxOutputTokens: 5
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
