import RedisClient
import TokenLedger

/// Repositories on namespace `tl` for the two documented ACL users of `documentedACLUsers()`
/// (docs/operations.md, Least privilege), connected with `configuration` (a server's, or a
/// cluster's seeds): the administrator and the application, each with its own pool and no settings
/// cache, so a change one makes is seen by the other at once.
func documentedACLRepositories(_ configuration: RedisConfiguration) throws -> (
    admin: TokenRepository, app: TokenRepository
) {
    func repository(_ user: String, _ password: String) throws -> TokenRepository {
        var configuration = configuration
        configuration.username = user
        configuration.password = password
        return try TokenRepository(
            pool: RedisConnectionPool(configuration: configuration),
            configuration: try LedgerConfiguration(namespace: "tl", settingsCacheTTL: .zero))
    }
    return (try repository("tokenledger-admin", "admin-secret"), try repository("tokenledger-app", "app-secret"))
}
