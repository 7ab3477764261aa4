/// A price in USD per million tokens, held exactly as an integer count of nano-USD (10^-9 USD) per
/// million tokens.
///
/// ## Why this unit
/// Providers publish list prices in USD per million tokens with a few decimals: `3`, `0.3`, `1.25`,
/// `0.075`, `0.00875` (Nova Micro's cache reads), `0.0375`. Every one of them is a whole number of
/// nano-USD per million tokens (`0.00875` → 8,750,000), and so is every per-token price LiteLLM
/// lists with up to 15 decimals (`3e-06` USD per token = 3 USD per million = 3,000,000,000). A
/// token count times the rate is then an integer of 10^-15 USD, which the cost of an event divides
/// by 10^6 once, rounding once (``ModelPrice/cost(of:)``). Parsing and printing go through the
/// decimal text (`ExactDecimal`), never through `Double`.
///
/// ## Bounds
/// A rate is from 0 to ``maximum`` (4,000 USD per million tokens; the dearest list price today is
/// o1-pro's output at 600). The bound keeps the cost of any record the ledger accepts (input and
/// output up to 10^12 tokens each) inside 64 bits: 2 × 10^12 tokens × 4 × 10^12 nano-USD per
/// million tokens ÷ 10^6 = 8 × 10^18 nano-USD < 2^63.
///
/// JSON: the rate in USD per million tokens as a decimal string without trailing zeros (`"0.075"`,
/// `"3"`), so no reader turns it into a binary float on the way.
public struct PriceRate: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The rate in nano-USD (10^-9 USD) per million tokens, which is also femto-USD (10^-15 USD) per token.
    public let nanoUSDPerMillionTokens: Int

    /// The largest rate accepted: 4,000 USD per million tokens.
    public static let maximum = PriceRate(exactly: 4_000 * 1_000_000_000)
    /// Nothing per token.
    public static let zero = PriceRate(exactly: 0)

    private init(exactly value: Int) { nanoUSDPerMillionTokens = value }

    /// A rate from its count of nano-USD per million tokens.
    ///
    /// - Parameters:
    ///   - value: The count of nano-USD per million tokens, 0…``maximum``.
    ///   - field: The field named in the error.
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidPrice``) when out of range.
    public init(nanoUSDPerMillionTokens value: Int, field: String = "rate") throws(ValidationError) {
        guard value >= 0, value <= Self.maximum.nanoUSDPerMillionTokens else {
            throw ValidationError(
                code: .invalidPrice, field: field,
                message:
                    "\(field) is \(value) nano-USD per million tokens; a rate is from 0 to \(Self.maximum.nanoUSDPerMillionTokens)"
            )
        }
        nanoUSDPerMillionTokens = value
    }

    /// Parses a rate in USD per million tokens (`"3"`, `"0.3"`, `"1.25"`, `"0.075"`, `"2.5e1"`).
    ///
    /// - Parameters:
    ///   - text: Decimal text with at most nine decimals after scaling.
    ///   - field: The option or field named in the error (`--input`, `input`).
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidPrice``) naming `field`: not a
    ///   decimal number, negative, more precise than 10^-9 USD per million tokens, or above ``maximum``.
    public init(usdPerMillionTokens text: String, field: String) throws(ValidationError) {
        self = try Self.parse(text, scale: 9, field: field, unit: "USD per million tokens")
    }

    /// Parses a rate in USD per token, as LiteLLM lists them (`"3e-06"`, `"0.000015"`, `"1.25e-07"`).
    ///
    /// - Parameters:
    ///   - text: The number's decimal text as it is written in the file (never a `Double`).
    ///   - field: The field named in the error.
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidPrice``) as
    ///   ``init(usdPerMillionTokens:field:)``; more than 15 decimals is too precise here.
    public init(usdPerToken text: String, field: String) throws(ValidationError) {
        self = try Self.parse(text, scale: 15, field: field, unit: "USD per token")
    }

    private static func parse(_ text: String, scale: Int, field: String, unit: String) throws(ValidationError)
        -> PriceRate
    {
        let maximum = Self.maximum.nanoUSDPerMillionTokens
        let shown = ValidationError.quoted(text, limit: 40)
        switch ExactDecimal.scaled(text, by: scale, maximum: maximum) {
        case .success(let value):
            return PriceRate(exactly: value)
        case .failure(.notANumber):
            throw ValidationError(
                code: .invalidPrice, field: field,
                message: "\(field) is \(shown); a rate is a decimal number of \(unit), such as 3 or 0.075")
        case .failure(.negative):
            throw ValidationError(
                code: .invalidPrice, field: field, message: "\(field) is \(shown); a rate cannot be negative")
        case .failure(.tooPrecise):
            throw ValidationError(
                code: .invalidPrice, field: field,
                message:
                    "\(field) is \(shown); a rate is exact to 10^-9 USD per million tokens (at most \(scale) decimals of \(unit))"
            )
        case .failure(.tooLarge):
            throw ValidationError(
                code: .invalidPrice, field: field,
                message: "\(field) is \(shown); the largest rate is \(Self.maximum) USD per million tokens")
        }
    }

    /// The rate in USD per million tokens, without trailing zeros: `"0.075"`, `"3"`, `"1.25"`.
    public var description: String { ExactDecimal.format(nanoUSDPerMillionTokens, scale: 9) }

    /// Orders by amount.
    public static func < (lhs: PriceRate, rhs: PriceRate) -> Bool {
        lhs.nanoUSDPerMillionTokens < rhs.nanoUSDPerMillionTokens
    }

    /// Decodes the string form (USD per million tokens), strictly as ``init(usdPerMillionTokens:field:)``;
    /// a number instead of a string is refused (it may already have passed through a binary float).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let field = decoder.codingPath.last?.stringValue ?? "rate"
        guard let text = try? container.decode(String.self) else {
            throw ValidationError(
                code: .invalidPrice, field: field,
                message: "\(field) must be a decimal string of USD per million tokens, such as \"0.3\"")
        }
        self = try PriceRate(usdPerMillionTokens: text, field: field)
    }

    /// Encodes ``description``.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
