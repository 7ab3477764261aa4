import Testing

@testable import BytePairEncoding

/// The public piece iterator: the same pieces the encoder merges, read in place.
@Suite("piece splitter")
struct PieceSplitterTests {
    @Test("o200k and cl100k pieces of hand-picked texts")
    func knownPieces() {
        let o200k = PieceSplitter(pattern: .o200k)
        let cl100k = PieceSplitter(encoding: .cl100kBase)
        #expect(Array(o200k.pieces(of: "")).isEmpty)
        #expect(
            o200k.pieces(of: "I'M don'T you're 1234567").map(String.init) == [
                "I'M", " don'T", " you're", " ", "123", "456", "7",
            ])
        #expect(o200k.pieces(of: "a/b//\n").map(String.init) == ["a", "/b", "//\n"])
        #expect(cl100k.pieces(of: "I'M don'T").map(String.init) == ["I", "'M", " don", "'T"])
        // A boundary inside a Character (a mark after a letter of another piece): compared by scalars.
        let pieces = cl100k.pieces(of: "e\u{301}te\u{301}").map { Array($0.unicodeScalars) }
        #expect(pieces == [["e"], ["\u{301}", "t", "e"], ["\u{301}"]])
    }

    @Test(
        "pieces are the encoder's: they concatenate to the text and encode to the text's tokens",
        arguments: EncodingName.allCases)
    func corpusPiecesAreTheEncoders(encoding: EncodingName) throws {
        let corpus = try Reference.sharedCorpus()
        let encoder = try Reference.encoder(encoding)
        let splitter = PieceSplitter(encoding: encoding)
        var mismatches: [String] = []
        for (index, text) in corpus.enumerated() {
            let pieces = Array(splitter.pieces(of: text))
            let joined = pieces.reduce(into: [UInt8]()) { $0 += $1.utf8 }
            var perPiece: [Int] = []
            for piece in pieces { perPiece += encoder.encode(String(piece)) }
            if joined != Array(text.utf8) || pieces.contains(where: \.isEmpty) || perPiece != encoder.encode(text) {
                mismatches.append("#\(index) \"\(Reference.escaped(text))\"")
            }
        }
        #expect(corpus.count >= 2000)
        if !mismatches.isEmpty {
            Issue.record("\(mismatches.count) texts differ:\n\(mismatches.prefix(10).joined(separator: "\n"))")
        }
    }

    @Test(
        "forEachPiece gives the sequence's pieces and every scalar with the table's class",
        arguments: EncodingName.allCases)
    func forEachPieceAgrees(encoding: EncodingName) throws {
        let splitter = PieceSplitter(encoding: encoding)
        let table = ScalarClassTable.shared
        var mismatches: [String] = []
        for (index, text) in try Reference.sharedCorpus().enumerated() {
            var ranges: [Range<Int>] = []
            var scalars: [PieceSplitter.ClassifiedScalar] = []
            splitter.forEachPiece(in: text) { piece in
                ranges.append(piece.range)
                scalars += piece.scalars
            }
            var offset = 0
            let expectedRanges = splitter.pieces(of: text).map { piece in
                defer { offset += piece.utf8.count }
                return offset..<offset + piece.utf8.count
            }
            let expectedScalars = text.unicodeScalars.map {
                PieceSplitter.ClassifiedScalar(
                    value: $0.value, characterClass: PieceSplitter.CharacterClass(rawValue: table.flags($0.value)))
            }
            if ranges != expectedRanges || scalars != expectedScalars {
                mismatches.append("#\(index) \"\(Reference.escaped(text))\"")
            }
        }
        if !mismatches.isEmpty {
            Issue.record("\(mismatches.count) texts differ:\n\(mismatches.prefix(10).joined(separator: "\n"))")
        }
    }

    @Test("the public character classes are the scanners' bits")
    func characterClassBits() {
        #expect(PieceSplitter.CharacterClass.upper.rawValue == ScalarClass.upper)
        #expect(PieceSplitter.CharacterClass.lower.rawValue == ScalarClass.lower)
        #expect(PieceSplitter.CharacterClass.letter.rawValue == ScalarClass.letter)
        #expect(PieceSplitter.CharacterClass.number.rawValue == ScalarClass.number)
        #expect(PieceSplitter.CharacterClass.whitespace.rawValue == ScalarClass.space)
        #expect(PieceSplitter.CharacterClass.newline.rawValue == ScalarClass.newline)
    }

    @Test("the ranges the class table fills without asking the standard library agree with it")
    func knownRangesAgree() {
        var differences: [String] = []
        var known = 0
        for (range, flags) in ScalarClassTable.knownRanges {
            for value in range {
                known += 1
                let classified = ScalarClassTable.classify(value)
                if flags != classified || ScalarClassTable.shared.flags(value) != flags {
                    differences.append(
                        "U+\(String(value, radix: 16, uppercase: true)): \(flags), classify \(classified)")
                }
            }
        }
        #expect(known > 200_000)
        if !differences.isEmpty {
            Issue.record("\(differences.count) scalars differ: \(differences.prefix(20))")
        }
    }
}
