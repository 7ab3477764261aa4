import Logging
import Testing

@testable import TokenLedgerService

/// The per-request log handler: metadata set on it reaches the wrapped handler with each message
/// (a message's own metadata wins), and its level is the wrapped handler's. No server needed.
@Suite("Request log handler")
struct RequestLogHandlerTests {
    @Test("metadata set per request is logged with the message, the logger's own metadata and level kept")
    func metadataReachesTheBase() {
        let capture = LogCapture()
        var base = Logger(label: "test", factory: { _ in LogCapture.Handler(capture: capture) })
        base.logLevel = .info
        base[metadataKey: "server"] = "one"
        var request = base.withCheapMetadata()
        #expect(request.logLevel == .info)
        #expect(request.label == "test")
        request[metadataKey: "hb.request.id"] = "abc"
        request.debug("below the level")
        request.error("request failed", metadata: ["tokenledger.code": "internal", "server": "explicit"])
        #expect(capture.lines.count == 1)
        let line = capture.lines.first ?? ""
        #expect(line.hasPrefix("error request failed"))
        #expect(line.contains(#""hb.request.id": abc"#))
        #expect(line.contains(#""tokenledger.code": internal"#))
        #expect(line.contains(#""server": explicit"#))
        // The base logger is unchanged: no request id on it.
        base.error("server message")
        #expect(capture.lines.last?.contains("hb.request.id") == false)
        #expect(capture.lines.last?.contains(#""server": one"#) == true)
    }
}
