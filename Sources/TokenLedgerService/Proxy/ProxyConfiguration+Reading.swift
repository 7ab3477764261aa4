import Configuration
import TokenLedger

extension ProxyConfiguration {
    /// Reads the proxy's settings from the one configuration reader of the process
    /// (`TokenLedgerConfiguration.reader(environment:configFile:)`: the environment, then the JSON
    /// file). An empty value counts as unset; the keys are read as secrets.
    ///
    /// | key | environment | default |
    /// |---|---|---|
    /// | `tokenledger.upstreamOpenai` | `TOKENLEDGER_UPSTREAM_OPENAI` | ``defaultOpenAIUpstream`` |
    /// | `tokenledger.upstreamAnthropic` | `TOKENLEDGER_UPSTREAM_ANTHROPIC` | ``defaultAnthropicUpstream`` |
    /// | `openai.apiKey` (secret) | `OPENAI_API_KEY` | none |
    /// | `anthropic.apiKey` (secret) | `ANTHROPIC_API_KEY` | none |
    /// | `tokenledger.proxyDefaultUser` | `TOKENLEDGER_PROXY_DEFAULT_USER` | none: a request without a user is refused |
    /// | `tokenledger.proxyMaxOutputTokens` | `TOKENLEDGER_PROXY_MAX_OUTPUT_TOKENS` | 4096 |
    /// | `tokenledger.proxyWhenUnavailable` | `TOKENLEDGER_PROXY_WHEN_UNAVAILABLE` | `fail-closed` (or `fail-open`) |
    ///
    /// - Parameters:
    ///   - config: The process's reader (not scoped).
    ///   - openAIUpstream: Takes the place of `tokenledger.upstreamOpenai` (a `serve` option).
    ///   - anthropicUpstream: Takes the place of `tokenledger.upstreamAnthropic`.
    /// - Throws: `ValidationError` (`invalid_configuration`) naming the setting that is wrong.
    public init(
        config: ConfigReader, openAIUpstream: String? = nil, anthropicUpstream: String? = nil
    ) throws(ValidationError) {
        func text(_ key: ConfigKey, secret: Bool = false) -> String? {
            let value = config.string(forKey: key, isSecret: secret) ?? config.int(forKey: key).map(String.init)
            return value.flatMap { $0.isEmpty ? nil : $0 }
        }
        var maximumOutput = Self.defaultMaximumOutputTokens
        if let given = text("tokenledger.proxyMaxOutputTokens") {
            guard let parsed = Int(given) else {
                throw Self.invalid(
                    "proxy_max_output_tokens", "TOKENLEDGER_PROXY_MAX_OUTPUT_TOKENS must be a whole number of tokens")
            }
            maximumOutput = parsed
        }
        var policy = QuotaGuard.UnavailablePolicy.failClosed
        switch text("tokenledger.proxyWhenUnavailable")?.lowercased() {
        case nil, "fail-closed", "failclosed", "closed": policy = .failClosed
        case "fail-open", "failopen", "open": policy = .failOpen
        default:
            throw Self.invalid(
                "proxy_when_unavailable", "TOKENLEDGER_PROXY_WHEN_UNAVAILABLE must be fail-open or fail-closed")
        }
        try self.init(
            openAIUpstream: openAIUpstream ?? text("tokenledger.upstreamOpenai") ?? Self.defaultOpenAIUpstream,
            anthropicUpstream: anthropicUpstream ?? text("tokenledger.upstreamAnthropic")
                ?? Self.defaultAnthropicUpstream,
            openAIKey: text("openai.apiKey", secret: true).flatMap(ProviderKey.init),
            anthropicKey: text("anthropic.apiKey", secret: true).flatMap(ProviderKey.init),
            defaultUser: text("tokenledger.proxyDefaultUser"), defaultMaximumOutputTokens: maximumOutput,
            whenUnavailable: policy)
    }
}
