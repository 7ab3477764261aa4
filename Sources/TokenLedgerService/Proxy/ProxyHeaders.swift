import HTTPTypes
import NIOHTTP1

/// Which headers cross the proxy, each way.
///
/// - Client → provider: everything but the client's credentials (`Authorization`, `x-api-key`,
///   `api-key`, cookies), hop-by-hop and framing headers, `Accept-Encoding` (the proxy reads the
///   usage, so it asks for an uncompressed body) and the proxy's own `X-TokenLedger-*`; then the
///   provider key from the configuration, and `anthropic-version` when the client sent none.
/// - Provider → client: only `Content-Type`, the request id, the rate-limit headers and the retry
///   hints (`retry-after`, `retry-after-ms`, `x-should-retry`); then `X-TokenLedger-Call-Id`,
///   `X-TokenLedger-Remaining-Tokens` and `X-TokenLedger-Remaining-Usd`.
enum ProxyHeaders {
    /// The header with the call id the proxy reserved and settled under.
    static let callID = HTTPField.Name("X-TokenLedger-Call-Id")!
    /// The tokens the user may still spend after this call's reservation (absent when unlimited).
    static let remainingTokens = HTTPField.Name("X-TokenLedger-Remaining-Tokens")!
    /// The dollars the user may still spend after this call's reservation, nine decimals (absent
    /// without a currency limit).
    static let remainingUSD = HTTPField.Name("X-TokenLedger-Remaining-Usd")!
    /// The user header, `X-TokenLedger-User`.
    static let user = HTTPField.Name(ProxyRequest.userHeader)!
    /// The Anthropic API version sent when the client sent none.
    static let anthropicVersion = "2023-06-01"

    /// Request headers never forwarded (lowercase).
    static let droppedRequestHeaders: Set<String> = [
        "authorization", "x-api-key", "api-key", "proxy-authorization", "cookie", "host", "content-length",
        "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection", "expect",
        "accept-encoding",
    ]

    /// Response headers passed back (lowercase), besides the rate-limit prefixes.
    static let passedResponseHeaders: Set<String> = [
        "content-type", "x-request-id", "request-id", "openai-processing-ms", "openai-version", "retry-after",
        "retry-after-ms", "x-should-retry",
    ]

    /// Response header prefixes passed back: the providers' rate-limit headers.
    static let passedResponsePrefixes = ["x-ratelimit-", "anthropic-ratelimit-"]

    /// The headers sent upstream for a client's `headers`.
    static func upstream(
        from headers: HTTPFields, provider: ProxyProvider, key: ProviderKey?, bodyLength: Int
    ) -> HTTPHeaders {
        var out = HTTPHeaders()
        var sawContentType = false
        var sawVersion = false
        for field in headers {
            let name = field.name.canonicalName
            if droppedRequestHeaders.contains(name) || name.hasPrefix("x-tokenledger-") { continue }
            if name == "content-type" { sawContentType = true }
            if name == "anthropic-version" { sawVersion = true }
            out.add(name: field.name.rawName, value: field.value)
        }
        if !sawContentType { out.add(name: "content-type", value: "application/json") }
        out.add(name: "accept-encoding", value: "identity")
        out.add(name: "content-length", value: String(bodyLength))
        switch provider {
        case .openai:
            if let key { out.add(name: "authorization", value: "Bearer \(key.secret)") }
        case .anthropic:
            if let key { out.add(name: "x-api-key", value: key.secret) }
            if !sawVersion { out.add(name: "anthropic-version", value: anthropicVersion) }
        }
        return out
    }

    /// The provider's headers the client sees.
    static func downstream(from headers: HTTPHeaders) -> HTTPFields {
        var out = HTTPFields()
        for (name, value) in headers {
            let lowered = name.lowercased()
            guard passedResponseHeaders.contains(lowered) || passedResponsePrefixes.contains(where: lowered.hasPrefix),
                let fieldName = HTTPField.Name(lowered)
            else { continue }
            out.append(HTTPField(name: fieldName, value: value))
        }
        return out
    }
}
