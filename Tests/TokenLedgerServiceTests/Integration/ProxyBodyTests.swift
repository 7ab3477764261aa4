import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

/// The proxy's response body at its edges, driven directly (no client socket can time them):
/// a response Hummingbird drops without writing its body, and a client that leaves while the
/// provider goes silent.
@Suite("Proxy response bodies")
struct ProxyBodyTests {
    /// A writer whose client is gone: every write fails.
    struct GoneClient: ResponseBodyWriter {
        struct Gone: Error {}
        mutating func write(_ buffer: ByteBuffer) async throws { throw Gone() }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws { throw Gone() }
    }

    /// Reserves a streamed chat call for `user` as the proxy route does.
    static func reservedCall(_ harness: ProxyHarness, user: String) async throws -> ProxyCall {
        let server = harness.service.server
        let body = ProxyTests.chat(user: user, stream: true)
        let request = try ProxyRequest(
            body: Array(body.utf8), endpoint: .chatCompletions, headerUser: nil, keyDefaultUser: nil,
            configuration: server.proxyForwarder.configuration, counting: server.proxyForwarder.counting)
        let callID = "proxy-\(UUID().uuidString.lowercased())"
        let reservation = try await server.proxyReserve(request, callID: callID)
        #expect(reservation.status == .admitted)
        return ProxyCall(request: request, callID: callID, reserved: true, remaining: nil, remainingUSD: nil)
    }

    static let streamHeaders: HTTPHeaders = ["content-type": "text/event-stream"]

    @Test("a response dropped before its body is written settles the prompt as an estimate: no lease is left")
    func droppedBeforeBody() async throws {
        try await withProxy { harness in
            let call = try await Self.reservedCall(harness, user: "dropped-user")
            #expect(try await harness.usage("dropped-user").reserved == call.request.reservedTokens)
            do {
                let upstream = HTTPClientResponse(
                    status: .ok, headers: Self.streamHeaders,
                    body: .bytes(ByteBuffer(string: "data: {\"choices\":[]}\n\n")))
                let response = await harness.service.server.relay(upstream, call: call)
                #expect(response.status == .ok)
            }  // dropped here, its body never written
            let settled = try await waitUntil(timeout: .seconds(60)) {
                try await harness.usage("dropped-user").counts.calls == 1
            }
            #expect(settled, "the dropped response's call was never settled")
            let usage = try await harness.usage("dropped-user")
            #expect(usage.reserved == 0)
            #expect(usage.counts.inputTokens == call.request.promptTokens)
            #expect(usage.counts.outputTokens == 0)
            #expect(await waitUntil(timeout: .seconds(30)) { harness.logsContain("dropped before its body") })
        }
    }

    @Test(
        "a client gone mid-stream while the provider goes silent: the drain bound ends the read, an estimate is settled"
    )
    func silentProviderAfterClientLeft() async throws {
        // The read timeout (10 minutes) is far past the test's bound; only the drain bound can end it.
        try await withProxy(readTimeout: .seconds(600), drainTimeout: .seconds(1)) { harness in
            let call = try await Self.reservedCall(harness, user: "silent-user")
            let (events, provider) = AsyncStream<ByteBuffer>.makeStream()
            provider.yield(
                ByteBuffer(string: ProxyStreamTests.openAIStream.components(separatedBy: "\n\n")[0] + "\n\n"))
            // Never finished: the provider says nothing more.
            let upstream = HTTPClientResponse(status: .ok, headers: Self.streamHeaders, body: .stream(events))
            let response = await harness.service.server.relay(upstream, call: call)
            let ended = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try? await response.body.write(GoneClient())
                    return true
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(120))
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            provider.finish()
            #expect(ended, "the body waited for the silent provider past the drain bound")
            let usage = try await harness.settledUsage("silent-user")  // the settle is queued, not awaited
            #expect(usage.counts.calls == 1)
            #expect(usage.reserved == 0)
            #expect(usage.counts.outputTokens >= 1, "the text that arrived (\"Hello\") was not counted")
            #expect(harness.logsContain("client left mid-stream"))
        }
    }
}
