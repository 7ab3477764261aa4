import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import RedisClient
import Synchronization
import TokenLedger

extension TokenLedgerServer {
    /// The role a route needs (`open` routes need no key).
    static func role(for access: Access) -> APIKeyRole? {
        switch access {
        case .open: nil
        case .app: .app
        case .read: .read
        case .admin: .admin
        }
    }

    /// Checks `Authorization: Bearer <secret>` against the key store: 401 (with
    /// `WWW-Authenticate: Bearer`) for no key or an unknown or revoked one, 403 when the key's role
    /// does not permit the route. The secret is never logged nor put in a problem.
    ///
    /// Every request asks Redis, so a revoked key stops working at once. Only while Redis cannot
    /// be reached, a key that authenticated in this process before is still accepted (a revocation
    /// needs Redis too), so records can be spooled (202) instead of refused.
    func authorize(_ request: Request, access: Access) async throws {
        guard let required = Self.role(for: access) else { return }
        guard let header = request.headers[.authorization] else {
            throw ServiceError(.unauthorized, "no API key: send Authorization: Bearer <key>")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw ServiceError(.unauthorized, "the Authorization header must be Bearer <key>")
        }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        let digest = Self.digest(secret)
        let key: APIKey
        do {
            guard let found = try await keyStore.authenticate(secret: secret) else {
                authenticated.withLock { _ = $0.removeValue(forKey: digest) }
                throw ServiceError(.unauthorized, "unknown or revoked API key")
            }
            key = found
            authenticated.withLock { cache in
                if cache.count >= Self.authenticatedCacheSize { cache.removeAll() }
                cache[digest] = found
            }
        } catch let error where ErrorCategory.of(error) == .unavailable {
            guard let known = authenticated.withLock({ $0[digest] }) else { throw error }
            key = known
        }
        guard key.role.permits(required) else {
            throw ServiceError(
                .forbidden,
                "API key \(String(reflecting: key.name)) has role \(key.role.rawValue); this needs \(required.rawValue)"
            )
        }
    }

    /// The most keys remembered for authentication while Redis is down.
    static let authenticatedCacheSize = 1024

    /// The SHA-256 of a secret: what the in-memory fallback is keyed by (never the secret).
    static func digest(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(secret.utf8)))
    }
}
