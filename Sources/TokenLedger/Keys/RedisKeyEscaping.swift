/// Escaping of user ids for Redis keys, so every per-user key carries the same Redis Cluster hash
/// tag and no user id can break the tag, the `:` separators, or a `SCAN MATCH` pattern.
///
/// ### Scheme
/// Percent-encoding over the UTF-8 bytes, with uppercase hex. These bytes are encoded as `%XX`:
/// - `%` (the escape character itself), `{` and `}` (hash-tag delimiters), `:` (key separator);
/// - `*`, `?`, `[`, `]`, `\` (glob metacharacters of `SCAN MATCH` / `KEYS`), so an escaped id can be
///   pasted into a pattern literally;
/// - `0x00`–`0x20` (controls and space) and `0x7F`, so keys stay printable in `redis-cli`.
///
/// Every other byte — including all non-ASCII UTF-8 — is kept as is, so ids stay readable.
///
/// ### Injectivity and reversibility
/// Each byte maps either to itself (never `%`) or to `%` followed by exactly two uppercase hex
/// digits. Reading left to right, a `%` therefore always starts a three-byte escape and any other
/// byte stands for itself, so the original bytes are recovered uniquely: distinct byte strings have
/// distinct escapes. ``unescape(_:)`` accepts exactly the image of ``escape(_:)`` (canonical form:
/// uppercase hex, only escaped bytes escaped) and returns `nil` for anything else.
///
/// Escaping works on bytes, not on Swift's canonical equivalence: `"é"` and `"e\u{301}"` escape
/// differently, just as they are different keys in Redis.
public enum RedisKeyEscaping {
    /// Whether `byte` is written as `%XX`.
    /// - Parameter byte: A UTF-8 code unit.
    /// - Returns: `true` for `% { } : * ? [ ] \`, `0x00`–`0x20` and `0x7F`.
    public static func needsEscaping(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x00...0x20, 0x7F: return true
        case UInt8(ascii: "%"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ":"): return true
        case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "\\"):
            return true
        default: return false
        }
    }

    /// Escapes any string (also an invalid user id; the function is total).
    /// - Parameter raw: The text, e.g. `"acme:{bob}"`.
    /// - Returns: The escaped text, e.g. `"acme%3A%7Bbob%7D"`; never contains `{`, `}`, `:`,
    ///   glob metacharacters, spaces or control characters; empty only when `raw` is empty.
    public static func escape(_ raw: String) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(raw.utf8.count)
        for byte in raw.utf8 {
            if needsEscaping(byte) {
                output.append(UInt8(ascii: "%"))
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            } else {
                output.append(byte)
            }
        }
        // Only ASCII bytes were replaced by ASCII, so valid UTF-8 stays valid.
        return String(decoding: output, as: UTF8.self)
    }

    /// Reverses ``escape(_:)``.
    /// - Parameter escaped: Text produced by ``escape(_:)``.
    /// - Returns: The original string, or `nil` when `escaped` is not exactly something
    ///   ``escape(_:)`` produces (a bare `%`, lowercase or truncated hex, an escape of a byte that
    ///   needs none, or a raw byte that needs one).
    public static func unescape(_ escaped: String) -> String? {
        var output: [UInt8] = []
        output.reserveCapacity(escaped.utf8.count)
        var iterator = escaped.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue)
                else { return nil }
                let decoded = high << 4 | low
                guard needsEscaping(decoded) else { return nil }
                output.append(decoded)
            } else {
                guard !needsEscaping(byte) else { return nil }
                output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The Redis Cluster hash tag shared by all keys of one user: `{` + escaped user id + `}`.
    ///
    /// Put it right after the namespace (which never contains braces), so it is the first tag of
    /// the key and every per-user key — and every script touching only them — lands in one slot.
    /// - Parameter userID: A user id; it is validated first, which also guarantees a non-empty tag
    ///   (an empty `{}` would not be a hash tag at all).
    /// - Returns: E.g. `"{alice%3Aadmin}"` for `alice:admin`.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidUserID``.
    public static func userKeyTag(_ userID: String) throws(ValidationError) -> String {
        try Validation.validateUserID(userID)
        return "{" + escape(userID) + "}"
    }

    /// The user id inside a key tag made by ``userKeyTag(_:)``.
    /// - Parameter tag: E.g. `"{alice%3Aadmin}"`.
    /// - Returns: The user id, or `nil` when `tag` is not a tag this type produces.
    public static func userID(fromKeyTag tag: String) -> String? {
        guard tag.utf8.count >= 3, tag.utf8.first == UInt8(ascii: "{"), tag.utf8.last == UInt8(ascii: "}") else {
            return nil
        }
        let inner = tag.utf8.dropFirst().dropLast()
        guard let inner = String(inner), let userID = unescape(inner) else { return nil }
        return userID
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
