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
    /// Every request asks Redis (one `HGET`, sent through the recorder's pipeline with other
    /// requests'), so a revoked key stops working at its next request. One exception
    /// keeps the spool's promise (a record answered within `recordTimeout`, 202 when Redis cannot
    /// take it): on a spoolable route (record, settle) with a spool configured, the lookup is bound
    /// by `recordTimeout`, and when Redis cannot answer it in time, a key that Redis confirmed to
    /// this process within the last ``rememberedKeyLifetime`` is accepted. Every other route, and
    /// every route without a spool, answers 503 when Redis cannot confirm the key.
    ///
    /// - Returns: The key that was accepted (its name, role and default user); `nil` for an open route.
    @discardableResult
    func authorize(_ request: Request, access: Access, spoolable: Bool = false) async throws -> APIKey? {
        guard let required = Self.role(for: access) else { return nil }
        guard let header = request.headers[.authorization] else {
            throw ServiceError(.unauthorized, "no API key: send Authorization: Bearer <key>")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw ServiceError(.unauthorized, "the Authorization header must be Bearer <key>")
        }
        // Trimmed without Foundation (its NSString bridge was 3 % of the server's time per request).
        var token = parts[1]
        while let first = token.first, first.isWhitespace { token.removeFirst() }
        while let last = token.last, last.isWhitespace { token.removeLast() }
        let secret = String(token)
        let mayRemember = spoolable && recorder.spool != nil
        // Only spoolable routes with a spool remember keys (see above): others need no digest
        // (unless the key turns out unknown or revoked).
        let digest = mayRemember ? Self.digest(secret) : []
        let key: APIKey
        do {
            guard let found = try await lookUp(secret, bounded: mayRemember) else {
                // Forgotten whatever route asked: a revoked key must not be remembered.
                let forget = mayRemember ? digest : Self.digest(secret)
                authenticated.withLock { _ = $0.removeValue(forKey: forget) }
                throw ServiceError(.unauthorized, "unknown or revoked API key")
            }
            key = found
            if mayRemember {
                authenticated.withLock { cache in
                    if cache.count >= Self.authenticatedCacheSize { cache.removeAll() }
                    cache[digest] = RememberedKey(key: found, confirmedAt: .now)
                }
            }
        } catch let error where mayRemember && ErrorCategory.of(error) == .unavailable {
            let remembered = authenticated.withLock { $0[digest] }
            guard let remembered, ContinuousClock.now - remembered.confirmedAt < Self.rememberedKeyLifetime else {
                throw error
            }
            key = remembered.key
        }
        guard key.role.permits(required) else {
            throw ServiceError(
                .forbidden,
                "API key \(String(reflecting: key.name)) has role \(key.role.rawValue); this needs \(required.rawValue)"
            )
        }
        return key
    }

    /// The key store's answer; with `bounded`, within `recordTimeout` (running out of time is a
    /// `timeout`, unavailable, like Redis not answering).
    private func lookUp(_ secret: String, bounded: Bool) async throws -> APIKey? {
        guard bounded else { return try await keyStore.authenticate(secret: secret) }
        let keyStore = self.keyStore
        switch await withDeadline(configuration.recordTimeout, { try await keyStore.authenticate(secret: secret) }) {
        case .value(let key): return key
        case .error(let error): throw error
        case .timedOut:
            throw RedisError(code: .timeout, message: "redis did not confirm the API key within the record bound")
        }
    }

    /// The most keys remembered for authentication while Redis is down.
    static let authenticatedCacheSize = 1024

    /// How long a key Redis confirmed is accepted by spoolable routes while Redis cannot answer:
    /// a key revoked meanwhile may record (spooled) for at most this long in this process.
    static let rememberedKeyLifetime: Duration = .seconds(60)

    /// A key Redis confirmed, and when.
    struct RememberedKey: Sendable {
        var key: APIKey
        var confirmedAt: ContinuousClock.Instant
    }

    /// The SHA-256 of a secret: what the in-memory fallback is keyed by (never the secret).
    static func digest(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(secret.utf8)))
    }
}
