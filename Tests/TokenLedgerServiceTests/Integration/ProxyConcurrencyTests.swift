import AsyncHTTPClient
import Foundation
import NIOCore
import RedisTestSupport
import Synchronization
import Testing
import TokenLedger

@testable import TokenLedgerService

/// Many streamed calls of one user at once, through the proxy, at a limit.
@Suite("Proxy under concurrency")
struct ProxyConcurrencyTests {
    @Test(
        "200 concurrent streamed calls of one user at a limit: exactly the limit's worth admitted, no overspend, every admitted call settled"
    )
    func concurrentStreams() async throws {
        try await withProxy { harness in
            let calls = 200
            let maximumOutput = 1500
            let messages: [[String: Any]] = [["role": "user", "content": "What is the capital of France?"]]
            // What each call reserves: the prompt with the reservation margin, plus the maximum output.
            let reservation =
                TokenCounting.heuristic.estimator(forModel: "fake-gate").reservationCount(in: [
                    ChatMessage(role: "user", content: "What is the capital of France?")
                ]) + maximumOutput
            let admittable = 30
            try await harness.service.repository.setLimit(user: "crowd", tokens: admittable * reservation)
            let body = json([
                "model": "fake-gate", "messages": messages, "user": "crowd", "max_tokens": maximumOutput,
                "stream": true,
            ])
            var pool = HTTPClient.Configuration.ConnectionPool()
            pool.concurrentHTTP1ConnectionsPerHostSoftLimit = calls
            let client = HTTPClient(
                eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                configuration: .init(timeout: .init(connect: .seconds(60), read: .seconds(300)), connectionPool: pool))
            let denied = Tally()
            do {
                let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                    for _ in 0..<calls {
                        group.addTask {
                            var request = HTTPClientRequest(url: harness.openAIBaseURL + "/chat/completions")
                            request.method = .POST
                            request.headers.add(name: "authorization", value: "Bearer \(harness.appKey)")
                            request.headers.add(name: "content-type", value: "application/json")
                            request.body = .bytes(ByteBuffer(string: body))
                            let response = try await client.execute(request, timeout: .seconds(600))
                            if response.status.code == 429 { denied.add() }
                            let text = try await response.body.collect(upTo: 1 << 20)
                            return (Int(response.status.code), String(buffer: text))
                        }
                    }
                    // Every call holds its reservation (or was denied) before any settles: the fake
                    // keeps the admitted streams open until the gate opens.
                    let allDecided = await waitUntil(timeout: .seconds(300)) {
                        harness.fake.received.count + denied.count == calls
                    }
                    #expect(allDecided, "not every call was admitted or denied")
                    harness.fake.openGate()
                    var statuses: [(Int, String)] = []
                    for try await status in group { statuses.append(status) }
                    return statuses
                }
                let admitted = statuses.filter { $0.0 == 200 }
                #expect(admitted.count == admittable)
                #expect(statuses.filter { $0.0 == 429 }.count == calls - admittable)
                #expect(admitted.allSatisfy { $0.1.contains("[DONE]") })
                #expect(harness.fake.received.count == admittable, "a denied call reached the provider")
                let settled = try await waitUntil(timeout: .seconds(120)) {
                    try await harness.usage("crowd").counts.calls == admittable
                }
                #expect(settled)
                let usage = try await harness.usage("crowd")
                #expect(usage.reserved == 0, "a lease was left")
                #expect(usage.counts.totalTokens == admittable * 1417)
                #expect(usage.counts.totalTokens <= admittable * reservation, "overspent")
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }
}

/// A count shared by concurrent tasks.
final class Tally: Sendable {
    private let value = Mutex<Int>(0)

    func add() { value.withLock { $0 += 1 } }

    var count: Int { value.withLock { $0 } }
}
