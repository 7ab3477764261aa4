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
        var previous: (block: [UInt8], start: UInt32)?
        for blockIndex in 0..<blockCount {
            let plane = blockIndex >> 8
            let first = UInt32(blockIndex << 8)
            // In Unicode 16.0 planes 4-13 are unassigned and 15-16 private use: no flags, and
            // anything assigned there later is newer than the pinned version anyway.
            let unassigned = (4...13).contains(plane) || plane >= 15
            let known = unassigned ? [] : Self.knownRanges.filter { $0.range.overlaps(first...first | 0xFF) }
            block.withUnsafeMutableBufferPointer { block in
                if unassigned {
                    block.update(repeating: 0)
                } else if let whole = known.first, whole.range.contains(first), whole.range.contains(first | 0xFF) {
                    block.update(repeating: whole.flags)
                } else {
                    for low in 0..<256 {
                        let value = first | UInt32(low)
                        block[low] = known.first { $0.range.contains(value) }?.flags ?? Self.classify(value)
                    }
                }
            }
            // Equal blocks mostly come in runs (unassigned space, ideographs): compare with the
            // previous block before hashing 256 bytes.
            if let previous, previous.block == block {
                indices[blockIndex] = previous.start
                continue
            }
            let start: UInt32
            if let existing = unique[block] {
                start = existing
            } else {
                start = UInt32(ordered.count)
                unique[block] = start
                ordered.append(contentsOf: block)
            }
            indices[blockIndex] = start
            previous = (block, start)
        }
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: ordered.count)
        storage.initialize(from: ordered, count: ordered.count)
        stage1 = indices
        blocks = storage
    }

    /// Long ranges of scalars that all have the same flags in Unicode 16.0.
    ///
    /// Building the table asks the standard library for about 330,000 general categories (some
    /// 100 ns each), a cost the first encoder or estimator of a process pays. These ranges are
    /// two thirds of them: the runs of at least 1,024 scalars with one set of flags in Unicode
    /// 16.0 (found with ``classify(_:)``: ideographs, Hangul syllables, Tangut and Egyptian
    /// hieroglyphs are all `Lo`; the rest is symbols, private use or space unassigned in 16.0,
    /// which later assignments do not change). Unicode 16.0 is fixed, so the ranges do not age;
    /// a test checks every scalar in them against ``classify(_:)``.
    static let knownRanges: [(range: ClosedRange<UInt32>, flags: UInt8)] = {
        let letters: [ClosedRange<UInt32>] = [
            0x3400...0x4DBF, 0x4E00...0xA48C, 0xAC00...0xD7A3, 0x13000...0x1342F, 0x13460...0x143FA,
            0x17000...0x187F7, 0x18800...0x18CD5, 0x20000...0x2A6DF, 0x2A700...0x2B739, 0x2B820...0x2CEA1,
            0x2CEB0...0x2EBE0, 0x30000...0x3134A, 0x31350...0x323AF,
        ]
        let none: [ClosedRange<UInt32>] = [
            0x2794...0x2BFF, 0xD7FC...0xF8FF, 0x12544...0x12F8F, 0x14647...0x160FF, 0x1613A...0x167FF,
            0x18D09...0x1AFEF, 0x1B2FC...0x1BBFF, 0x1BC9F...0x1CCEF, 0x1DAB0...0x1DEFF, 0x1F10D...0x1FBEF,
            0x1FBFA...0x1FFFF, 0x2EE5E...0x2F7FF, 0x2FA1E...0x2FFFF, 0x323B0...0x3FFFF, 0xE0000...0xE00FF,
            0xE01F0...0xEFFFF,
        ]
        let letter = ScalarClass.letter | ScalarClass.upper | ScalarClass.lower
        return letters.map { ($0, letter) } + none.map { ($0, 0) }
    }()

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
