import Testing

@testable import RedisClient

@Suite("Cluster routing decisions (no server)")
struct ClusterRoutingUnitTests {
    @Test("a typed command's slot is its keys' slot; keys in two slots are a crossSlot misuse naming the command")
    func slots() throws {
        let one = RoutedCommand(typed: DEL(["{u1}:a", "{u1}:b"]))
        #expect(one.slot == HashSlot.slot(for: "u1") && one.crossSlot == nil && one.name == "DEL")
        #expect(RoutedCommand(typed: TIME()).slot == nil)
        #expect(RoutedCommand(typed: GET("k")).isReadOnly)
        let split = RoutedCommand(typed: DEL(["{u1}:a", "{u2}:b"]))
        let error = try #require(split.crossSlot)
        #expect(error.code == .crossSlot && error.category == .misuse && error.command == "DEL")
        #expect(error.message.contains("\(HashSlot.slot(for: "u1"))") && error.message.contains("hash tag"))
        let script = RedisScript(source: "return 1")
        let call = RoutedCommand(RedisScriptCall(script, keys: ["{u3}:x", "{u3}:y"], arguments: [1]))
        #expect(call.slot == HashSlot.slot(for: "u3") && call.script == script && !call.isReadOnly)
        #expect(RoutedCommand(RedisScriptCall(script, keys: ["{u3}:x", "{u4}:y"], arguments: [])).crossSlot != nil)
        // An untyped command has no slot: it follows MOVED.
        #expect(RoutedCommand(RedisCommand("GET", "{u1}:a")).slot == nil)
    }

    @Test("WAIT's timeout is whole milliseconds, never 0 (which would wait forever)")
    func waitCommand() {
        #expect(
            WAIT(RedisReplicaWait(replicas: 1, timeout: .milliseconds(250))).command == RedisCommand("WAIT", "1", "250")
        )
        #expect(RedisReplicaWait(replicas: 2, timeout: .zero).milliseconds == 1)
        #expect(RedisReplicaWait(replicas: -3, timeout: .seconds(1)).replicas == 0)
        #expect(RedisReplicaWait(replicas: 1, timeout: .seconds(Int64.max)).milliseconds == Int(Int32.max))
    }

    @Test("retries back off from about 10 ms, doubling, capped at 200 ms")
    func backoff() {
        for round in 0..<20 {
            let delay = RedisClusterRouter.backoff(round)
            #expect(delay >= .milliseconds(5) && delay <= .milliseconds(200), "round \(round): \(delay)")
        }
        #expect(RedisClusterRouter.backoff(0) <= .milliseconds(10))
        #expect(RedisClusterRouter.backoff(10) >= .milliseconds(100))
    }

    @Test("a MOVED reply that reaches the caller says why it was not followed")
    func movedMessage() {
        let error = RedisError(serverReply: "MOVED 3999 127.0.0.1:6381")
        #expect(error.message.contains("redirection was not followed") && !error.message.contains("cannot route"))
        #expect(error.redirection?.slot == 3999)
    }
}
