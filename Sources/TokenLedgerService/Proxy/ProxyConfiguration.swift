import Foundation
import TokenLedger

/// How the proxy routes of `tokenledger serve` (`/proxy/openai/v1/…`, `/proxy/anthropic/v1/…`)
/// reach the providers and what they reserve (docs/proxy.md).
///
/// Read by ``init(config:)`` from the environment or the configuration file, or built field by field.
/// The provider keys are secrets: ``description`` and every message show only whether one is set.
public struct ProxyConfiguration: Sendable, CustomStringConvertible {
    /// OpenAI's public API: `https://api.openai.com/v1`.
    public static let defaultOpenAIUpstream = "https://api.openai.com/v1"
    /// Anthropic's public API: `https://api.anthropic.com/v1`.
    public static let defaultAnthropicUpstream = "https://api.anthropic.com/v1"
    /// The output reserved for a request that names no maximum: 4096 tokens.
    public static let defaultMaximumOutputTokens = 4096

    /// The base URL the OpenAI routes forward to (the SDK's `base_url`, with `/v1`), without a
    /// trailing slash. Default ``defaultOpenAIUpstream``; `TOKENLEDGER_UPSTREAM_OPENAI`.
    public var openAIUpstream: String
    /// The base URL the Anthropic route forwards to, without a trailing slash. Default
    /// ``defaultAnthropicUpstream``; `TOKENLEDGER_UPSTREAM_ANTHROPIC`.
    public var anthropicUpstream: String
    /// The key sent to OpenAI as `Authorization: Bearer` (`OPENAI_API_KEY`); `nil`: none is sent.
    public var openAIKey: ProviderKey?
    /// The key sent to Anthropic as `x-api-key` (`ANTHROPIC_API_KEY`); `nil`: none is sent.
    public var anthropicKey: ProviderKey?
    /// The user a request is booked to when it names none (no `X-TokenLedger-User` header, no
    /// `user` or `metadata.user_id`); `nil` (default): such a request is refused with 400.
    /// `TOKENLEDGER_PROXY_DEFAULT_USER`.
    public var defaultUser: String?
    /// The output tokens reserved when the request names no maximum (`max_tokens`,
    /// `max_completion_tokens`, `max_output_tokens`). Default ``defaultMaximumOutputTokens``;
    /// `TOKENLEDGER_PROXY_MAX_OUTPUT_TOKENS`.
    public var defaultMaximumOutputTokens: Int
    /// How long a reservation lives if the proxy dies before it settles or releases it. Default 10
    /// minutes: longer than any call is expected to stream.
    public var leaseTTL: Duration
    /// What a call does when Redis cannot be reached to reserve: forwarded unreserved (its usage
    /// still settled, spooled when a spool is configured) or refused with 503. Default fail-closed;
    /// `TOKENLEDGER_PROXY_WHEN_UNAVAILABLE` (`fail-open` or `fail-closed`).
    public var whenUnavailable: QuotaGuard.UnavailablePolicy
    /// How long connecting to a provider may take. Default 10 s.
    public var connectTimeout: Duration
    /// The longest a provider may stay silent: before the response head, and between two reads of
    /// its body (a stalled stream ends here). Default 600 s (reasoning models think before their
    /// first byte).
    public var readTimeout: Duration
    /// After the client went away mid-stream, how long the proxy keeps reading the provider's stream
    /// for its usage before it settles an estimate instead (a stalled provider is cut by
    /// ``readTimeout`` too). Default 60 s.
    public var drainTimeout: Duration
    /// The most connections kept to one provider host. Default 256.
    public var maximumConnections: Int

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - openAIUpstream: The OpenAI base URL (`http` or `https`, with a host).
    ///   - anthropicUpstream: The Anthropic base URL.
    ///   - openAIKey: The key sent to OpenAI.
    ///   - anthropicKey: The key sent to Anthropic.
    ///   - defaultUser: The user of requests that name none; `nil` refuses them.
    ///   - defaultMaximumOutputTokens: The output reserved when a request names no maximum (0…10^12).
    ///   - leaseTTL: How long a reservation outlives a proxy that died (1 s … 7 days).
    ///   - whenUnavailable: Fail open or closed when Redis cannot reserve.
    ///   - connectTimeout: The connect bound (positive).
    ///   - readTimeout: The silence bound (positive).
    ///   - drainTimeout: The bound on reading after the client left (positive).
    ///   - maximumConnections: Connections per provider host (at least 1).
    /// - Throws: `ValidationError` (`invalid_configuration`) naming the setting that is wrong; a
    ///   key's value is never shown.
    public init(
        openAIUpstream: String = ProxyConfiguration.defaultOpenAIUpstream,
        anthropicUpstream: String = ProxyConfiguration.defaultAnthropicUpstream,
        openAIKey: ProviderKey? = nil, anthropicKey: ProviderKey? = nil, defaultUser: String? = nil,
        defaultMaximumOutputTokens: Int = ProxyConfiguration.defaultMaximumOutputTokens,
        leaseTTL: Duration = .seconds(600), whenUnavailable: QuotaGuard.UnavailablePolicy = .failClosed,
        connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(600),
        drainTimeout: Duration = .seconds(60), maximumConnections: Int = 256
    ) throws(ValidationError) {
        self.openAIUpstream = try Self.baseURL(openAIUpstream, field: "upstream_openai")
        self.anthropicUpstream = try Self.baseURL(anthropicUpstream, field: "upstream_anthropic")
        self.openAIKey = openAIKey
        self.anthropicKey = anthropicKey
        if let defaultUser { try Validation.validateUserID(defaultUser, field: "proxy_default_user") }
        self.defaultUser = defaultUser
        guard (0...1_000_000_000_000).contains(defaultMaximumOutputTokens) else {
            throw Self.invalid(
                "proxy_max_output_tokens",
                "the default maximum output must be 0 to 10^12 tokens, not \(defaultMaximumOutputTokens)")
        }
        self.defaultMaximumOutputTokens = defaultMaximumOutputTokens
        guard leaseTTL >= .seconds(1), leaseTTL <= .seconds(7 * 86_400) else {
            throw Self.invalid("proxy_lease_ttl", "the proxy's lease TTL must be 1 s to 7 days, not \(leaseTTL)")
        }
        self.leaseTTL = leaseTTL
        self.whenUnavailable = whenUnavailable
        for (name, value) in [
            ("upstream_connect_timeout", connectTimeout), ("upstream_read_timeout", readTimeout),
            ("proxy_drain_timeout", drainTimeout),
        ] where value <= .zero {
            throw Self.invalid(name, "\(name) must be positive, not \(value)")
        }
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.drainTimeout = drainTimeout
        guard maximumConnections >= 1 else {
            throw Self.invalid(
                "upstream_max_connections",
                "the upstream connection limit must be at least 1, not \(maximumConnections)")
        }
        self.maximumConnections = maximumConnections
    }

