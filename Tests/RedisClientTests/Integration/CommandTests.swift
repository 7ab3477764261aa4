import Foundation
import RedisClient
import RedisTestSupport
import Testing

@Suite("Commands against a real redis-server")
struct CommandTests {
    @Test("a command is kept in RESP form: header, then each argument as a bulk string with its exact length")
    func wireFormat() {
        let command = RedisCommand("SET", "k€", "", -42, 0, 1_234_567_890, [UInt8]([0, 0x0D, 0x0A]), Int.min)
        let expected =
            "*8\r\n$3\r\nSET\r\n$4\r\nk€\r\n$0\r\n\r\n$3\r\n-42\r\n$1\r\n0\r\n$10\r\n1234567890\r\n$3\r\n\u{0}\r\n\r\n"
            + "$20\r\n-9223372036854775808\r\n"
        #expect(command.wireHeader + command.wireArguments == Array(expected.utf8))
        #expect(command.count == 8 && command.name == "SET")
        #expect(
            command.arguments[1] == Array("k€".utf8) && command.arguments[2] == []
                && command.arguments[6] == [0, 0x0D, 0x0A])
        #expect(RedisCommand(rawArguments: command.arguments) == command)
        var long = RedisCommand("ECHO")
        long.append(String(repeating: "x", count: 12_345))
        #expect(long.arguments == [Array("ECHO".utf8), Array(repeating: UInt8(ascii: "x"), count: 12_345)])
    }

    @Test("binary values with NUL bytes and 1 MiB round-trip through SET/GET")
    func binaryRoundTrip() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let key = uniqueNamespace() + ":bin"
            let small: [UInt8] = [0, 1, 2, 0, 255, 0x0D, 0x0A, 0]
            _ = try await pool.send(RedisCommand("SET", key, small))
            #expect(try await pool.send(RedisCommand("GET", key)) == .bulk(small))

            var big = [UInt8](repeating: 0, count: 1 << 20)
            for index in big.indices { big[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 8) }
            _ = try await pool.send(RedisCommand("SET", key, big))
            let reply = try await pool.send(RedisCommand("GET", key))
            #expect(reply.bytes?.count == big.count)
            #expect(reply == .bulk(big))

            // A binary key, too.
            let binaryKey: [UInt8] = Array(key.utf8) + [0, 0xFF]
            _ = try await pool.send(RedisCommand("SET", binaryKey, "v"))
            #expect(try await pool.send(RedisCommand("GET", binaryKey)).string == "v")
            #expect(try await pool.send(RedisCommand("GET", key + "-missing")) == .null)
            await pool.close()
        }
    }

    @Test("HINCRBY returns the running total")
    func hincrby() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let key = uniqueNamespace() + ":h"
            #expect(try await pool.send(RedisCommand("HINCRBY", key, "f", 5)) == .integer(5))
            #expect(try await pool.send(RedisCommand("HINCRBY", key, "f", -2)) == .integer(3))
            #expect(try await pool.send(RedisCommand("HGET", key, "f")).int == 3)
            await pool.close()
        }
    }

    @Test("a pipeline of 10,000 commands returns every reply in order")
    func largePipeline() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let key = uniqueNamespace() + ":counter"
            let commands = (0..<10_000).map { index in RedisCommand("HINCRBY", key, "n", index % 7) }
            let replies = try await pool.pipeline(commands)
            #expect(replies.count == 10_000)
            var running: Int64 = 0
            for (index, reply) in replies.enumerated() {
                running += Int64(index % 7)
                #expect(reply == .integer(running), "reply \(index)")
                if reply != .integer(running) { break }
            }
            await pool.close()
        }
    }

    @Test("an error reply keeps Redis's code and does not disturb the rest of a pipeline")
    func serverErrors() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let key = uniqueNamespace() + ":s"
            _ = try await pool.send(RedisCommand("SET", key, "x"))
            await #expect {
                _ = try await pool.send(RedisCommand("HINCRBY", key, "f", 1))
            } throws: { error in
                let error = try #require(error as? RedisError)
                return error.code == .server && error.serverCode == "WRONGTYPE"
            }
            let replies = try await pool.pipeline([
                RedisCommand("GET", key), RedisCommand("HINCRBY", key, "f", 1), RedisCommand("STRLEN", key),
            ])
            #expect(replies[0] == .bulk(Array("x".utf8)))
            guard case .error(let error) = replies[1] else { Issue.record("expected an error reply"); return }
            #expect(error.serverCode == "WRONGTYPE")
            #expect(replies[2] == .integer(1))
            // The connection is still fine afterwards.
            #expect(try await pool.send(RedisCommand("PING")) == .status("PONG"))
            await pool.close()
        }
    }

    @Test("EVALSHA works on first use and again after SCRIPT FLUSH, by loading on NOSCRIPT")
    func scriptFallback() async throws {
        try await withRedisServer { server async throws in
            let pool = RedisConnectionPool(configuration: server.configuration)
            let script = RedisScript(source: "return redis.call('INCRBY', KEYS[1], ARGV[1])")
            #expect(try await pool.evaluate(script, keys: ["k"], arguments: [2]) == .integer(2))
            // The digest is the one Redis computes.
            #expect(try await pool.send(RedisCommand("SCRIPT", "LOAD", script.source)).string == script.sha1)
            _ = try await pool.send(RedisCommand("SCRIPT", "FLUSH"))
            #expect(try await pool.evaluate(script, keys: ["k"], arguments: [3]) == .integer(5))
            _ = try await pool.send(RedisCommand("SCRIPT", "FLUSH"))
            let replies = try await pool.withConnection { connection in
                try await connection.evaluateBatch(script, calls: (1...50).map { _ in (["k"], [1]) })
            }
            #expect(replies == (6...55).map { RedisReply.integer(Int64($0)) })
            await pool.close()
        }
    }

    @Test("a script error is a server error, not a transport failure")
    func scriptError() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let script = RedisScript(source: "return redis.error_reply('BADINPUT tokens out of range')")
            await #expect {
                _ = try await pool.evaluate(script, keys: [], arguments: [])
            } throws: { error in
                (error as? RedisError)?.serverCode == "BADINPUT"
            }
            await pool.close()
        }
    }
}
