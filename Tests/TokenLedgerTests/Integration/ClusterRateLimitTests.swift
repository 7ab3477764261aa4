import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@Suite("Rate limits on a Redis Cluster")
struct ClusterRateLimitTests {
    @Test(
        "a team's tpm on a cluster: 40 users (in other slots than the team) reserve concurrently; the team's window never passes its limit and denials release the users' charges"
    )
    func teamWindowOnCluster() async throws {
        let cluster = try await RedisTestCluster.shared()
        let pool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: cluster.seedURL),
            options: .init(maximumConnections: 8, waitTimeout: .seconds(300)))
        do {
            let repository = try TokenRepository(
                pool: pool,
                configuration: try LedgerConfiguration(
                    namespace: uniqueNamespace("cluster-rate"), settingsCacheTTL: .zero))
            try await repository.setRateLimit(scope: .team("t"), tpm: 5000, rpm: nil)
            for index in 0..<40 {
                _ = try await repository.setMembership(user: "u\(index)", team: "t", org: nil)
                try await repository.setRateLimit(scope: .user("u\(index)"), tpm: 100_000, rpm: nil)
            }
            let statuses = try await withThrowingTaskGroup(of: ReservationStatus.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        try await repository.reserve(user: "u\(index)", callID: "c", tokens: 300).status
                    }
                }
                return try await group.reduce(into: [ReservationStatus]()) { $0.append($1) }
            }
            // 5,000 / 300: sixteen fit in the team's window, whatever the order.
            #expect(statuses.filter { $0 == .admitted }.count == 16)
            let teamKeys = try repository.keys.scope(.team("t"))
            #expect(try await pool.send(HGET(teamKeys.rateTokens, field: "")) == "4800")
            var charged = 0
            for index in 0..<40 {
                let check = try await repository.check(user: "u\(index)", tokens: 0)
                charged += check.windowTokens
            }
            #expect(charged == 4800, "each denied user's own charge was returned")
            await pool.close()
        } catch {
            await pool.close()
            throw error
        }
    }
}
