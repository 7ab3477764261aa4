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

@Suite("The pipeline's chunked queue")
struct ChunkedQueueTests {
    @Test("keeps FIFO order across chunk boundaries, growing and draining in any interleaving")
    func fifo() {
        var queue = ChunkedQueue<Int>()
        var model: [Int] = []
        var next = 0
        var peak = 0
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for round in 0..<40_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Bursts of appends, then bursts of takes, sometimes down to empty.
            let appending = (round / 3000) % 2 == 0 ? state >> 60 < 12 : state >> 60 < 4
            if appending {
                queue.append(next)
                model.append(next)
                next += 1
            } else {
                #expect(queue.popFirst() == (model.isEmpty ? nil : model.removeFirst()))
            }
            #expect(queue.count == model.count)
            peak = max(peak, model.count)
        }
        #expect(peak > 1500, "the test must cross several chunks (peak \(peak))")
        #expect(queue.removeAll() == model)
        #expect(queue.count == 0 && queue.popFirst() == nil)
        queue.append(7)
        #expect(queue.popFirst() == 7)
    }
}
