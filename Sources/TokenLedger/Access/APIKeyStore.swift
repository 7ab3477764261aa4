import Foundation
import RedisClient

/// The API keys of `tokenledger serve`: created and revoked by an administrator (`tokenledger key`),
/// checked by the service on every request (`Authorization: Bearer <secret>`).
///
/// A key has a unique name, a role (``APIKeyRole``) and a secret that ``create(name:role:defaultUser:)``
/// returns once. Redis keeps, per key, its name, role, creation time and the SHA-256 of its secret,
/// never the secret (`docs/schema.md`, "API keys"):
/// - `NS:{global}:apikeys`: key id → record, what ``authenticate(secret:)`` reads (one `HGET`);
/// - `NS:{global}:apikey-names`: name → key id, for unique names and revoking by name.
///
/// Creating and revoking change both hashes in one Lua script (one slot, atomic), so no crash or
/// race leaves a name without its record or a record without its name; revoking deletes the record,
/// so the next ``authenticate(secret:)`` of that secret, in any process, returns `nil`: every call
/// asks Redis, and no answer is cached. What is remembered is only the parsing of a stored record:
/// a record text read again unchanged is not decoded again (a changed or missing text is decoded
/// or refused as the first time). Works against a standalone server and a Redis Cluster alike.
///
/// ### Pipelined lookups
/// A store made with a `RedisRoutedPipeline` (``init(pool:namespace:pipeline:)``, or
/// ``pipelined(by:)`` to share a ``UsageRecorder``'s) sends the `HGET` of ``authenticate(secret:)``
/// through it: concurrent lookups (and the recorder's records) share one write and one read instead
/// of taking a pooled connection for a round trip each. Once that pipeline is shut down, lookups
/// take the pool again.
///
/// ### Permissions
/// ``authenticate(secret:)`` needs only `HGET` on `NS:{global}:apikeys`, which the documented
/// application ACL user has; ``create(name:role:defaultUser:)``, ``revoke(name:)`` and ``list()`` are the
/// administrator's (`docs/operations.md`, "Least privilege").
///
/// ### Secrets
/// Nothing here logs, and no error message holds a secret or a stored hash.
///
/// ### Threading
/// `Sendable`: share one store; each call uses the pool's connections.
public struct APIKeyStore: Sendable {
    /// The longest key name, in bytes: 64.
    public static let maximumNameBytes = 64

    /// The pool the store talks through.
    public let pool: RedisConnectionPool
    /// The keys of the namespace.
    public let keys: LedgerKeys
    /// The pipeline ``authenticate(secret:)`` sends its lookup through; `nil`: the pool.
    public private(set) var pipeline: RedisRoutedPipeline?
    /// Stored records already parsed, by key id with their exact text.
    let records: APIKeyRecordCache

    /// Creates a store for a namespace. Nothing is sent until a method is called.
    ///
    /// - Parameters:
    ///   - pool: The Redis pool (standalone or cluster).
    ///   - namespace: The key namespace, e.g. `"tl"`.
    ///   - pipeline: Where ``authenticate(secret:)`` sends its lookup (shared with other callers);
    ///     default `nil`: the pool. Made over the same pool (its mode and slot map).
    /// - Throws: ``ValidationError`` when the namespace is not valid.
    public init(
        pool: RedisConnectionPool, namespace: String, pipeline: RedisRoutedPipeline? = nil
    ) throws(ValidationError) {
        self.pool = pool
        self.keys = try LedgerKeys(namespace: namespace)
        self.pipeline = pipeline
        self.records = APIKeyRecordCache()
    }

    /// This store, sending the lookups of ``authenticate(secret:)`` through `recorder`'s shared
    /// pipeline (``UsageRecorder/Options-swift.struct/pipeline``), coalesced with its records; the
    /// same store when the recorder has no pipeline. The recorder's ``UsageRecorder/run()`` runs
    /// the pipeline; after it stops, lookups take the pool.
    ///
    /// - Parameter recorder: A recorder over the same pool.
    public func pipelined(by recorder: UsageRecorder) -> APIKeyStore {
        guard let pipeline = recorder.pipeline else { return self }
        var store = self
        store.pipeline = pipeline
        return store
    }

    /// Creates a key and returns it with its secret, which is not stored and cannot be shown again.
    ///
    /// - Parameters:
    ///   - name: A new name: 1–64 bytes of `A-Z a-z 0-9 _ . -`.
    ///   - role: What the key may do.
    ///   - defaultUser: For an `app` key: the user the proxy routes book a call to when the request
    ///     names none (`nil`, default: the service's configured default user applies).
    /// - Returns: The key and its secret.
    /// - Throws: ``ValidationError`` (field `name`): ``ValidationError/Code/invalidKeyName`` for a bad
    ///   name, ``ValidationError/Code/keyExists`` when a key already has it (nothing changed); (field
    ///   `default_user`) an invalid user id, or a default user on a key whose role is not `app`;
    ///   `RedisError` when Redis fails or refuses (`NOPERM` for a user that may not write keys).
    public func create(name: String, role: APIKeyRole, defaultUser: String? = nil) async throws -> CreatedAPIKey {
        try await create(name: name, role: role, defaultUser: defaultUser, at: Date())
    }

