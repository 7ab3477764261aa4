import Foundation
import RedisClient
import Testing

@testable import TokenLedger

@Suite("Redis key escaping")
struct RedisKeyEscapingTests {
    @Test("examples")
    func examples() throws {
        #expect(RedisKeyEscaping.escape("alice") == "alice")
        #expect(RedisKeyEscaping.escape("acme:{bob}") == "acme%3A%7Bbob%7D")
        #expect(RedisKeyEscaping.escape("100%") == "100%25")
        #expect(RedisKeyEscaping.escape("a b*?[x]\\") == "a%20b%2A%3F%5Bx%5D%5C")
        #expect(RedisKeyEscaping.escape("\u{0}\u{7F}") == "%00%7F")
        #expect(RedisKeyEscaping.escape("é😀") == "é😀")
        #expect(RedisKeyEscaping.escape("") == "")
        #expect(try RedisKeyEscaping.userKeyTag("alice:admin") == "{alice%3Aadmin}")
        #expect(RedisKeyEscaping.userID(fromKeyTag: "{alice%3Aadmin}") == "alice:admin")
        #expect(RedisKeyEscaping.userID(fromKeyTag: "{}") == nil)
        #expect(RedisKeyEscaping.userID(fromKeyTag: "alice") == nil)
        #expect(throws: ValidationError.self) { try RedisKeyEscaping.userKeyTag("") }
        #expect(throws: ValidationError.self) { try RedisKeyEscaping.userKeyTag("a\u{85}") }
    }

    @Test("ids that differ only in the escape character do not collide")
    func nearCollisions() {
        let ids = [
            "a:b", "a%3Ab", "a%253Ab", "a{b}", "a%7Bb%7D", "%", "%25", "%2525", "{", "}", "{}", ":", "::", "a b",
            "a%20b", "a+b",
        ]
        let escaped = ids.map(RedisKeyEscaping.escape)
        #expect(Set(escaped).count == ids.count)
        for (id, text) in zip(ids, escaped) {
            #expect(RedisKeyEscaping.unescape(text) == id)
        }
    }

    @Test("unescape accepts only the canonical image of escape")
    func strictUnescape() {
        for bad in ["%", "%4", "%4g", "%7b", "%41", "a:b", "{", "a b", "%ZZ", "\u{0}", "x*"] {
            #expect(RedisKeyEscaping.unescape(bad) == nil, "\(bad)")
        }
        #expect(RedisKeyEscaping.unescape("%7B%7D%3A%25") == "{}:%")
    }

    @Test("property: escaping is injective, reversible and tag-safe over random strings")
    func property() {
        var generator = SplitMix64(seed: 0xE5CA_9E)
        // Heavy on the characters that matter, plus multi-byte text and format characters.
        let alphabet: [Unicode.Scalar] = [
            "%", "{", "}", ":", "*", "?", "[", "]", "\\", " ", "a", "B", "3", "2", "5", "7", "A", "D",
            "\u{0}", "\u{1F}", "\u{7F}", "\u{85}", "é", "\u{301}", "\u{200D}", "😀", "日", "\u{FFFD}",
        ]
        var seen: [[UInt8]: [UInt8]] = [:]  // escaped bytes -> original bytes
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &generator)
            var raw = String.UnicodeScalarView()
            for _ in 0..<length { raw.append(alphabet.randomElement(using: &generator)!) }
            let id = String(raw)
            let escaped = RedisKeyEscaping.escape(id)
            let escapedBytes = Array(escaped.utf8)
            // Reversible, byte for byte (String == would hide NFC/NFD differences).
            #expect(RedisKeyEscaping.unescape(escaped).map { Array($0.utf8) } == Array(id.utf8))
            // Nothing that could break a tag, a separator or a glob pattern survives.
            #expect(!escapedBytes.contains { "{}:*?[]\\ ".utf8.contains($0) || $0 < 0x20 || $0 == 0x7F })
            // Injective: no two different ids share an escape.
            if let previous = seen[escapedBytes] {
                #expect(previous == Array(id.utf8), "collision: \(escaped)")
            }
            seen[escapedBytes] = Array(id.utf8)
        }
        #expect(seen.count > 10_000)
    }

    @Test("NFC and NFD spellings stay distinct, as they are in Redis")
    func normalization() {
        let nfc = "caf\u{E9}"
        let nfd = "cafe\u{301}"
        #expect(nfc == nfd)  // Swift's canonical equivalence
        #expect(Array(RedisKeyEscaping.escape(nfc).utf8) != Array(RedisKeyEscaping.escape(nfd).utf8))
    }

    @Test("every key of one user lands in the user's slot, whatever the id")
    func sameSlot() throws {
        for id in ["alice", "a}b", "{x}", "}{", "a:b", "%7D", "😀", String(repeating: "}", count: 256)] {
            let tag = try RedisKeyEscaping.userKeyTag(id)
            let keys = [
                "tl:\(tag):usage:2025-01-01", "tl:\(tag):limit", "tl:\(tag):calls:2025-01-01:{call}",
                "other.ns:\(tag):x",
            ]
            let slot = HashSlot.slot(for: keys[0])
            #expect(slot == HashSlot.slot(for: RedisKeyEscaping.escape(id)))
            for key in keys {
                #expect(HashSlot.slot(for: key) == slot, "\(key)")
            }
        }
    }
}
