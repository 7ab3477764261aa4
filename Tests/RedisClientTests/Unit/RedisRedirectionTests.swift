import RedisClient
import Testing

@Suite("Cluster redirections and retryable cluster errors")
struct RedisRedirectionTests {
    @Test("MOVED and ASK parse with an IP, a host name, IPv6 and the empty (same host) endpoint")
    func forms() throws {
        let moved = try RedisRedirection(serverReply: "MOVED 3999 127.0.0.1:6381")
        #expect(moved == RedisRedirection(kind: .moved, slot: 3999, endpoint: .init(host: "127.0.0.1", port: 6381)))
        #expect(moved.description == "MOVED 3999 127.0.0.1:6381")

        let ask = try RedisRedirection(serverReply: "ASK 3999 127.0.0.1:6381")
        #expect(ask.kind == .ask && ask.slot == 3999 && ask.endpoint.port == 6381)

        let named = try RedisRedirection(serverReply: "MOVED 0 redis-2.internal:7000")
        #expect(named.endpoint == .init(host: "redis-2.internal", port: 7000) && named.slot == 0)

        let bracketed = try RedisRedirection(serverReply: "ASK 16383 [::1]:6381")
        #expect(bracketed.endpoint == .init(host: "::1", port: 6381) && bracketed.slot == 16383)
        #expect(bracketed.description == "ASK 16383 [::1]:6381")
        // Redis itself writes IPv6 without brackets (`%s:%d`): the port follows the last colon.
        let bare = try RedisRedirection(serverReply: "MOVED 12 ::1:6381")
        #expect(bare.endpoint == .init(host: "::1", port: 6381))

        let sameHost = try RedisRedirection(serverReply: "MOVED 3999 :6381")
        #expect(sameHost.endpoint.host == nil && sameHost.endpoint.description == ":6381")
        #expect(sameHost.endpoint.resolved(queriedHost: "10.1.2.3") == .tcp(host: "10.1.2.3", port: 6381))
        #expect(moved.endpoint.resolved(queriedHost: "10.1.2.3") == .tcp(host: "127.0.0.1", port: 6381))
    }

    @Test("Garbage is a clear protocol error naming what is wrong, never a crash")
    func garbage() {
        let cases: [(String, String)] = [
            ("", "not a MOVED or ASK reply"),
            ("ERR unknown command", "not a MOVED or ASK reply"),
            ("moved 1 h:1", "not a MOVED or ASK reply"),
            ("MOVED", "expected a slot and an endpoint"),
            ("MOVED 3999", "expected a slot and an endpoint"),
            ("MOVED 3999 127.0.0.1:6381 extra", "expected a slot and an endpoint"),
            ("MOVED x 127.0.0.1:6381", "slot 'x' is not a number from 0 to 16383"),
            ("MOVED 16384 127.0.0.1:6381", "slot '16384'"),
            ("ASK -1 127.0.0.1:6381", "slot '-1'"),
            ("MOVED 1 127.0.0.1", "has no port"),
            ("MOVED 1 127.0.0.1:", "port '' is not a number"),
            ("MOVED 1 127.0.0.1:70000", "port '70000'"),
            ("MOVED 1 127.0.0.1:63a", "port '63a'"),
            ("ASK 1 [::1:6381", "unclosed '['"),
            ("ASK 1 [::1]6381", "unclosed '[' or no port"),
            ("MOVED 99999999999999999999999 h:1", "is not a number"),
        ]
        for (reply, why) in cases {
            #expect {
                try RedisRedirection(serverReply: reply)
            } throws: { error in
                let error = try #require(error as? RedisError)
                return error.code == .protocolError && error.message.contains(why)
                    && error.message.contains("malformed cluster redirection")
            }
        }
    }

    @Test("A RedisError from a MOVED or ASK reply carries its redirection")
    func fromRedisError() {
        let moved = RedisError(serverReply: "MOVED 10408 127.0.0.1:7102")
        #expect(
            moved.redirection
                == RedisRedirection(kind: .moved, slot: 10408, endpoint: .init(host: "127.0.0.1", port: 7102)))
        let ask = RedisError(serverReply: "ASK 7 [::1]:7103")
        #expect(ask.redirection == RedisRedirection(kind: .ask, slot: 7, endpoint: .init(host: "::1", port: 7103)))
        let sameHost = RedisError(serverReply: "ASK 7 :7103")
        #expect(sameHost.redirection?.endpoint == .init(host: nil, port: 7103))

        #expect(RedisError(serverReply: "MOVED nonsense").redirection == nil)
        #expect(RedisError(serverReply: "WRONGTYPE Operation against a key").redirection == nil)
        #expect(RedisError(code: .timeout, message: "MOVED 1 h:1").redirection == nil)
        // A redirection is not a "retry the same node" error.
        #expect(!moved.isRetryableServerError && !ask.isRetryableServerError)
    }

    @Test("TRYAGAIN, CLUSTERDOWN and LOADING are retryable; other errors are not")
    func retryable() {
        let retryable = [
            "TRYAGAIN Multiple keys request during rehashing of slot",
            "CLUSTERDOWN The cluster is down",
            "CLUSTERDOWN Hash slot not served",
            "LOADING Redis is loading the dataset in memory",
        ]
        for reply in retryable {
            let error = RedisError(serverReply: reply)
            #expect(error.isRetryableServerError, "\(reply)")
            #expect(error.category == .unavailable, "\(reply)")
        }
        let others = [
            RedisError(serverReply: "WRONGTYPE Operation against a key holding the wrong kind of value"),
            RedisError(serverReply: "READONLY You can't write against a read only replica."),
            RedisError(serverReply: "NOSCRIPT No matching script"),
            RedisError(code: .timeout, message: "timed out"),
        ]
        for error in others { #expect(!error.isRetryableServerError, "\(error)") }
        #expect(RedisError.retryableServerCodes == ["TRYAGAIN", "CLUSTERDOWN", "LOADING"])
    }
}
