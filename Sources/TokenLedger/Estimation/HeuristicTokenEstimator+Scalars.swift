// HeuristicTokenEstimator: how a Unicode scalar takes part in `o200k_base`'s pre-tokenizer (its class, script and punctuation group).

extension HeuristicTokenEstimator {
    /// How a scalar takes part in `o200k_base`'s pre-tokenizer pattern.
    enum ScalarClass: UInt8 {
        /// `\p{Lu}` or `\p{Lt}`.
        case upper
        /// `\p{Ll}`.
        case lower
        /// `\p{Lm}` or `\p{Lo}`: matches both the upper and the lower side.
        case letter
        /// `\p{M}`: matches both sides and stays with its base letter's script.
        case mark
        /// `\p{N}`.
        case digit
        /// White space other than CR and LF.
        case space
        /// CR or LF.
        case newline
        /// Everything else: punctuation, symbols, emoji, controls.
        case punct

        /// Whether the scalar is a letter or mark.
        @inline(__always) var isLetter: Bool { rawValue <= ScalarClass.mark.rawValue }
    }

    /// The script groups that are priced differently.
    enum LetterScript: Int {
        /// Latin letters, ASCII or not.
        case alpha = 0
        /// CJK ideographs.
        case han
        /// Other cased alphabets: Greek, Cyrillic, Armenian, Georgian.
        case cased
        /// Hiragana and katakana.
        case kana
        /// Hangul.
        case hangul
        /// Any other script.
        case other
    }

    /// The groups of punctuation scalars.
    enum PunctGroup: Int {
        /// ASCII punctuation.
        case ascii = 0
        /// General, CJK and full-width punctuation (`“ ” — … ， 。`).
        case wide
        /// Other symbols and emoji.
        case symbol
    }

    /// Whether the scalar is Unicode white space (`\s` of the pattern).
    @inline(__always)
    static func isWhiteSpace(_ value: UInt32) -> Bool {
        switch value {
        case 0x09, 0x0B, 0x0C, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// The scalar's class in the pattern; ASCII and common CJK and Hangul
    /// take a fast path, other scalars their Unicode general category.
    @inline(__always)
    static func classify(_ scalar: Unicode.Scalar) -> ScalarClass {
        let value = scalar.value
        if value < 0x80 {
            switch value {
            case 0x61...0x7A: return .lower
            case 0x41...0x5A: return .upper
            case 0x30...0x39: return .digit
            case 0x0A, 0x0D: return .newline
            case 0x09, 0x0B, 0x0C, 0x20: return .space
            default: return .punct
            }
        }
        if (0x4E00...0x9FFF).contains(value) || (0xAC00...0xD7A3).contains(value) { return .letter }
        if isWhiteSpace(value) { return .space }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .titlecaseLetter: return .upper
        case .lowercaseLetter: return .lower
        case .modifierLetter, .otherLetter: return .letter
        case .nonspacingMark, .spacingMark, .enclosingMark: return .mark
        case .decimalNumber, .letterNumber, .otherNumber: return .digit
        default: return .punct
        }
    }

    /// The script group that prices a letter.
    @inline(__always)
    static func letterScript(_ value: UInt32) -> LetterScript {
        switch value {
        case 0..<0x250, 0x1E00...0x1EFF, 0x2C60...0x2C7F, 0xA720...0xA7FF:
            return .alpha
        case 0x370...0x58F, 0x10A0...0x10FF, 0x1C80...0x1CBF, 0x2DE0...0x2DFF, 0xA640...0xA69F:
            return .cased
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0xF900...0xFAFF, 0x20000...0x3FFFF, 0x3005...0x3007, 0x2E80...0x2FDF:
            return .han
        case 0x3040...0x30FF, 0x31F0...0x31FF, 0xFF66...0xFF9F:
            return .kana
        case 0xAC00...0xD7FF, 0x1100...0x11FF, 0x3130...0x318F, 0xA960...0xA97F:
            return .hangul
        default:
            return .other
        }
    }

    /// The group that prices a punctuation or symbol scalar.
    @inline(__always)
    static func punctGroup(_ value: UInt32) -> PunctGroup {
        switch value {
        case 0..<0x80:
            return .ascii
        case 0x2000...0x206F, 0x3000...0x303F, 0xFF00...0xFFEF, 0xA1...0xBF, 0x2E00...0x2E7F:
            return .wide
        default:
            return .symbol
        }
    }
}
