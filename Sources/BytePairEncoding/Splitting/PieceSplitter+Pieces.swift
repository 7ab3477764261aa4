extension PieceSplitter {
    /// The pieces of one text, as a `Sequence` of `Substring`s (see ``PieceSplitter/pieces(of:)``).
    ///
    /// Iterating allocates nothing per piece: each piece is a slice of the text, found by scanning
    /// its UTF-8 in place (a text that is not native UTF-8 is made so once, when iteration starts).
    public struct Pieces: Sequence, Sendable {
        /// The text being split.
        public let text: String
        /// The pattern it is split with.
        public let pattern: Pattern

        /// An iterator over the pieces.
        public func makeIterator() -> Iterator {
            Iterator(text: text, pattern: pattern)
        }

        /// Walks the text piece by piece.
        public struct Iterator: IteratorProtocol {
            private var text: String
            private let pattern: Pattern
            /// The UTF-8 offset of the next piece.
            private var offset = 0
            /// The index of the next piece.
            private var index: String.Index

            init(text: String, pattern: Pattern) {
                var text = text
                text.makeContiguousUTF8()
                self.text = text
                self.pattern = pattern
                self.index = text.startIndex
            }

            /// The next piece, or `nil` after the last one.
            public mutating func next() -> Substring? {
                let start = offset
                let pattern = self.pattern
                let end = text.withUTF8 { utf8 -> Int in
                    guard start < utf8.count, let base = utf8.baseAddress else { return start }
                    let reader = ScalarReader(base: base, classes: ScalarClassTable.shared)
                    return PieceSplitter.pieceEnd(pattern, reader, start, utf8.count)
                }
                if end == start { return nil }
                let pieceStart = index
                let pieceEnd = text.utf8.index(pieceStart, offsetBy: end - start)
                offset = end
                index = pieceEnd
                return text[pieceStart..<pieceEnd]
            }
        }
    }
}