    /// ``create(name:role:defaultUser:)`` at a given instant (its `created_at`).
    func create(name: String, role: APIKeyRole, defaultUser: String? = nil, at instant: Date) async throws
        -> CreatedAPIKey
    {
        try Self.validateName(name)
        if let defaultUser {
            try Validation.validateUserID(defaultUser, field: "default_user")
            guard role == .app else {
                throw ValidationError(
                    code: .invalidUserID, field: "default_user",
                    message:
                        "default_user is for app keys (the proxy routes book calls to it); this key's role is \(role.rawValue)"
                )
            }
        }
        let scripts = try ScriptRegistry.shared.get()
        let createdAt = ISO8601Instant.format(instant)
        // A taken key id (1 in 2^64 per key) gets a new secret; three in a row is not chance.
        for _ in 0..<3 {
            let secret = APIKeySecret.generate()
            let record = APIKeyRecord(
                name: name, role: role, createdAt: createdAt, sha256: secret.sha256, defaultUser: defaultUser)
            let call = APIKeyCreateScript(keySet: keys, keyID: secret.keyID, record: record)
            switch try call.decode(try await pool.evaluateMany([call.call(scripts)])[0]) {
            case .applied:
                return CreatedAPIKey(key: record.key, secret: secret.text)
            case .exists:
                throw ValidationError(
                    code: .keyExists, field: "name",
                    message:
                        "an API key named \(ValidationError.quoted(name)) already exists; choose another name, or revoke it first (key revoke \(name))"
                )
            case .collision:
                continue
            }
        }
        throw LedgerError(
            code: .corruptData,
            message: "\(keys.apiKeys) answered three random key ids as taken; check what writes that hash")
    }

    /// Every key, sorted by name: names, roles and creation times, never a secret or a hash.
    ///
    /// - Throws: `RedisError` when Redis fails or refuses; ``LedgerError/Code/corruptData`` when a
    ///   stored record is not one this store wrote.
    public func list() async throws -> [APIKey] {
        let stored = try await pool.send(HGETALL(keys.apiKeys))
        var listed: [APIKey] = []
        listed.reserveCapacity(stored.count)
        for (keyID, text) in stored {
            listed.append(try APIKeyRecord(decoding: text, keyID: keyID, in: keys.apiKeys).key)
        }
        return listed.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// Revokes a key by name: its secret stops authenticating at once, everywhere.
    ///
    /// - Parameter name: The key's name.
    /// - Returns: `false` when no key has that name (nothing changed).
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidKeyName``, field `name`) for a
    ///   name no key can have; `RedisError` when Redis fails or refuses.
    public func revoke(name: String) async throws -> Bool {
        try Self.validateName(name)
        let call = APIKeyRevokeScript(keySet: keys, name: name)
        return try call.decode(try await pool.evaluateMany([call.call(try ScriptRegistry.shared.get())])[0])
    }

    /// The key a bearer secret belongs to, or `nil` when the secret is malformed, unknown or
    /// revoked.
    ///
    /// A malformed secret is refused without asking Redis; any other costs one `HGET` of the key
    /// id's record, through the ``pipeline`` when the store has one, else the pool. The secret's
    /// SHA-256 is compared with the stored one in constant time. The secret is never logged nor put
    /// in an error.
    ///
    /// - Parameter secret: The presented secret (the `Authorization: Bearer` value).
    /// - Returns: The key's name, role and creation time, or `nil`.
    /// - Throws: `RedisError` when Redis fails or refuses (the caller answers 503, not 401);
    ///   ``LedgerError/Code/corruptData`` when the stored record is not one this store wrote.
    public func authenticate(secret: String) async throws -> APIKey? {
        guard let parsed = APIKeySecret(parsing: secret) else { return nil }
        guard let text = try await storedRecord(HGET(keys.apiKeys, field: parsed.keyID)) else { return nil }
        let record = try records.record(decoding: text, keyID: parsed.keyID, in: keys.apiKeys)
        return parsed.matches(sha256: record.sha256) ? record.key : nil
    }

    /// The stored record text: through the pipeline while it runs (a command still queued after
    /// the pool's command timeout fails with `timeout`), else the pool.
    private func storedRecord(_ command: HGET) async throws -> String? {
        if let pipeline {
            do {
                return try await pipeline.send(command, deadline: .now + pool.configuration.commandTimeout)
            } catch let error as RedisError where error.code == .poolClosed {
                // The pipeline stopped (a shutdown): the pool still answers.
            }
        }
        return try await pool.send(command)
    }

    /// Checks a key name: 1–64 bytes, each one of `A-Z a-z 0-9 _ . -`.
    ///
    /// - Parameters:
    ///   - name: The name.
    ///   - field: The field named in the error (default `"name"`).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidKeyName``.
    public static func validateName(_ name: String, field: String = "name") throws(ValidationError) {
        do {
            try Validation.validateNamespace(name, field: field)
        } catch {
            throw ValidationError(code: .invalidKeyName, field: field, message: error.message)
        }
    }
}
