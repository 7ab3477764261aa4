import Foundation

/// An administrator's price for one model, kept in Redis (``PriceStore``): it wins over the default
/// price file's entry of the same name.
///
/// Stored as one field of the hash `NS:{global}:prices`: the model name → one line of JSON, the
/// ``ModelPrice``'s fields plus `updated_at` (ISO 8601, UTC).
public struct PriceOverride: Sendable, Hashable {
    /// The model name, exactly as calls report it (1–128 bytes of UTF-8, no control characters).
    public var model: String
    /// The price.
    public var price: ModelPrice
    /// When it was set (ISO 8601, UTC, e.g. `2026-03-08T07:30:00Z`).
    public var updatedAt: String

    /// Creates an override.
    ///
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidIdentifier``, field `model`) for an
    ///   empty, too long or control-character model name.
    public init(model: String, price: ModelPrice, updatedAt: String) throws(ValidationError) {
        try Validation.validateIdentifier(model, field: "model", allowEmpty: false)
        self.model = model
        self.price = price
        self.updatedAt = updatedAt
    }

    /// The stored value: the price's JSON with `updated_at`, sorted keys, one line.
    func storedValue() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Stored(price: price, updatedAt: updatedAt)), as: UTF8.self)
    }

    /// Reads a stored value back, checked as a price given on the command line is.
    ///
    /// - Throws: ``LedgerError`` (``LedgerError/Code/corruptData``) naming the key and the model when
    ///   the value is not a valid price: values read back from Redis are checked, never trusted.
    init(model: String, storedValue: String, key: String) throws(LedgerError) {
        let stored: Stored
        do {
            stored = try JSONDecoder().decode(Stored.self, from: Data(storedValue.utf8))
            try Validation.validateIdentifier(model, field: "model", allowEmpty: false)
        } catch {
            let reason = (error as? ValidationError)?.message ?? PriceFile.describe(error)
            throw LedgerError(
                code: .corruptData,
                message:
                    "\(key) field \(ValidationError.quoted(model)) is not a valid price (\(reason)); set it again with price set or remove it with price delete"
            )
        }
        self.model = model
        self.price = stored.price
        self.updatedAt = stored.updatedAt
    }

    /// The stored JSON: the price's keys and `updated_at` side by side.
    private struct Stored: Codable {
        var price: ModelPrice
        var updatedAt: String

        enum CodingKeys: String, CodingKey { case updatedAt = "updated_at" }

        init(price: ModelPrice, updatedAt: String) {
            self.price = price
            self.updatedAt = updatedAt
        }

        init(from decoder: any Decoder) throws {
            price = try ModelPrice(from: decoder)
            updatedAt = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .updatedAt)
        }

        func encode(to encoder: any Encoder) throws {
            try price.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(updatedAt, forKey: .updatedAt)
        }
    }
}
