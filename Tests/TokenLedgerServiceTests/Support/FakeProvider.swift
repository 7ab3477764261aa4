import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

/// A fake LLM provider for the proxy's tests: a real Hummingbird server on a loopback port that
/// answers `POST /v1/chat/completions`, `/v1/responses`, `/v1/embeddings` and `/v1/messages` like
/// OpenAI and Anthropic, with the repository's recorded responses (`Tests/TokenLedgerTests/Fixtures/usage`:
/// JSON bodies, and streams replayed event by event as SSE), and records what it received.
///
/// The request's model picks a scenario:
/// - any model: the fixture of the route (a stream when the body says `"stream": true`; an OpenAI
///   chat stream carries its usage chunk only when `stream_options.include_usage` is true, as OpenAI does);
/// - `fake-error-500`: 500 with an error body in the provider's shape, no usage;
/// - `fake-gate`: a stream that sends its first two events, waits for ``openGate()``, then sends
///   twenty more content events and the rest of the fixture;
/// - `fake-stall`: a stream that sends its first two events, then nothing until ``openGate()``
///   (and then ends without its usage);
/// - `fake-endless`: a stream that sends its first two events, then a content event every 20 ms
///   until ``openGate()``, and ends without its usage;
/// - `fake-slow`: a stream with a pause of 20 ms before each event.
final class FakeProvider: Sendable {
    /// One request as the fake received it.
    struct Received: Sendable {
        var path: String
        var headers: HTTPFields
        var body: [UInt8]

        /// The body as a JSON object (empty when it is not one).
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }
    }

    private let log = Mutex<[Received]>([])
    private let gate = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Every request received, in order.
    var received: [Received] { log.withLock { $0 } }

    /// Lets the `fake-gate` and `fake-stall` streams go on (and every later one pass at once).
    func openGate() {
        let waiters = gate.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether ``openGate()`` was called.
    var isGateOpen: Bool { gate.withLock { $0.open } }

    private func waitForGate() async {
        await withCheckedContinuation { continuation in
            let open = gate.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    /// The fake's application (serve it with HummingbirdTesting's `.live`).
    func application() -> some ApplicationProtocol {
        let router = Router()
        for path in ["/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/messages"] {
            router.post(RouterPath(path)) { request, _ in try await self.answer(request, path: path) }
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    private func answer(_ request: Request, path: String) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 24)
        let received = Received(path: path, headers: request.headers, body: Array(body.readableBytesView))
        log.withLock { $0.append(received) }
        let json = received.json
        let model = json["model"] as? String ?? ""
        let stream = json["stream"] as? Bool ?? false
        if model == "fake-error-500" {
            let error =
                path == "/v1/messages"
                ? #"{"type":"error","error":{"type":"api_error","message":"fake internal error"}}"#
                : #"{"error":{"message":"fake internal error","type":"server_error","param":null,"code":null}}"#
            return Response(
                status: .internalServerError, headers: [.contentType: "application/json", Self.requestID: "req_fake"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: error)))
        }
        let fixture = try FakeFixture.load(Self.fixtureName(path: path, stream: stream))
        var headers: HTTPFields = [Self.requestID: "req_fake_1", Self.rateLimit: "59", Self.secretHeader: "x"]
        guard stream else {
            headers[.contentType] = "application/json"
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: fixture.responseBytes)))
        }
        headers[.contentType] = "text/event-stream"
        let includeUsage = (json["stream_options"] as? [String: Any])?["include_usage"] as? Bool ?? false
        let events = Self.events(fixture, path: path, includeUsage: includeUsage)
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                for (index, event) in events.enumerated() {
                    if model == "fake-slow" { try await Task.sleep(for: .milliseconds(20)) }
                    if index == 2, model == "fake-endless" {
                        while !self.isGateOpen {
                            try await writer.write(ByteBuffer(string: Self.padding(path: path)))
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        break
                    }
                    if index == 2, model == "fake-gate" || model == "fake-stall" {
                        await self.waitForGate()
                        if model == "fake-stall" { break }
                        for _ in 0..<20 { try await writer.write(ByteBuffer(string: Self.padding(path: path))) }
                    }
                    try await writer.write(ByteBuffer(string: event))
                }
                try await writer.finish(nil)
            })
    }

    /// The request id header a provider sends (passed through to the client).
    static let requestID = HTTPField.Name("x-request-id")!
    /// A rate-limit header (passed through).
    static let rateLimit = HTTPField.Name("x-ratelimit-remaining-requests")!
    /// A header the proxy must not pass through.
    static let secretHeader = HTTPField.Name("set-cookie")!

    static func fixtureName(path: String, stream: Bool) -> String {
        switch path {
        case "/v1/chat/completions": stream ? "openai_chat_stream" : "openai_chat_completion"
        case "/v1/responses": "openai_responses"
        case "/v1/embeddings": "openai_embeddings"
        default: stream ? "anthropic_messages_stream" : "anthropic_messages"
        }
    }

    /// The SSE events of a fixture: OpenAI chat chunks as `data:` lines (the usage chunk only when
    /// asked for), Anthropic events with their `event:` names, and for the Responses API (which
    /// has no stream fixture) `response.created`, one text delta and `response.completed` around the body.
    static func events(_ fixture: FakeFixture, path: String, includeUsage: Bool) -> [String] {
        func line(_ object: Any) -> String {
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
        switch path {
        case "/v1/responses":
            let response = fixture.response as! [String: Any]
            return [
                "event: response.created\ndata: \(line(["type": "response.created", "response": response]))\n\n",
                "event: response.output_text.delta\ndata: \(line(["type": "response.output_text.delta", "delta": "Hi"]))\n\n",
                "event: response.completed\ndata: \(line(["type": "response.completed", "response": response]))\n\n",
            ]
        case "/v1/messages":
            return (fixture.response as! [[String: Any]]).map { event in
                "event: \(event["type"] as! String)\ndata: \(line(event))\n\n"
            }
        default:
            return (fixture.response as! [Any]).compactMap { event -> String? in
                guard let chunk = event as? [String: Any] else { return "data: [DONE]\n\n" }
                let isUsageChunk = chunk["usage"] is [String: Any] && (chunk["choices"] as? [Any])?.isEmpty == true
                if isUsageChunk && !includeUsage { return nil }
                var shown = chunk
                if !includeUsage { shown["usage"] = nil }
                return "data: \(line(shown))\n\n"
            }
        }
    }

    /// A content event that carries a little text (sent while a gated stream goes on).
    static func padding(path: String) -> String {
        path == "/v1/messages"
            ? "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" more\"}}\n\n"
            : "data: {\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" more\"},\"finish_reason\":null}]}\n\n"
    }
}

/// One recorded provider response of `Tests/TokenLedgerTests/Fixtures/usage` with its expected record.
struct FakeFixture: @unchecked Sendable {
    // @unchecked: `response` and `expected` are immutable Foundation JSON values, only read.
    let response: Any
    let expected: [String: Any]

    /// The response as JSON bytes (a body fixture).
    var responseBytes: [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: response, options: [.sortedKeys]))
    }

    /// An expected count (`input_tokens`, …), `nil` when the fixture says null.
    func expected(_ field: String) -> Int? { expected[field] as? Int }

    /// The fixture's directory, found from this file (a clone alone passes its tests).
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("TokenLedgerTests/Fixtures/usage")

    static func load(_ name: String) throws -> FakeFixture {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return FakeFixture(response: object["response"]!, expected: object["expected"] as! [String: Any])
    }
}
