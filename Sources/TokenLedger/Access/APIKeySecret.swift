import Crypto
import Foundation

/// The bearer secret of an API key: `tl_` + the key id (16 lowercase hex digits, random) + `_` + 32
/// random bytes in base64url without padding (43 characters): 63 ASCII characters in all.
///
/// The key id names the key's record, so authentication reads one hash field; the 256 random bits
/// are what an attacker would have to guess. Randomness comes from `SystemRandomNumberGenerator`
/// (`getrandom(2)` on Linux: cryptographically secure). Only the SHA-256 of the whole secret is
/// stored; a plain hash suffices because the secret is 256 random bits, not a password.
struct APIKeySecret: Sendable, Hashable {
    /// The key id: 16 lowercase hex digits.
    var keyID: String
    /// The whole secret text.
    var text: String

    /// The text before the key id.
    static let prefix = "tl_"
    /// Hex digits in a key id (8 random bytes).
    static let keyIDLength = 16
    /// Random bytes after the key id.
    static let randomByteCount = 32
    /// base64url characters of ``randomByteCount`` bytes without padding.
    static let randomTextLength = 43
    /// The length of every secret: `tl_` + 16 + `_` + 43.
    static let length = prefix.utf8.count + keyIDLength + 1 + randomTextLength

    /// A new secret with a new random key id.
    static func generate() -> APIKeySecret {
        var generator = SystemRandomNumberGenerator()
        let keyID = hex(randomBytes(keyIDLength / 2, using: &generator))
        let random = base64URL(randomBytes(randomByteCount, using: &generator))
        return APIKeySecret(keyID: keyID, text: prefix + keyID + "_" + random)
    }

    /// Parses a secret as presented (a bearer token): `nil` unless it has exactly the shape
    /// ``generate()`` makes. Looks at the text only: no Redis, no hashing.
    init?(parsing text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == Self.length, bytes.starts(with: Self.prefix.utf8) else { return nil }
        let idStart = Self.prefix.utf8.count
        let idEnd = idStart + Self.keyIDLength
        guard bytes[idStart..<idEnd].allSatisfy(Self.isLowercaseHex), bytes[idEnd] == UInt8(ascii: "_"),
            bytes[(idEnd + 1)...].allSatisfy(Self.isBase64URL)
        else { return nil }
        self.keyID = String(decoding: bytes[idStart..<idEnd], as: UTF8.self)
        self.text = text
    }

    private init(keyID: String, text: String) {
        self.keyID = keyID
        self.text = text
    }

    /// The SHA-256 of the whole secret as 64 lowercase hex digits: what the key's record stores.
    var sha256: String { Self.hex(Array(SHA256.hash(data: Data(text.utf8)))) }

    /// Whether this secret's SHA-256 equals `stored` (64 hex digits), compared in constant time.
    func matches(sha256 stored: String) -> Bool {
        ConstantTimeComparison.equal(Array(sha256.utf8), Array(stored.utf8))
    }

    // MARK: - Encoding

    static func randomBytes(_ count: Int, using generator: inout SystemRandomNumberGenerator) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }

    /// Lowercase hex digits of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// base64url (RFC 4648 §5) without padding.
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func isLowercaseHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "_")
    }
}
