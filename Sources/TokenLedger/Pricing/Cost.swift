/// An amount of money in exact integer nano-USD (10^-9 USD): the cost of one event, or a sum of them.
///
/// The cost of an event is computed once, rounded once (half away from zero) to a whole nano-USD
/// (``ModelPrice/cost(of:)``); totals are exact sums of those. JSON: a decimal string of USD with
/// nine decimals, `"3.960000000"`, `"0.000146625"` (SPEC "Cost and currency budgets"); an event whose
/// model has no price has no `Cost` (`nil`, written as `null`).
public struct Cost: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The amount in nano-USD.
    public var nanoUSD: Int

    /// Nothing.
    public static let zero = Cost(nanoUSD: 0)

    /// An amount of nano-USD.
    public init(nanoUSD: Int) { self.nanoUSD = nanoUSD }

    /// Parses USD with at most nine decimals (`"3.96"`, `"3.960000000"`, `"0.000146625"`).
    ///
    /// - Parameters:
    ///   - text: The decimal text (a leading `-` for a negative amount).
    ///   - field: The field named in the error.
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidPrice``) naming `field` when the text
    ///   is not a decimal number, has a non-zero digit past the ninth decimal, or does not fit in 64 bits.
    public init(parsing text: String, field: String = "cost_usd") throws(ValidationError) {
        let negative = text.hasPrefix("-")
        let magnitude = negative ? String(text.dropFirst()) : text
        switch ExactDecimal.scaled(magnitude, by: 9, maximum: Int.max) {
        case .success(let value):
            nanoUSD = negative ? -value : value
        case .failure(let failure):
            let reason =
                switch failure {
                case .tooPrecise: "an amount has at most nine decimals (1 nano-USD)"
                case .tooLarge: "it does not fit in 64 bits of nano-USD"
                case .negative, .notANumber: "an amount is a decimal number of USD, such as \"3.960000000\""
                }
            throw ValidationError(
                code: .invalidPrice, field: field, message: "\(field) is \(ValidationError.quoted(text)); \(reason)")
        }
    }

    /// USD with nine decimals: `"3.960000000"`, `"-0.000000001"`.
    public var description: String { ExactDecimal.format(nanoUSD, scale: 9, minimumFractionDigits: 9) }

    /// The sum and whether it left 64 bits (the sum is then not meaningful).
    public func addingReportingOverflow(_ other: Cost) -> (partialValue: Cost, overflow: Bool) {
        let (sum, overflow) = nanoUSD.addingReportingOverflow(other.nanoUSD)
        return (Cost(nanoUSD: sum), overflow)
    }

    /// Orders by amount.
    public static func < (lhs: Cost, rhs: Cost) -> Bool { lhs.nanoUSD < rhs.nanoUSD }

    /// Decodes the string form, strictly as ``init(parsing:field:)``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let field = decoder.codingPath.last?.stringValue ?? "cost_usd"
        guard let text = try? container.decode(String.self) else {
            throw ValidationError(
                code: .invalidPrice, field: field,
                message: "\(field) must be a decimal string of USD with nine decimals, such as \"3.960000000\"")
        }
        self = try Cost(parsing: text, field: field)
    }

    /// Encodes ``description``.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
