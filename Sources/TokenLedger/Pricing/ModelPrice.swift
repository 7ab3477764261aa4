/// What one model costs: USD per million tokens for each kind of token, and optional long-context
/// tiers (SPEC "Cost and currency budgets").
///
/// - ``input``: uncached input tokens.
/// - ``cachedInput``: cache reads; `nil` means the ``input`` rate.
/// - ``cacheWrite``: cache writes of the 5-minute kind (and every write a provider does not split by
///   duration); `nil` means the ``input`` rate.
/// - ``cacheWrite1h``: 1-hour cache writes (``UsageRecord/cacheWrite1hTokens``); `nil` means the
///   ``cacheWrite`` rate.
/// - ``output``: output tokens, reasoning included (reasoning is billed as output).
/// - ``tiers``: rates for a request whose input is **above** a number of tokens, applied to the
///   whole request (as Anthropic's long context and Gemini 2.5 Pro above 200k bill). The highest
///   tier whose ``Tier/above`` the input exceeds applies; below every tier, the base rates do.
///
/// JSON (the default price file, overrides in Redis, `price get`): `input`, `output`, and when set
/// `cached_input`, `cache_write`, `cache_write_1h`, `tiers` (`[{"above", "input", "output", …}]`),
/// `provider`, `source`; rates as decimal strings of USD per million tokens.
public struct ModelPrice: Sendable, Hashable, Codable {
    /// The five rates of one tier with every default applied: what a cost is computed with.
    public struct Rates: Sendable, Hashable {
        /// Uncached input tokens.
        public var input: PriceRate
        /// Cache reads.
        public var cachedInput: PriceRate
        /// 5-minute cache writes (and writes not split by duration).
        public var cacheWrite: PriceRate
        /// 1-hour cache writes.
        public var cacheWrite1h: PriceRate
        /// Output tokens, reasoning included.
        public var output: PriceRate

        /// The rates of a tier: a missing cache-read or cache-write rate is the input rate, a missing
        /// 1-hour write rate is the (5-minute) cache-write rate.
        public init(
            input: PriceRate, output: PriceRate, cachedInput: PriceRate? = nil, cacheWrite: PriceRate? = nil,
            cacheWrite1h: PriceRate? = nil
        ) {
            self.input = input
            self.output = output
            self.cachedInput = cachedInput ?? input
            self.cacheWrite = cacheWrite ?? input
            self.cacheWrite1h = cacheWrite1h ?? cacheWrite ?? input
        }
    }

    /// Rates for requests whose input is above ``above`` tokens. Missing cache rates default within
    /// the tier as they do for the base rates (to the tier's ``input``, and its ``cacheWrite``).
    public struct Tier: Sendable, Hashable, Codable {
        /// The tier applies when the event's input tokens are more than this (1…10^12).
        public var above: Int
        /// Uncached input tokens.
        public var input: PriceRate
        /// Output tokens.
        public var output: PriceRate
        /// Cache reads; `nil`: the tier's ``input``.
        public var cachedInput: PriceRate?
        /// 5-minute cache writes; `nil`: the tier's ``input``.
        public var cacheWrite: PriceRate?
        /// 1-hour cache writes; `nil`: the tier's ``cacheWrite``.
        public var cacheWrite1h: PriceRate?

        /// Creates a tier.
        ///
        /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidPrice``, field `tiers`) when
        ///   `above` is not from 1 to 10^12.
        public init(
            above: Int, input: PriceRate, output: PriceRate, cachedInput: PriceRate? = nil,
            cacheWrite: PriceRate? = nil, cacheWrite1h: PriceRate? = nil
        ) throws(ValidationError) {
            guard above >= 1, above <= Validation.maximumTokenCount else {
                throw ValidationError(
                    code: .invalidPrice, field: "tiers",
                    message: "a tier's above is \(above); it is a number of input tokens from 1 to 10^12")
            }
            self.above = above
            self.input = input
            self.output = output
            self.cachedInput = cachedInput
            self.cacheWrite = cacheWrite
            self.cacheWrite1h = cacheWrite1h
        }

        /// The tier's rates with its defaults applied.
        public var rates: Rates {
            Rates(
                input: input, output: output, cachedInput: cachedInput, cacheWrite: cacheWrite,
                cacheWrite1h: cacheWrite1h)
        }

        enum CodingKeys: String, CodingKey {
            case above, input, output
            case cachedInput = "cached_input"
            case cacheWrite = "cache_write"
            case cacheWrite1h = "cache_write_1h"
        }

