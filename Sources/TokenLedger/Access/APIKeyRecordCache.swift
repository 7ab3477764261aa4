import Synchronization

/// The parsed API key records an ``APIKeyStore`` has read, by key id, each with the exact text it
/// was parsed from: a lookup whose stored text is unchanged skips decoding the JSON again. It
/// decides nothing about whether a key is valid: every lookup still reads the text from Redis, and
/// a text that differs in any byte (or a key whose record is gone, which never reaches here) is
/// decoded, or refused, as the first time.
///
/// Texts are compared byte for byte (not as Unicode-equivalent strings). Bounded: past ``capacity`` entries it starts over (only keys that exist in Redis get here, so
/// the set is as large as the namespace's keys).
final class APIKeyRecordCache: Sendable {
    /// The most records kept.
    static let capacity = 1024

    struct Entry: Sendable {
        var text: String
        var record: APIKeyRecord
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// The record `text` holds: remembered when this key id's last text was the same, else decoded
    /// (and remembered) as ``APIKeyRecord/init(decoding:keyID:in:)`` does.
    ///
    /// - Throws: ``LedgerError/Code/corruptData`` as ``APIKeyRecord/init(decoding:keyID:in:)``; a
    ///   refused text is not remembered.
    func record(decoding text: String, keyID: String, in hash: String) throws(LedgerError) -> APIKeyRecord {
        if let entry = entries.withLock({ $0[keyID] }), entry.text.utf8.elementsEqual(text.utf8) {
            return entry.record
        }
        let record = try APIKeyRecord(decoding: text, keyID: keyID, in: hash)
        entries.withLock { entries in
            if entries.count >= Self.capacity && entries[keyID] == nil { entries.removeAll() }
            entries[keyID] = Entry(text: text, record: record)
        }
        return record
    }

    /// How many records are remembered (for tests).
    var count: Int { entries.withLock { $0.count } }
}
