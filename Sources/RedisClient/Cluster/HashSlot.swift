/// Redis Cluster key hash slots: `CRC16(key) mod 16384`, honouring hash tags.
///
/// Follows the Redis Cluster specification ("Keys hash tags"): if the key contains a `{`, and a `}`
/// somewhere after the first `{`, and at least one byte lies between them, only the bytes between
/// the first `{` and the first `}` after it are hashed. Otherwise the whole key is hashed.
/// So `{user1000}.following` and `{user1000}.followers` share a slot, `foo{}{bar}` hashes the whole
/// key, `foo{{bar}}zap` hashes `{bar`, and `foo{bar}{zap}` hashes `bar`.
///
/// The CRC is CRC-16/XMODEM (polynomial 0x1021, initial value 0, no reflection, no final XOR),
/// the variant in Redis's `crc16.c`: `CRC16("123456789") == 0x31C3`.
public enum HashSlot {
    /// The number of hash slots in a Redis Cluster: 16384.
    public static let count = 16_384

    /// The slot of a key given as bytes.
    /// - Parameter key: The key's bytes.
    /// - Returns: A slot in `0..<16384`.
    public static func slot(for key: some Collection<UInt8>) -> Int {
        Int(crc16(hashedPart(of: key)) & UInt16(count - 1))
    }

    /// The slot of a key given as text (its UTF-8 bytes are hashed).
    /// - Parameter key: The key, e.g. `"tl:{alice}:usage:2025-01-01"`.
    /// - Returns: A slot in `0..<16384`.
    public static func slot(for key: String) -> Int {
        slot(for: key.utf8)
    }

    /// The part of a key that decides its slot: the hash tag's content, or the whole key.
    /// - Parameter key: The key's bytes.
    /// - Returns: The bytes between the first `{` and the first `}` after it when that is non-empty;
    ///   otherwise the whole key.
    public static func hashedPart<Key: Collection<UInt8>>(of key: Key) -> Key.SubSequence {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key[...] }
        let contentStart = key.index(after: open)
        guard let close = key[contentStart...].firstIndex(of: UInt8(ascii: "}")), close != contentStart else {
            return key[...]
        }
        return key[contentStart..<close]
    }

    /// CRC-16/XMODEM of `bytes`, as Redis computes it for key slots.
    /// - Parameter bytes: The bytes.
    /// - Returns: The checksum.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    /// The 256-entry lookup table for polynomial 0x1021, computed once.
    static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
