import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// The documented ACL users of docs/operations.md on a Redis Cluster: the lines as written, created
/// on every node, are enough for the application to find the cluster and record on every master,
/// and for the administrator to load the scripts on every master and report every user.
@Suite("Least privilege ACL users on a Redis Cluster")
struct ClusterLeastPrivilegeTests {
    @Test("the documented users work on a cluster: scripts loaded on every master, records routed to each, one report")
    func documentedUsersOnACluster() async throws {
        var options = RedisTestCluster.Options()
        options.node.aclUsers = try documentedACLUsers()
        try await withRedisCluster(options) { cluster async throws in
            let (admin, app) = try documentedACLRepositories(try RedisConfiguration(url: cluster.seedURL))
            // The application user may ask INFO, so auto mode finds the cluster rather than a
            // standalone server that would answer MOVED.
            #expect(try await app.pool.mode() == .cluster)

            // One user on each master (user keys are tl:{user}:…, so the user id is the hash tag).
            let masters = try await cluster.topology().filter { $0.role == .master }
            #expect(masters.count == 3)
            let users = masters.enumerated().map { index, master in master.hashTag(prefix: "user\(index)-")! }
            for user in users { try await admin.setLimit(user: user, tokens: 1000) }

            // Loaded by the administrator on every master: the application's EVALSHA finds them
            // wherever its user's slot is (it may not load a script itself).
            #expect(try await Diagnostics.loadScripts(repository: admin) > 10)
            for (index, user) in users.enumerated() {
                let result = try await app.record(
                    user: user, callID: "c\(index)", usage: UsageRecord(inputTokens: 10 * (index + 1), outputTokens: 1),
                    at: testInstant)
                #expect(result.applied)
            }
            for (index, user) in users.enumerated() {
                #expect(try await app.usage(user: user, at: testInstant).totalTokens == 10 * (index + 1) + 1)
                #expect(
                    try await app.reserve(user: user, callID: "l\(index)", tokens: 5, at: testInstant).status
                        == .admitted)
            }

            // The administrator's report reads the index and every user's counters across masters.
            let report = try await admin.report(at: testInstant)
            #expect(report.users.map(\.user).sorted() == users.sorted())
            #expect(report.totals.counts.totalTokens == 10 + 20 + 30 + 3)

            // API keys: the administrator creates one on the {global} slot's master; the
            // application authenticates with it there, and may not revoke it.
            let created = try await APIKeyStore(pool: admin.pool, namespace: "tl").create(name: "svc", role: .read)
            let appKeys = try APIKeyStore(pool: app.pool, namespace: "tl")
            #expect(try await appKeys.authenticate(secret: created.secret)?.role == .read)
            await #expect { _ = try await appKeys.revoke(name: "svc") } throws: {
                ($0 as? RedisError)?.isPermissionDenied == true
            }
        }
    }

    @Test(
        "the cluster doctor names an application user whose ACL lacks the rate keys; the administrator passes on every master"
    )
    func clusterDoctorNamesMissingRateRules() async throws {
        var options = RedisTestCluster.Options()
        options.node.aclUsers = try documentedACLUsers(replacing: documentedRateRules.map { ($0, "") })
        // A third user with the application's line (without the rate rules) that may also read the
        // cluster's state, so doctor probes it on every master.
        let appLine = try #require(options.node.aclUsers.first { $0.name == "tokenledger-app" })
        options.node.aclUsers.append(
            (name: "tokenledger-ops", password: "ops-secret", rules: appLine.rules + " +cluster|info"))
        try await withRedisCluster(options) { cluster async throws in
            let seeds = try RedisConfiguration(url: cluster.seedURL)
            let (admin, app) = try documentedACLRepositories(seeds)
            var opsConfiguration = seeds
            opsConfiguration.username = "tokenledger-ops"
            opsConfiguration.password = "ops-secret"
            let ops = try TokenRepository(
                pool: RedisConnectionPool(configuration: opsConfiguration),
                configuration: try LedgerConfiguration(namespace: "tl", settingsCacheTTL: .zero))
            #expect(try await Diagnostics.loadScripts(repository: admin) > 10)
            // The application may not read the cluster's state: its probes go through the routing client.
            let report = try #require(try await Diagnostics.cluster(repository: app))
            let permissions = try #require(report.checks.first { $0.name == "permissions" })
            #expect(permissions.status == .fail, "\(report.checks)")
            #expect(permissions.detail.contains("ZADD rate"), "\(permissions.detail)")
            // A user that may read the cluster's state is probed on every master, rate keys included.
            func nodePermissions(_ repository: TokenRepository) async throws -> [Diagnostics.Check] {
                let report = try #require(try await Diagnostics.cluster(repository: repository))
                return report.nodes.compactMap { node in node.checks.first { $0.name == "permissions" } }
            }
            let opsProbes = try await nodePermissions(ops)
            #expect(opsProbes.count == 3, "\(opsProbes)")
            for probe in opsProbes {
                #expect(probe.status == .fail && probe.detail.contains("HDEL rate-tokens"), "\(probe)")
            }
            let adminProbes = try await nodePermissions(admin)
            #expect(adminProbes.count == 3 && adminProbes.allSatisfy { $0.status == .ok }, "\(adminProbes)")
            for repository in [app, ops, admin] { await repository.pool.close() }
        }
    }
}
