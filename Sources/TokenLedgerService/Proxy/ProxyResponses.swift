import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TokenLedger

/// The answers the proxy makes itself: a quota denial in the provider's own error shape (so the
/// SDK raises its usual rate-limit error), and the problems of a provider that failed.
enum ProxyResponses {
    /// 429 in the provider's error shape, with `x-should-retry: false` (the official SDKs then do
    /// not retry a denial that only the next cycle or a new limit lifts) or, for a rate denial that
    /// passes with time, `true`; `Retry-After` (seconds until the rate window admits the call, or
    /// until the cycle ends, when known) and the remaining tokens. The decision is in the body's
    /// `tokenledger` member.
    static func denial(
        _ decision: QuotaDecision, provider: ProxyProvider, retryAfterSeconds: Int?
    ) -> Response {
        let message =
            decision.deniedBy?.isRate == true
            ? "TokenLedger: user \(String(reflecting: decision.user)): " + (decision.denialReason ?? "a rate limit")
            : "TokenLedger: the token limit of user \(String(reflecting: decision.user)) does not admit this call: "
                + "it needs \(decision.requested) tokens (prompt and maximum output); \(decision.used) used and "
                + "\(decision.reserved) reserved of \(decision.limit.map(String.init) ?? "no limit") this cycle"
        var body: [String: Any]
        switch provider {
        case .openai:
            body = [
                "error": [
                    "message": message, "type": "insufficient_quota", "param": NSNull(),
                    "code": ServiceError.Code.quotaDenied.rawValue,
                ] as [String: Any]
            ]
        case .anthropic:
            body = ["type": "error", "error": ["type": "rate_limit_error", "message": message]]
        }
        if let encoded = try? JSONResponse.encoder().encode(decision),
            let object = try? JSONSerialization.jsonObject(with: encoded)
        {
            body["tokenledger"] = object
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        let passes = decision.deniedBy?.isRate == true && decision.retryAfterMilliseconds != nil
        headers[HTTPField.Name("x-should-retry")!] = passes ? "true" : "false"
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if let remaining = decision.remaining { headers[ProxyHeaders.remainingTokens] = String(remaining) }
        var data =
            (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
        data.append(0x0A)
        return Response(
            status: .tooManyRequests, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// 502 `upstream_unreachable` or 504 `upstream_timeout` as a problem (no URL, header or key in it).
    static func upstreamProblem(_ error: ProxyUpstreamError) -> Response {
        let status: HTTPResponse.Status = error.kind == .timeout ? .gatewayTimeout : .badGateway
        return JSONResponse.problem(
            Problem(status: status, code: error.kind.rawValue, detail: error.message))
    }
}
