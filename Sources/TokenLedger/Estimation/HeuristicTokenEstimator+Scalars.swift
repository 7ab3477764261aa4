// HeuristicTokenEstimator: the script of a letter and the group of a punctuation scalar, which price them.

extension HeuristicTokenEstimator {
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