        /// Decodes a tier, checking `above`.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            try self.init(
                above: try c.decode(Int.self, forKey: .above), input: try c.decode(PriceRate.self, forKey: .input),
                output: try c.decode(PriceRate.self, forKey: .output),
                cachedInput: try c.decodeIfPresent(PriceRate.self, forKey: .cachedInput),
                cacheWrite: try c.decodeIfPresent(PriceRate.self, forKey: .cacheWrite),
                cacheWrite1h: try c.decodeIfPresent(PriceRate.self, forKey: .cacheWrite1h))
        }
    }

    /// Uncached input tokens.
    public var input: PriceRate
    /// Output tokens, reasoning included.
    public var output: PriceRate
    /// Cache reads; `nil`: ``input``.
    public var cachedInput: PriceRate?
    /// 5-minute cache writes (and writes not split by duration); `nil`: ``input``.
    public var cacheWrite: PriceRate?
    /// 1-hour cache writes; `nil`: ``cacheWrite``.
    public var cacheWrite1h: PriceRate?
    /// Long-context tiers, in increasing ``Tier/above``, no two alike.
    public private(set) var tiers: [Tier]
    /// The provider the price is for (`openai`, `anthropic`, …), when known. Informational.
    public var provider: String?
    /// Where the price comes from: the provider's pricing page for the default file, `litellm`
    /// for an import, `nil` for `price set`.
    public var source: String?

    /// Creates a price.
    ///
    /// - Parameters:
    ///   - input: Uncached input tokens.
    ///   - output: Output tokens.
    ///   - cachedInput: Cache reads (default: `input`).
    ///   - cacheWrite: 5-minute cache writes (default: `input`).
    ///   - cacheWrite1h: 1-hour cache writes (default: `cacheWrite`).
    ///   - tiers: Long-context tiers, in any order.
    ///   - provider: The provider, informational.
    ///   - source: Where the price comes from.
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidPrice``, field `tiers`) when two
    ///   tiers have the same ``Tier/above``.
    public init(
        input: PriceRate, output: PriceRate, cachedInput: PriceRate? = nil, cacheWrite: PriceRate? = nil,
        cacheWrite1h: PriceRate? = nil, tiers: [Tier] = [], provider: String? = nil, source: String? = nil
    ) throws(ValidationError) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
        self.cacheWrite = cacheWrite
        self.cacheWrite1h = cacheWrite1h
        self.tiers = try Self.ordered(tiers)
        self.provider = provider
        self.source = source
    }

    /// Replaces the tiers (in any order).
    ///
    /// - Throws: ``ValidationError`` when two tiers have the same ``Tier/above``.
    public mutating func setTiers(_ tiers: [Tier]) throws(ValidationError) {
        self.tiers = try Self.ordered(tiers)
    }

    private static func ordered(_ tiers: [Tier]) throws(ValidationError) -> [Tier] {
        let sorted = tiers.sorted { $0.above < $1.above }
        for (lower, upper) in zip(sorted, sorted.dropFirst()) where lower.above == upper.above {
            throw ValidationError(
                code: .invalidPrice, field: "tiers",
                message: "two tiers are both above \(lower.above) input tokens; give each threshold once")
        }
        return sorted
    }

    /// The base rates (below every tier) with the defaults applied.
    public var baseRates: Rates {
        Rates(
            input: input, output: output, cachedInput: cachedInput, cacheWrite: cacheWrite, cacheWrite1h: cacheWrite1h)
    }

    /// The tier a request with `inputTokens` input tokens is billed at: the one with the highest
    /// ``Tier/above`` below `inputTokens`, or `nil` for the base rates.
    public func tier(forInputTokens inputTokens: Int) -> Tier? {
        tiers.last { inputTokens > $0.above }
    }

    /// The rates a request with `inputTokens` input tokens is billed at (the whole request at one tier).
    public func rates(forInputTokens inputTokens: Int) -> Rates {
        tier(forInputTokens: inputTokens)?.rates ?? baseRates
    }

    enum CodingKeys: String, CodingKey {
        case input, output, tiers, provider, source
        case cachedInput = "cached_input"
        case cacheWrite = "cache_write"
        case cacheWrite1h = "cache_write_1h"
    }

    /// Decodes a price; rates are decimal strings, checked as ``PriceRate/init(usdPerMillionTokens:field:)``.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            input: try c.decode(PriceRate.self, forKey: .input), output: try c.decode(PriceRate.self, forKey: .output),
            cachedInput: try c.decodeIfPresent(PriceRate.self, forKey: .cachedInput),
            cacheWrite: try c.decodeIfPresent(PriceRate.self, forKey: .cacheWrite),
            cacheWrite1h: try c.decodeIfPresent(PriceRate.self, forKey: .cacheWrite1h),
            tiers: try c.decodeIfPresent([Tier].self, forKey: .tiers) ?? [],
            provider: try c.decodeIfPresent(String.self, forKey: .provider),
            source: try c.decodeIfPresent(String.self, forKey: .source))
    }

    /// Encodes the rates that are set (defaults are not written out), `tiers` when there are any,
    /// and `provider`/`source` when known.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(input, forKey: .input)
        try c.encode(output, forKey: .output)
        try c.encodeIfPresent(cachedInput, forKey: .cachedInput)
        try c.encodeIfPresent(cacheWrite, forKey: .cacheWrite)
        try c.encodeIfPresent(cacheWrite1h, forKey: .cacheWrite1h)
        if !tiers.isEmpty { try c.encode(tiers, forKey: .tiers) }
        try c.encodeIfPresent(provider, forKey: .provider)
        try c.encodeIfPresent(source, forKey: .source)
    }
}
