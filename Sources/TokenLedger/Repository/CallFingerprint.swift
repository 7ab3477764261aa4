import Crypto

/// What the ledger stores of a call id to deduplicate it: the SHA-256 of the call id's UTF-8 bytes,
/// cut into a bucket and a 96-bit field.
///
/// A user's call ids of a cycle are spread over ``bucketCount`` hashes (`calls:<D>:<bucket>`, two
/// lowercase hex digits): the first byte of the digest picks the bucket, the next twelve bytes are the
/// hash field (binary) and the value is the call's total tokens. With about 2,000 calls per user and
/// cycle a bucket holds about 63 fields, well under Redis's default `hash-max-listpack-entries` (128),
/// so every bucket stays in the compact listpack encoding (docs/schema.md, "Call ids"). Two call ids
/// are taken for the same call only when their digests agree on those 101 bits (5 of the bucket, 96 of
/// the field): for n calls of a user in a cycle the probability is about n² / 2^102 (2,000 calls:
/// below 10^-24).
public struct CallFingerprint: Sendable, Hashable {
    /// The number of call-id hashes per user and cycle (a power of two, so the bucket is uniform).
    public static let bucketCount = 32
    /// The bytes of the hash field: 96 bits of the digest.
    public static let fieldBytes = 12

    /// The bucket, `0..<bucketCount`.
    public let bucket: Int
    /// The hash field, ``fieldBytes`` bytes.
    public let field: [UInt8]

    /// The fingerprint of a call id.
    public init(callID: String) {
        let digest = SHA256.hash(data: Array(callID.utf8))
        var bytes = [UInt8]()
        bytes.reserveCapacity(1 + Self.fieldBytes)
        for byte in digest.prefix(1 + Self.fieldBytes) { bytes.append(byte) }
        bucket = Int(bytes[0]) % Self.bucketCount
        field = Array(bytes[1...])
    }

    /// The bucket as it ends its key: two lowercase hex digits.
    public var bucketSuffix: String { Self.suffix(bucket) }

    /// The key suffix of bucket `bucket`: two lowercase hex digits.
    public static func suffix(_ bucket: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[(bucket >> 4) & 0xF], digits[bucket & 0xF]])
    }
}
