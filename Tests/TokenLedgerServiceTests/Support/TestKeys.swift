import TokenLedger
import TokenLedgerService

/// Keys with each role, made in the test's namespace through the key store the service reads.
func testKeys(server: TokenLedgerServer, namespace: String) async throws -> (app: String, read: String, admin: String) {
    let store = try APIKeyStore(pool: server.pool, namespace: namespace)
    return (
        try await store.create(name: "test-app", role: .app).secret,
        try await store.create(name: "test-read", role: .read).secret,
        try await store.create(name: "test-admin", role: .admin).secret
    )
}