    /// The defaults: the providers' public URLs, no provider keys, no default user, 4096 output
    /// tokens reserved when a request names no maximum, fail-closed.
    public static let standard = ProxyConfiguration(defaults: ())

    /// The defaults, which need no check.
    private init(defaults: Void) {
        openAIUpstream = Self.defaultOpenAIUpstream
        anthropicUpstream = Self.defaultAnthropicUpstream
        defaultMaximumOutputTokens = Self.defaultMaximumOutputTokens
        leaseTTL = .seconds(600)
        whenUnavailable = .failClosed
        connectTimeout = .seconds(10)
        readTimeout = .seconds(600)
        drainTimeout = .seconds(60)
        maximumConnections = 256
    }

    /// The upstreams, whether each key is set (never the key), and the default user, e.g.
    /// `openai https://api.openai.com/v1 (key set), anthropic https://api.anthropic.com/v1 (no key)`.
    public var description: String {
        var text =
            "openai \(openAIUpstream) (\(openAIKey == nil ? "no key" : "key set")), "
            + "anthropic \(anthropicUpstream) (\(anthropicKey == nil ? "no key" : "key set"))"
        if let defaultUser { text += ", default user \(String(reflecting: defaultUser))" }
        return text
    }

    /// A base URL checked and without its trailing slashes: `http` or `https`, a host, no query,
    /// no user info (a key belongs in the key settings, never in a URL that may be shown).
    static func baseURL(_ text: String, field: String) throws(ValidationError) -> String {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw invalid(field, "\(field) must be an http or https URL with a host, e.g. \(defaultOpenAIUpstream)")
        }
        guard components.user == nil, components.password == nil, components.query == nil,
            components.fragment == nil
        else {
            throw invalid(field, "\(field) must not carry user info, a query or a fragment")
        }
        return trimmed
    }

    static func invalid(_ field: String, _ message: String) -> ValidationError {
        ValidationError(code: .invalidConfiguration, field: field, message: message)
    }
}

/// A provider API key from the proxy's configuration: sent upstream, never shown. Its description,
/// debug description and mirror are `<redacted>`, so no log line, error or dump can print it.
public struct ProviderKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The key as the provider expects it.
    let secret: String

    /// Wraps a key; `nil` for an empty or blank one (unset).
    ///
    /// - Parameter secret: The key, e.g. the value of `OPENAI_API_KEY`.
    public init?(_ secret: String) {
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        self.secret = trimmed
    }

    /// `<redacted>`.
    public var description: String { "<redacted>" }
    /// `<redacted>`.
    public var debugDescription: String { "<redacted>" }
    /// A mirror without children, so `dump` shows no key.
    public var customMirror: Mirror { Mirror(self, children: [] as [Mirror.Child], displayStyle: .struct) }
}
