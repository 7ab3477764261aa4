import BytePairEncoding

/// Estimates `o200k_base` or `cl100k_base` token counts without a BPE vocabulary: the fallback when
/// no rank file for the model's encoding is configured (`TOKENLEDGER_BPE_DIR`).
///
/// The estimator cuts the text into exactly the pieces `o200k_base`'s pre-tokenizer makes
/// (BytePairEncoding's `PieceSplitter`: letter words with an optional leading space or punctuation,
/// digit groups, punctuation clusters, whitespace and newline runs) and prices every piece with
/// weights fitted, per encoding, against real token counts:
///
/// - ASCII words by prefix (none, a space, punctuation, or glued to the word or digits before them,
///   as in `camelCase`, base64 and hex), letter case and length, from one of five tables chosen per
///   text: plain, European (when accented letters are frequent: German, French, Spanish), dense
///   (base64, hex, UUIDs), indented (source code) or foreign (Latin words in text of another script);
/// - words with letters beyond ASCII by length and their number of such letters;
/// - CJK ideograph runs by length and by how many of their ideographs are not a token of the
///   encoding by themselves (a bitmap of U+4E00...U+9FFF per encoding); Cyrillic and Greek, kana,
///   Hangul and other scripts by prefix and length;
/// - digits in groups of up to three, one token per group;
/// - punctuation clusters by their number of distinct runs; emoji and symbols by their UTF-8
///   length; whitespace runs and newline runs.
///
/// Measured on sources it was not fitted to (`./scripts/estimator-accuracy`, leave one source out),
/// its mean error is a few percent for English, JSON, code, Chinese and nine other kinds of text
/// (docs/estimation.md has the table). The figures are estimates: use an exact encoder where one
/// exists. For a reservation, `reservationCount(in:)` adds the measured safety margin.
///
/// The estimator reads the text's UTF-8 in place in one pass and allocates nothing for a native
/// string; it uses no regular expressions and no Foundation, and is deterministic.
public struct HeuristicTokenEstimator: TokenEstimator {
    /// The encoding whose counts this estimator approximates.
    public let encoding: EncodingName
    /// The reservation margin `reservationCount(in:)` applies.
    public let margin: ReservationMargin
    /// The calibrated weights of ``encoding``.
    let weights: Weights
    /// The pre-tokenizer whose pieces are priced (o200k_base's, for both encodings).
    static let splitter = PieceSplitter(pattern: .o200k)

    /// Creates an estimator of `o200k_base` counts (GPT-4o, GPT-4.1, GPT-5, o-series).
    public init() {
        self.init(encoding: .o200kBase)
    }

    /// Creates an estimator of one encoding's counts.
    ///
    /// - Parameters:
    ///   - encoding: The encoding to approximate: `o200k_base` or `cl100k_base` (GPT-4, GPT-3.5).
    ///   - margin: The safety margin of `reservationCount(in:)`; default the measured one.
    public init(encoding: EncodingName, margin: ReservationMargin = .measured) {
        self.encoding = encoding
        self.margin = margin
        switch encoding {
        case .o200kBase: weights = .o200k
        case .cl100kBase: weights = .cl100k
        }
    }

    /// Estimates the number of tokens in `text`: unbiased, what an estimated record bills.
    ///
    /// - Parameter text: Any text; special tokens are not recognised.
    /// - Returns: `0` for empty text, otherwise an estimate of at least `1`.
    public func countTokens(in text: String) -> Int {
        measure(text).tokens
    }

    /// The estimate with the reservation margin of the text's kind added (rounded up), for reserving
    /// quota before a call: at least ``countTokens(in:)``, so a reservation is rarely short.
    ///
    /// - Parameter text: Any text.
    /// - Returns: `0` for empty text, otherwise at least ``countTokens(in:)``.
    public func reservationCount(in text: String) -> Int {
        let estimate = measure(text)
        return margin.apply(to: estimate.tokens, marginClass: estimate.marginClass, measured: weights.margin)
    }

