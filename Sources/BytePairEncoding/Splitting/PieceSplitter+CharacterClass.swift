extension PieceSplitter {
    /// The character classes of the pre-tokenization patterns a scalar is in.
    ///
    /// Unicode general categories as tiktoken's regex engine knows them (Unicode 16.0, see the
    /// splitter's scalar table): a letter is in ``letter`` and in ``upper`` and/or ``lower``; a
    /// combining mark is in ``upper`` and ``lower`` but not ``letter``; punctuation, symbols,
    /// emoji and unassigned scalars are in no class (`isEmpty`).
    public struct CharacterClass: OptionSet, Sendable, Hashable {
        /// The class bits.
        public let rawValue: UInt8

        /// Wraps class bits.
        @inlinable
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`, o200k's "upper" letter class.
        @inlinable public static var upper: CharacterClass { CharacterClass(rawValue: 1 << 0) }
        /// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`, o200k's "lower" letter class.
        @inlinable public static var lower: CharacterClass { CharacterClass(rawValue: 1 << 1) }
        /// `\p{L}`: a letter.
        @inlinable public static var letter: CharacterClass { CharacterClass(rawValue: 1 << 2) }
        /// `\p{N}`: a number.
        @inlinable public static var number: CharacterClass { CharacterClass(rawValue: 1 << 3) }
        /// `\s`: the Unicode White_Space property (CR and LF included).
        @inlinable public static var whitespace: CharacterClass { CharacterClass(rawValue: 1 << 4) }
        /// `\r` or `\n`.
        @inlinable public static var newline: CharacterClass { CharacterClass(rawValue: 1 << 5) }
    }
}
