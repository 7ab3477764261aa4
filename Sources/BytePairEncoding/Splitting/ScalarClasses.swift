/// Bit flags saying which character classes of the pre-tokenization patterns a scalar is in: the
/// raw values of the public ``PieceSplitter/CharacterClass`` (a test checks they agree), spelled
/// as literals so the scanners read constants.
enum ScalarClass {
    /// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`, o200k's "upper" letter class.
    static let upper: UInt8 = 1 << 0
    /// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`, o200k's "lower" letter class.
    static let lower: UInt8 = 1 << 1
    /// `\p{L}`.
    static let letter: UInt8 = 1 << 2
    /// `\p{N}`.
    static let number: UInt8 = 1 << 3
    /// `\s`: the Unicode White_Space property.
    static let space: UInt8 = 1 << 4
    /// `\r` or `\n`.
    static let newline: UInt8 = 1 << 5

    /// Scalars outside both `[^\r\n\p{L}\p{N}]` (the optional prefix of a letter run).
    static let notPrefix: UInt8 = letter | number | newline
    /// Scalars outside `[^\s\p{L}\p{N}]` (punctuation and symbol runs).
    static let notPunctuation: UInt8 = letter | number | space
}

/// The ``ScalarClass`` flags of every Unicode scalar, as a two-stage lookup table.
///
/// tiktoken matches its patterns with Rust's `regex` crate, whose Unicode tables (regex-syntax
/// 0.8.11 in tiktoken 0.14) are Unicode 16.0. Swift's standard library may know a newer Unicode
/// (Swift 6.3 has 17.0), so the table treats scalars assigned after ``regexUnicodeVersion`` as
/// unassigned, and pins the few scalars whose category changed since (``categoryOverrides``).
/// A test compares every scalar with tiktoken's own classification.
///
/// ### Threading
/// Built once, then immutable; ``shared`` may be read from any thread.
final class ScalarClassTable: @unchecked Sendable {
    // @unchecked: the two buffers are filled in init and never written again or freed
    // (the shared table lives for the whole process).

    /// The Unicode version of the category tables tiktoken's regex engine uses.
    static let regexUnicodeVersion: Unicode.Version = (major: 16, minor: 0)

    /// Scalars whose general category changed between ``regexUnicodeVersion`` and the standard
    /// library's Unicode: Unicode 17 made U+0295 LATIN LETTER PHARYNGEAL VOICED FRICATIVE `ʕ`
    /// Lo; in Unicode 16 (and so for tiktoken) it is Ll.
    static let categoryOverrides: KeyValuePairs<UInt32, Unicode.GeneralCategory> = [
        0x0295: .lowercaseLetter
    ]

    /// The table every encoder uses.
    static let shared = ScalarClassTable()

    /// For each block of 256 scalars, the start of its 256 flags in ``blocks``.
    let stage1: UnsafeMutablePointer<UInt32>
    /// Deduplicated blocks of 256 flag bytes.
    let blocks: UnsafeMutablePointer<UInt8>

    private init() {
        let blockCount = 0x110000 >> 8
        var unique: [[UInt8]: UInt32] = [:]
        var ordered: [UInt8] = []
        let indices = UnsafeMutablePointer<UInt32>.allocate(capacity: blockCount)
        var block = [UInt8](repeating: 0, count: 256)
        for blockIndex in 0..<blockCount {
            let plane = blockIndex >> 8
            if (4...13).contains(plane) || plane >= 15 {
                // In Unicode 16.0 planes 4-13 are unassigned and 15-16 private use: no flags,
                // and anything assigned there later is newer than the pinned version anyway.
                block = [UInt8](repeating: 0, count: 256)
            } else {
                for low in 0..<256 {
                    block[low] = Self.classify(UInt32(blockIndex << 8 | low))
                }
            }
            if let existing = unique[block] {
                indices[blockIndex] = existing
            } else {
                let start = UInt32(ordered.count)
                unique[block] = start
                ordered.append(contentsOf: block)
                indices[blockIndex] = start
            }
        }
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: ordered.count)
        storage.initialize(from: ordered, count: ordered.count)
        stage1 = indices
        blocks = storage
    }

    /// The flags of one scalar value (surrogates and unassigned values have none).
    static func classify(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        if value == 0x0A || value == 0x0D {
            return ScalarClass.space | ScalarClass.newline
        }
        let properties = scalar.properties
        // General category first: it rules out most of the code space (unassigned, private use)
        // without the age and White_Space lookups.
        var category = properties.generalCategory
        for (pinnedValue, pinned) in categoryOverrides where pinnedValue == value {
            category = pinned
        }
        let flags: UInt8
        switch category {
        case .uppercaseLetter, .titlecaseLetter:
            flags = ScalarClass.letter | ScalarClass.upper
        case .lowercaseLetter:
            flags = ScalarClass.letter | ScalarClass.lower
        case .modifierLetter, .otherLetter:
            flags = ScalarClass.letter | ScalarClass.upper | ScalarClass.lower
        case .nonspacingMark, .spacingMark, .enclosingMark:
            flags = ScalarClass.upper | ScalarClass.lower
        case .decimalNumber, .letterNumber, .otherNumber:
            flags = ScalarClass.number
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format:
            // Every White_Space scalar is in one of these categories.
            flags = properties.isWhitespace ? ScalarClass.space : 0
        default:
            return 0
        }
        if flags != 0, let age = properties.age, isNewerThanRegexUnicode(age) {
            return 0
        }
        return flags
    }

    private static func isNewerThanRegexUnicode(_ age: Unicode.Version) -> Bool {
        age.major > regexUnicodeVersion.major
            || (age.major == regexUnicodeVersion.major && age.minor > regexUnicodeVersion.minor)
    }

    /// The flags of a scalar value below 0x110000.
    @inline(__always)
    func flags(_ value: UInt32) -> UInt8 {
        blocks[Int(stage1[Int(value &>> 8)]) &+ Int(value & 0xFF)]
    }
}
