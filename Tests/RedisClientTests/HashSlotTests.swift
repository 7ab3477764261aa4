import Testing

@testable import RedisClient

@Suite("Redis Cluster hash slots")
struct HashSlotTests {
    @Test("CRC-16/XMODEM check value")
    func checkValue() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(HashSlot.crc16([UInt8]()) == 0)
    }

    /// Expected slots were read from `redis-cli CLUSTER KEYSLOT` on redis-server 7.0.15.
    @Test(
        "slots match CLUSTER KEYSLOT",
        arguments: [
            ("foo", 12182), ("bar", 5061), ("123456789", 12739), ("", 0), ("a", 15495),
            ("{user1000}.following", 3443), ("{user1000}.followers", 3443), ("user1000", 3443),
            ("foo{}{bar}", 8363), ("foo{{bar}}zap", 4015), ("{bar", 4015), ("foo{bar}{zap}", 5061),
            ("{}", 15257), ("}{", 12793), ("tl:{alice}:usage:2025-01-01", 749), ("alice", 749),
            ("{alice%3Aadmin}", 11833), ("héllo", 11061), ("🙂", 6396),
        ])
    func knownSlots(key: String, slot: Int) {
        #expect(HashSlot.slot(for: key) == slot)
        #expect(HashSlot.slot(for: Array(key.utf8)) == slot)
    }

    @Test("hash tag rules")
    func hashTagRules() {
        func part(_ key: String) -> String { String(decoding: HashSlot.hashedPart(of: Array(key.utf8)), as: UTF8.self) }
        #expect(part("{user1000}.following") == "user1000")
        #expect(part("foo{}{bar}") == "foo{}{bar}")  // empty first tag: whole key
        #expect(part("foo{{bar}}zap") == "{bar")  // first '{', then first '}' after it
        #expect(part("foo{bar}{zap}") == "bar")
        #expect(part("foo{bar") == "foo{bar")  // no closing brace: whole key
        #expect(part("foo}bar{") == "foo}bar{")
        #expect(part("plain") == "plain")
    }

    @Test("every slot is in range and the hashed part decides it")
    func slotRange() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let length = Int.random(in: 0...40, using: &generator)
            let key = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let slot = HashSlot.slot(for: key)
            #expect((0..<HashSlot.count).contains(slot))
            // The hashed part never holds a valid tag of its own, so hashing it again gives the same slot.
            #expect(slot == HashSlot.slot(for: Array(HashSlot.hashedPart(of: key))))
        }
    }
}
