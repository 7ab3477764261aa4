/// Splits text into the pieces an encoding's pre-tokenizer cuts it into, before byte-pair merging.
///
/// The pieces are exactly the matches of tiktoken's regular expression for the encoding (the same
/// scanner ``BytePairEncoder`` uses); they concatenate to the text.
///
/// ```swift
/// let splitter = PieceSplitter(pattern: .o200k)
/// for piece in splitter.pieces(of: "Hello world!!") {
///     print(piece)  // "Hello", " world", "!!"
/// }
/// ```
///
/// ``pieces(of:)`` is a `Sequence` of `Substring`s and allocates nothing per piece;
/// ``forEachPiece(in:_:)`` is the faster form for callers that read each piece's scalars and their
/// ``CharacterClass``es (a token estimator pricing pieces).
///
/// ### Threading
/// A value type with no state beyond its pattern: use it from any thread.
public struct PieceSplitter: Sendable, Hashable {
    /// A pre-tokenization pattern.
    public enum Pattern: Sendable, Hashable, CaseIterable {
        /// `o200k_base`'s pattern (GPT-4o, GPT-4.1, GPT-5, o-series): letters split at case changes,
        /// contractions kept with their word, digits in groups of three.
        case o200k
        /// `cl100k_base`'s pattern (GPT-4, GPT-3.5 Turbo): runs of letters, contractions as pieces of
        /// their own, digits in groups of three.
        case cl100k
    }

    /// The pattern the splitter follows.
    public let pattern: Pattern

    /// Creates a splitter for a pattern.
    public init(pattern: Pattern) {
        self.pattern = pattern
    }

    /// Creates a splitter with the pattern of an encoding.
    public init(encoding: EncodingName) {
        switch encoding {
        case .o200kBase: pattern = .o200k
        case .cl100kBase: pattern = .cl100k
        }
    }

    /// The pieces of `text`, in order, as substrings of it.
    ///
    /// Piece boundaries are always Unicode scalar boundaries but may fall inside a `Character` (a
    /// letter and a combining mark of another script, an emoji sequence): compare pieces by their
    /// `unicodeScalars` or `utf8` when that matters.
    ///
    /// - Parameter text: Any text; special tokens are ordinary text.
    /// - Returns: A sequence whose elements concatenate to `text`; empty for empty text.
    public func pieces(of text: String) -> Pieces {
        Pieces(text: text, pattern: pattern)
    }

    /// Calls `body` with each piece of `text`, in order, and the scalars it holds with their classes.
    ///
    /// One pass over the text's UTF-8, which is read in place when the string is native; each
    /// scalar's class is looked up once, by the same table the splitter uses.
    ///
    /// - Parameters:
    ///   - text: Any text; special tokens are ordinary text.
    ///   - body: Called once per piece. The ``Piece`` (and its ``Piece/scalars``) is valid only
    ///     during the call: do not store it.
    public func forEachPiece(in text: String, _ body: (Piece) -> Void) {
        var text = text
        text.withUTF8 { utf8 in
            guard let base = utf8.baseAddress, !utf8.isEmpty else { return }
            let reader = ScalarReader(base: base, classes: ScalarClassTable.shared)
            let end = utf8.count
            var start = 0
            while start < end {
                let pieceEnd = Self.pieceEnd(pattern, reader, start, end)
                body(Piece(reader: reader, start: start, end: pieceEnd))
                start = pieceEnd
            }
        }
    }

    /// The end of the piece that starts at `start`.
    ///
    /// The scanners read only whole scalars before `end`, so `reader` needs valid UTF-8 but no padding.
    @inline(__always)
    static func pieceEnd(_ pattern: Pattern, _ reader: ScalarReader, _ start: Int, _ end: Int) -> Int {
        switch pattern {
        case .o200k: O200kPattern.pieceEnd(reader, start, end)
        case .cl100k: Cl100kPattern.pieceEnd(reader, start, end)
        }
    }
}
