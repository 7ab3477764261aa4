import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@Suite("Scopes on a Redis Cluster")
struct ClusterScopeTests {
    @Test("2,000 concurrent reservations by 50 users of one team on a cluster: the team never passes its limit")
    func concurrentTeamOnCluster() async throws {
        let cluster = try await RedisTestCluster.shared()
        let pool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: cluster.seedURL),
            options: .init(maximumConnections: 8, waitTimeout: .seconds(300)))
        do {
            let repository = try TokenRepository(
                pool: pool,
                configuration: try LedgerConfiguration(
                    namespace: uniqueNamespace("cluster-scopes"), settingsCacheTTL: .zero))
            try await concurrentTeamReservations(repository)
            await pool.close()
        } catch {
            await pool.close()
            throw error
        }
    }
}
