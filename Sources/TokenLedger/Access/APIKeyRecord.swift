import Foundation

/// What `NS:{global}:apikeys` holds under a key id: one line of JSON with sorted keys,
/// `{"created_at","name","role","sha256"}`, where `sha256` is the SHA-256 of the whole secret in
/// lowercase hex, and `default_user` when the key has one (proxy calls that name no user are booked
/// to it). Never the secret.
struct APIKeyRecord: Sendable, Hashable, Codable {
    var name: String
    var role: APIKeyRole
    var createdAt: String
    var sha256: String
    /// The user of proxied calls that name none (absent from records written before it existed).
    var defaultUser: String?

    enum CodingKeys: String, CodingKey {
        case name, role, sha256
        case createdAt = "created_at"
        case defaultUser = "default_user"
    }

    /// The key as listed (no hash).
    var key: APIKey { APIKey(name: name, role: role, createdAt: createdAt, defaultUser: defaultUser) }

    /// The stored text.
    func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings cannot fail.
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Reads a stored record, checking it as ``APIKeyStore`` writes it.
    ///
    /// - Parameters:
    ///   - text: The hash field's value.
    ///   - keyID: The field (for the message).
    ///   - hash: The hash's key (for the message).
    /// - Throws: ``LedgerError/Code/corruptData`` naming the hash and key id when the value is not
    ///   such a record (another program wrote it); never quoting the value.
    init(decoding text: String, keyID: String, in hash: String) throws(LedgerError) {
        guard let record = try? JSONDecoder().decode(APIKeyRecord.self, from: Data(text.utf8)),
            record.sha256.utf8.count == 64, record.sha256.utf8.allSatisfy(APIKeySecret.isLowercaseHex),
            (try? APIKeyStore.validateName(record.name)) != nil,
            record.defaultUser.map({ (try? Validation.validateUserID($0)) != nil }) ?? true
        else {
            throw LedgerError(
                code: .corruptData,
                message:
                    "stored value is corrupt: \(hash) field \(keyID) is not an API key record; revoke the key (or delete the field) as the administrator and create a new one (docs/operations.md, API keys)"
            )
        }
        self = record
    }

    init(name: String, role: APIKeyRole, createdAt: String, sha256: String, defaultUser: String? = nil) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.sha256 = sha256
        self.defaultUser = defaultUser
    }
}