    /// The estimate and the estimate with its margin, from one pass over `text`.
    ///
    /// - Parameter text: Any text.
    /// - Returns: `countTokens(in:)` and `reservationCount(in:)` of the text.
    public func countAndReservation(in text: String) -> (count: Int, reservation: Int) {
        let estimate = measure(text)
        return (
            estimate.tokens,
            margin.apply(to: estimate.tokens, marginClass: estimate.marginClass, measured: weights.margin)
        )
    }

    /// An estimate and the kind of text whose cost dominated it.
    struct Estimate {
        /// The rounded estimate.
        var tokens: Int
        /// The index of the margin class (``Weights/marginClasses``).
        var marginClass: Int
    }

    /// Prices every piece of `text`.
    func measure(_ text: String) -> Estimate {
        if text.isEmpty { return Estimate(tokens: 0, marginClass: 0) }
        var pass = Pass()
        Self.splitter.forEachPiece(in: text) { piece in addCost(of: piece, to: &pass) }
        return pass.finish(weights)
    }
}

extension HeuristicTokenEstimator {
    /// Every weight of the cost model of one encoding; generated by `scripts/estimator_calibrate.py`.
    struct Weights: Sendable {
        /// ASCII letters-only words: `[prefix 4][shape 4][length 0...16]`, flattened, each lane one
        /// context (plain, European, dense, indented, foreign; the last three lanes unused).
        var alphaWord: [SIMD8<Double>]
        /// Extra cost per letter beyond 16.
        var alphaSlope: Double
        /// Latin words with letters beyond ASCII: `[prefix 4][length 0...16]`, flattened.
        var accented: [Double]
        /// Extra cost per non-ASCII letter of a word beyond its first.
        var latinExtra: Double
        /// Runs of other scripts: `[han, cased, kana, hangul, other][prefix 3][length 0...16]`, flattened.
        var scriptWord: [Double]
        /// Extra cost per letter beyond 16: `[han, cased, kana, hangul, other]`.
        var scriptSlope: [Double]
        /// Extra cost of an ideograph that is not one token by itself.
        var rareHan: Double
        /// One bit per ideograph U+4E00...U+9FFF that is one token by itself.
        var commonHan: [UInt64]
        /// Punctuation clusters: `[group][leading space][segments 0...8]`, flattened.
        var punct: [Double]
        /// Extra cost per segment beyond 8: `[group]`.
        var punctSlope: [Double]
        /// Extra cost per repeated scalar inside a segment.
        var punctRepeat: Double
        /// Cost of a symbol or emoji by its UTF-8 length `0...4`.
        var symbol: [Double]
        /// Cost of a group of one to three digits.
        var digitGroup: Double
        /// Newline runs by their number of newlines `0...4`.
        var newline: [Double]
        /// Extra cost per newline beyond 4.
        var newlineSlope: Double
        /// A run of spaces costs one token per this many scalars, rounded up.
        var spaceRun: Int
        /// The measured reservation margin of each margin class, a fraction (`0.07` is 7 %).
        var margin: [Double]

        static let maxWord = 16
        static let maxPunct = 8
        static let maxNewlines = 4
        /// The margin classes, in the order of ``margin``: the kind of text that dominates a cost.
        static let marginClasses = [
            "latin", "han", "cyrillic_greek", "kana", "hangul", "other_script", "symbols_digits",
        ]

        /// Whether an ideograph is one token of the encoding by itself (only U+4E00...U+9FFF are).
        @inline(__always)
        func isCommonHan(_ value: UInt32) -> Bool {
            guard value >= 0x4E00 && value <= 0x9FFF else { return false }
            let offset = Int(value - 0x4E00)
            return commonHan[offset >> 6] & (1 << UInt64(offset & 63)) != 0
        }
    }
}
