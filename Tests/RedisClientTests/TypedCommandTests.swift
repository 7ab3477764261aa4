import Foundation
import RedisClient
import RedisTestSupport
import Testing

@Suite("Typed commands against a real redis-server")
struct TypedCommandTests {
    @Test("each command lists exactly the keys it touches; server commands and SCAN list none")
    func keysOfEachCommand() {
        let key = "tl:{alice}:cycle:2026-01-01"
        #expect(GET(key).keys == [RedisKey(key)])
        #expect(SET(key, value: "v").keys == [RedisKey(key)])
        #expect(HGET(key, field: "calls").keys == [RedisKey(key)])
        #expect(HMGET(key, fields: ["a", "b"]).keys == [RedisKey(key)])
        #expect(HGETALL(key).keys == [RedisKey(key)])
        #expect(HLEN(key).keys == [RedisKey(key)])
        #expect(HDEL(key, fields: ["a"]).keys == [RedisKey(key)])
        #expect(EXISTS(["a", "b"]).keys == ["a", "b"])
        #expect(DEL(key).keys == [RedisKey(key)])
        #expect(UNLINK(["a", "b"]).keys == ["a", "b"])
        #expect(SMEMBERS(key).keys == [RedisKey(key)])
        #expect(SCARD(key).keys == [RedisKey(key)])
        #expect(SMISMEMBER(key, members: ["x"]).keys == [RedisKey(key)])
        #expect(SSCAN(key, count: 10).keys == [RedisKey(key)])
        #expect(ZRANGE(key).keys == [RedisKey(key)])
        #expect(XRANGE(key, count: 5).keys == [RedisKey(key)])
        #expect(SCAN(match: "tl:*", count: 100).keys.isEmpty)
        #expect(TIME().keys.isEmpty && PING().keys.isEmpty && INFO("memory").keys.isEmpty)
        #expect(CONFIG.GET("appendfsync").keys.isEmpty && ACL.WHOAMI().keys.isEmpty)
        #expect(SCRIPT.LOAD("return 1").keys.isEmpty && SCRIPT.EXISTS(["abc"]).keys.isEmpty)
        // The keys carry their cluster slot: one user's keys share the hash tag's slot.
        #expect(HGET(key, field: "f").keys[0].slot == HashSlot.slot(for: "alice"))
        // Reads say so; writes do not.
        #expect(HMGET(key, fields: ["a"]).isReadOnly && SCAN().isReadOnly && !SET(key, value: "v").isReadOnly)
        #expect(!UNLINK(key).isReadOnly && !SCRIPT.LOAD("return 1").isReadOnly)
    }

    @Test("the wire form is the command Redis expects")
    func wireForm() {
        #expect(HMGET("h", fields: ["a", "b"]).command == RedisCommand("HMGET", "h", "a", "b"))
        #expect(SCAN(cursor: "17", match: "p*", count: 100).command == RedisCommand("SCAN", "17", "MATCH", "p*", "COUNT", 100))
        #expect(SCAN().command == RedisCommand("SCAN", "0"))
        #expect(SSCAN("s", count: 5).command == RedisCommand("SSCAN", "s", "0", "COUNT", 5))
        #expect(XRANGE("x", count: 3).command == RedisCommand("XRANGE", "x", "-", "+", "COUNT", 3))
        #expect(SCRIPT.EXISTS(["a", "b"]).command == RedisCommand("SCRIPT", "EXISTS", "a", "b"))
        #expect(CONFIG.GET("maxmemory").command.name == "CONFIG")
        #expect(HGETALL([UInt8]([0, 0xFF])).command == RedisCommand("HGETALL", [UInt8]([0, 0xFF])))
    }

