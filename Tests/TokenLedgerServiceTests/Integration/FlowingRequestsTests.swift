import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RedisTestSupport
import Synchronization
import Testing
import TokenLedger

@testable import TokenLedgerService

/// How many answers came back, shared by the sending tasks.
final class AnswerCount: Sendable {
    let value = Atomic<Int>(0)
}

/// Records sent by several connections while Redis is stopped and restarted under them.
@Suite("Service with Redis killed while requests flow")
struct FlowingRequestsTests {
    /// Sends `count` records per connection over `connections` connections, calling `midway` once
    /// after `trigger` answers have come back; returns each call id with its status.
    static func flow(
        _ service: ServiceHarness, user: String, connections: Int = 3, count: Int = 30, trigger: Int = 10,
        midway: @escaping @Sendable () async -> Void
    ) async throws -> [(String, Int)] {
        let answered = AnswerCount()
        let port = service.port
        let secret = service.appKey
        return try await withThrowingTaskGroup(of: [(String, Int)].self) { group in
            group.addTask {
                _ = await waitUntil(timeout: .seconds(120)) { answered.value.load(ordering: .relaxed) >= trigger }
                await midway()
                return []
            }
            for connection in 0..<connections {
                group.addTask {
                    try await TestClient.withClient(
                        host: "localhost", port: port, configuration: .init(timeout: .seconds(120))
                    ) { client in
                        var results: [(String, Int)] = []
                        for index in 0..<count {
                            let callID = "f\(connection)-\(index)"
                            let body = json(["user": user, "call_id": callID, "input_tokens": 1, "output_tokens": 1])
                            let response = try await client.post(
                                "/v1/usage",
                                headers: [.authorization: "Bearer \(secret)", .contentType: "application/json"],
                                body: ByteBuffer(string: body))
                            results.append((callID, response.status.code))
                            answered.value.add(1, ordering: .relaxed)
                        }
                        return results
                    }
                }
            }
            var all: [(String, Int)] = []
            for try await results in group { all += results }
            return all
        }
    }

    @Test(
        "with a spool: every record is answered 200 or 202 while Redis stops, and every one is in Redis after it returns"
    )
    func spooledWhileFlowing() async throws {
        try await withService(spool: true, persistent: true, recordTimeout: .milliseconds(300)) { service in
            let results = try await Self.flow(service, user: "flow") {
                await service.redis.stop()
            }
            #expect(results.count == 90)
            #expect(
                results.allSatisfy { $0.1 == 200 || $0.1 == 202 }, "\(results.filter { $0.1 != 200 && $0.1 != 202 })")
            #expect(results.contains { $0.1 == 202 })
            try await service.redis.restart()
            let all = await waitUntil(timeout: .seconds(180)) {
                (try? await service.repository.usage(user: "flow").calls) == 90
            }
            #expect(all)
            let usage = try await service.repository.usage(user: "flow")
            #expect(usage.calls == 90 && usage.totalTokens == 180)
        }
    }

    @Test("without a spool: records are answered 200 or 503 (never another 5xx), and none is half-written")
    func unavailableWhileFlowing() async throws {
        try await withService(persistent: true) { service in
            let results = try await Self.flow(service, user: "flow") {
                await service.redis.stop()
            }
            #expect(results.count == 90)
            #expect(
                results.allSatisfy { $0.1 == 200 || $0.1 == 503 }, "\(results.filter { $0.1 != 200 && $0.1 != 503 })")
            #expect(results.contains { $0.1 == 503 })
            try await service.redis.restart()
            #expect(
                await waitUntil(timeout: .seconds(120)) {
                    (try? await service.send(.get, "/readyz", key: .some(nil)).status) == 200
                })
            let usage = try await service.repository.usage(user: "flow")
            let acknowledged = results.filter { $0.1 == 200 }.count
            // A 503 may hide a write Redis applied before it stopped; a write is never partial.
            #expect(usage.calls >= acknowledged && usage.calls <= results.count)
            #expect(usage.totalTokens == 2 * usage.calls)
        }
    }
}
