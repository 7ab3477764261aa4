import Foundation
import RedisClient
import RedisTestSupport
import Testing

@Suite("RedisError: closed snake_case codes, one category, the failed command's name")
struct RedisErrorTests {
    @Test("every code has a snake_case name, and the names are distinct")
    func codeNames() {
        let names = RedisError.Code.allCases.map(\.rawValue)
        #expect(names.count == 11 && Set(names).count == names.count)
        for name in names { #expect(name.allSatisfy { $0.isLowercase || $0 == "_" }, "\(name)") }
        #expect(RedisError.Code.connectionRefused.rawValue == "connection_refused")
        #expect("\(RedisError(code: .poolTimeout, message: "x"))" == "pool_timeout: x")
    }

    @Test("each code and server reply has one category")
    func categories() {
        let expected: [String: ErrorCategory] = [
            "connection_refused": .unavailable, "timeout": .unavailable, "connection_closed": .unavailable,
            "pool_timeout": .unavailable, "pool_closed": .unavailable, "script_not_loaded": .unavailable,
            "authentication_failed": .permissionDenied, "invalid_configuration": .misuse, "cross_slot": .misuse,
            "protocol_error": .internal, "server": .internal,
        ]
        #expect(Set(expected.keys) == Set(RedisError.Code.allCases.map(\.rawValue)))
        for code in RedisError.Code.allCases {
            #expect(RedisError(code: code, message: "m").category == expected[code.rawValue], "\(code)")
        }
        for reply in ["NOPERM no", "WRONGPASS no", "NOAUTH no", "ERR The user executing the script can't access"] {
            #expect(RedisError(serverReply: reply).category == .permissionDenied, "\(reply)")
        }
        for word in RedisError.unavailableServerCodes {
            #expect(RedisError(serverReply: "\(word) now").category == .unavailable, "\(word)")
        }
        #expect(RedisError(serverReply: "WRONGTYPE Operation against a key").category == .internal)
        #expect(ErrorCategory.of(CancellationError()) == .internal)
    }

    @Test("the underlying error is kept but not compared")
    func underlying() {
        struct Cause: Error {}
        let plain = RedisError(code: .timeout, message: "slow")
        let caused = RedisError(code: .timeout, message: "slow", underlying: Cause())
        #expect(plain == caused && plain.hashValue == caused.hashValue)
        #expect(caused.underlying is Cause && plain.underlying == nil)
        #expect(plain != RedisError(code: .timeout, message: "slow", command: "GET"))
    }

    @Test("a server error names the command that failed, never its arguments")
    func commandName() async throws {
        try await withRedis { configuration async throws in
            let pool = RedisConnectionPool(configuration: configuration)
            let key = uniqueNamespace() + ":user-secret-id"
            _ = try await pool.send(RedisCommand("SET", key, "text"))
            await #expect {
                _ = try await pool.send(RedisCommand("HINCRBY", key, "field", 1))
            } throws: { error in
                let error = try #require(error as? RedisError)
                return error.serverCode == "WRONGTYPE" && error.command == "HINCRBY"
                    && !"\(error)".contains("user-secret-id")
            }
            let replies = try await pool.pipeline([RedisCommand("GET", key), RedisCommand("LPUSH", key, "x")])
            #expect(replies[0] == .bulk(Array("text".utf8)))
            guard case .error(let error) = replies[1] else {
                Issue.record("LPUSH on a string answered \(replies[1])")
                return
            }
            #expect(error.command == "LPUSH" && error.category == .internal)
            _ = try await pool.send(RedisCommand("DEL", key))
            await pool.close()
        }
    }
}