    @Test("each command decodes the server's reply into its Swift value")
    func decodesRealReplies() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let ns = uniqueNamespace()
            let hash = ns + ":h", string = ns + ":s", set = ns + ":set", zset = ns + ":z", stream = ns + ":x"
            _ = try await pool.pipeline([
                RedisCommand("HSET", hash, "input_tokens", 5, "calls", 2, "model", "gpt"),
                RedisCommand("SADD", set, "a", "b", "c"), RedisCommand("ZADD", zset, 2, "later", 1, "sooner"),
                RedisCommand("XADD", stream, "*", "type", "reset", "user", "alice"),
            ])
            try await pool.send(SET(string, value: "42"))
            #expect(try await pool.send(GET(string)) == "42")
            #expect(try await pool.send(GET(ns + ":missing")) == nil)
            #expect(try await pool.send(HGET(hash, field: "calls")) == "2")
            #expect(try await pool.send(HGET(hash, field: "absent")) == nil)
            // HMGET: by field name; absent fields are not there (never read by position).
            #expect(
                try await pool.send(HMGET(hash, fields: ["calls", "absent", "input_tokens"])) == ["calls": "2", "input_tokens": "5"])
            #expect(try await pool.send(HGETALL(hash)) == ["input_tokens": "5", "calls": "2", "model": "gpt"])
            #expect(try await pool.send(HGETALL(ns + ":missing")) == [:])
            #expect(try await pool.send(HLEN(hash)) == 3)
            #expect(try await pool.send(HDEL(hash, fields: ["model", "absent"])) == 1)
            #expect(try await pool.send(EXISTS([hash, ns + ":missing", string])) == 2)
            #expect(Set(try await pool.send(SMEMBERS(set))) == ["a", "b", "c"])
            #expect(try await pool.send(SCARD(set)) == 3)
            #expect(try await pool.send(SMISMEMBER(set, members: ["a", "z"])) == ["a": true, "z": false])
            #expect(try await pool.send(ZRANGE(zset)) == ["sooner", "later"])
            let events = try await pool.send(XRANGE(stream, count: 10))
            #expect(events.count == 1 && events[0].fields == ["type": "reset", "user": "alice"] && events[0].id.contains("-"))
            let clock = try await pool.send(TIME())
            #expect(abs(clock.timeIntervalSinceNow) < 3600)
            #expect(try await pool.send(PING()) == "PONG")
            #expect(try await pool.send(INFO("server"))["redis_version"] != nil)
            #expect(try await pool.send(CONFIG.GET("appendonly"))["appendonly"] != nil)
            #expect(try await pool.send(ACL.WHOAMI()) == "default")
            let script = RedisScript(source: "return 1")
            #expect(try await pool.send(SCRIPT.LOAD(script)) == script.sha1)
            #expect(try await pool.send(SCRIPT.EXISTS([script.sha1, String(repeating: "0", count: 40)])) == [
                script.sha1: true, String(repeating: "0", count: 40): false,
            ])
            #expect(try await pool.send(UNLINK([string, hash])) == 2)
            #expect(try await pool.send(DEL(set)) == 1)
            await pool.close()
        }
    }

    @Test("a key of another type is an error naming the command, never the key or its value")
    func wrongTypeNamesTheCommand() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let key = uniqueNamespace() + ":secret-user-id"
            try await pool.send(SET(key, value: "secret-value"))
            // The server refuses (WRONGTYPE): the error names the command.
            let refused = await #expect(throws: RedisError.self) { try await pool.send(HGETALL(key)) }
            #expect(refused?.code == .server && refused?.serverCode == "WRONGTYPE" && refused?.command == "HGETALL")
            // In a pipeline, each slot keeps its own error.
            let results = try await pool.pipelineResults([HGETALL(key), HGETALL(key + "-absent")])
            #expect(throws: RedisError.self) { try results[0].get() }
            #expect(try results[1].get() == [:])
            // A reply of the wrong shape (GET's decoder fed HGETALL's array) is a protocol error
            // naming the command and what it expected; no value or key appears in the message.
            let shape = #expect(throws: RedisError.self) { try GET(key).decode(.array([.bulk(Array("secret-value".utf8))])) }
            #expect(shape?.code == .protocolError && shape?.command == "GET")
            #expect(shape?.message == "unexpected reply to GET: expected a bulk string or nil, got an array of 1")
            #expect(shape.map { !$0.message.contains("secret") } == true)
            #expect(throws: RedisError.self) { try HMGET(key, fields: ["a", "b"]).decode(.array([.null])) }
            #expect(throws: RedisError.self) { try TIME().decode(.integer(1)) }
            #expect(throws: RedisError.self) { try SCAN().decode(.array([.integer(0)])) }
            await pool.close()
        }
    }

    @Test("scan walks every key exactly once across many steps (1,200 keys, COUNT 100)")
    func scanEveryKeyOnce() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let ns = uniqueNamespace()
            let keys = (0..<1200).map { "\(ns):k:\($0)" }
            for start in stride(from: 0, to: keys.count, by: 300) {
                _ = try await pool.pipeline(keys[start..<(start + 300)].map { RedisCommand("SET", $0, 1) })
            }
            // A key outside the pattern is not returned.
            try await pool.send(SET(ns + "-other", value: 1))
            var seen: [String: Int] = [:]
            for try await key in pool.scan(match: ns + ":k:*", count: 100) {
                seen[String(decoding: key, as: UTF8.self), default: 0] += 1
            }
            #expect(seen.count == 1200 && Set(seen.keys) == Set(keys) && seen.values.allSatisfy { $0 == 1 })

            // forEachBatch hands over the same keys in batches of at most the size.
            var batches: [Int] = []
            var batched = Set<[UInt8]>()
            try await pool.scan(match: ns + ":k:*", count: 100).forEachBatch(of: 500) { batch in
                batches.append(batch.count)
                batched.formUnion(batch)
            }
            #expect(batched.count == 1200 && batches.allSatisfy { $0 <= 500 } && batches.reduce(0, +) == 1200)

            // SSCAN over a set larger than one step.
            let setKey = ns + ":set"
            _ = try await pool.send(RedisCommand("SADD", [setKey] + (0..<1200).map { "m\($0)" }))
            var members: [String] = []
            for try await member in pool.sscan(setKey, count: 100) { members.append(String(decoding: member, as: UTF8.self)) }
            #expect(members.count == 1200 && Set(members).count == 1200)

            // An empty match ends at once; a set key of the wrong type throws naming SSCAN.
            var none = 0
            for try await _ in pool.scan(match: ns + ":nothing:*", count: 100) { none += 1 }
            #expect(none == 0)
            let error = await #expect(throws: RedisError.self) {
                for try await _ in pool.sscan(keys[0]) {}
            }
            #expect(error?.serverCode == "WRONGTYPE" && error?.command == "SSCAN")
            await pool.close()
        }
    }
}
