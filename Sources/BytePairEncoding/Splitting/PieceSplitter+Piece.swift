extension PieceSplitter {
    /// One piece of a text, as ``PieceSplitter/forEachPiece(in:_:)`` hands it to its body.
    ///
    /// It reads the text in place: it is valid only during the call that received it.
    public struct Piece {
        @usableFromInline let reader: ScalarReader
        /// Where the piece starts: a UTF-8 offset in the text.
        public let start: Int
        /// Where the piece ends: the UTF-8 offset just after it.
        public let end: Int

        @usableFromInline
        init(reader: ScalarReader, start: Int, end: Int) {
            self.reader = reader
            self.start = start
            self.end = end
        }

        /// The piece's UTF-8 offsets in the text.
        public var range: Range<Int> { start..<end }

        /// The piece's scalars, in order, with their classes.
        @inlinable
        public var scalars: Scalars { Scalars(reader: reader, cursor: start, end: end) }

        /// The scalars of a piece with their classes; a sequence that is its own iterator.
        public struct Scalars: Sequence, IteratorProtocol {
            @usableFromInline let reader: ScalarReader
            @usableFromInline var cursor: Int
            @usableFromInline let end: Int

            @usableFromInline
            init(reader: ScalarReader, cursor: Int, end: Int) {
                self.reader = reader
                self.cursor = cursor
                self.end = end
            }

            /// The next scalar, or `nil` at the end of the piece.
            @inlinable
            public mutating func next() -> ClassifiedScalar? {
                guard cursor < end else { return nil }
                let (value, flags, length) = reader.decode(at: cursor)
                cursor &+= length
                return ClassifiedScalar(value: value, characterClass: CharacterClass(rawValue: flags))
            }
        }
    }

    /// A Unicode scalar of a piece and its class.
    public struct ClassifiedScalar: Sendable, Hashable {
        /// The scalar's value (a valid Unicode scalar value).
        public let value: UInt32
        /// The classes of the pattern the scalar is in.
        public let characterClass: CharacterClass

        /// Pairs a scalar value with its class.
        @inlinable
        public init(value: UInt32, characterClass: CharacterClass) {
            self.value = value
            self.characterClass = characterClass
        }
    }
}
