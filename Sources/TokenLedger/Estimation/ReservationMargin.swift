import Foundation

/// How much a reservation adds to a heuristic estimate, so that a reservation made before a call is
/// rarely short of the tokens the call then uses.
///
/// A billing estimate (a record whose provider reported nothing) stays unbiased: only
/// ``TokenEstimator/reservationCount(in:)``, which ``QuotaGuard`` reserves with, adds the margin.
/// Exact counts (a rank file is configured) get no margin. Configure it with
/// `TOKENLEDGER_RESERVATION_MARGIN` (`tokenledger.reservationMargin`): `measured` (the default),
/// `none`, or a whole percentage `0`…`100`.
public enum ReservationMargin: Sendable, Hashable, CustomStringConvertible {
    /// The estimator's 90th percentile under-estimate on text it was not fitted to, for the kind of
    /// text that dominates the estimate (Latin letters, ideographs, Cyrillic, kana, Hangul, other
    /// scripts, or symbols and digits): measured by `scripts/estimator-accuracy` per encoding, about
    /// 4-10 % (docs/estimation.md).
    case measured
    /// No margin: reservations use the unbiased estimate.
    case none
    /// A fixed margin, in percent of the estimate (`0`…`100`).
    case percent(Int)

    /// The configuration key's environment variable.
    public static let environmentVariable = "TOKENLEDGER_RESERVATION_MARGIN"

    /// Reads `measured`, `none` or a whole percentage `0`…`100` (a trailing `%` allowed).
    ///
    /// - Throws: ``ValidationError`` with ``ValidationError/Code/invalidConfiguration`` naming
    ///   `TOKENLEDGER_RESERVATION_MARGIN` when the text is anything else.
    public init(parsing text: String) throws(ValidationError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch trimmed {
        case "measured": self = .measured
        case "none", "off": self = .none
        default:
            let digits = trimmed.hasSuffix("%") ? String(trimmed.dropLast()) : trimmed
            guard let value = Int(digits), (0...100).contains(value) else {
                let shown = trimmed.count > 40 ? String(trimmed.prefix(40)) + "…" : trimmed
                throw ValidationError(
                    code: .invalidConfiguration, field: Self.environmentVariable,
                    message:
                        "\(Self.environmentVariable) is '\(shown)'; give measured, none or a whole percentage from 0 to 100"
                )
            }
            self = .percent(value)
        }
    }

    /// `measured`, `none` or `N%`.
    public var description: String {
        switch self {
        case .measured: "measured"
        case .none: "none"
        case .percent(let value): "\(value)%"
        }
    }

    /// `tokens` with the margin added, rounded up.
    ///
    /// - Parameters:
    ///   - tokens: The unbiased estimate.
    ///   - marginClass: The kind of text that dominated it (an index into `measured`).
    ///   - measured: The measured margins of the estimator's encoding, as fractions.
    func apply(to tokens: Int, marginClass: Int, measured: [Double]) -> Int {
        let fraction: Double
        switch self {
        case .none: return tokens
        case .percent(let value): fraction = Double(value) / 100
        case .measured: fraction = measured.indices.contains(marginClass) ? measured[marginClass] : 0
        }
        let reserved = (Double(tokens) * (1 + fraction)).rounded(.up)
        return max(tokens, Int(reserved))
    }
}
