#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Counts and encodes text into tokens exactly as tiktoken does for one encoding.
///
/// Text is split into pieces by a hand-written scanner equivalent to the encoding's regular
/// expression, then each piece is byte-pair merged with the ranks of a tiktoken rank file.
///
/// ```swift
/// let encoder = try BytePairEncoder(encoding: .o200kBase, directory: "/path/to/ranks")
/// let tokens = encoder.count("Hello, world!")  // 4
/// ```
///
/// Special tokens such as `<|endoftext|>` are ordinary text unless the caller lists them in
/// `allowedSpecial`; then each occurrence is one token with the special token's id (tiktoken's
/// `encode(text, allowed_special=...)`). Unlike tiktoken, text that contains a special token
/// that is not allowed is never an error.
///
/// ### Threading
/// Immutable after init: one encoder may be used from any number of threads or tasks at once.
/// Each call allocates its own working memory.
public final class BytePairEncoder: Sendable {
    /// The encoding this encoder implements.
    public let encoding: EncodingName
    /// The path of the rank file it was loaded from.
    public let rankFilePath: String

    let table: TokenTable
    let classes: ScalarClassTable
    let specialTokenList: [SpecialToken]

    /// A special token's text, UTF-8 bytes and id.
    struct SpecialToken: Sendable {
        let text: String
        let bytes: [UInt8]
        let id: Int
    }

    /// Loads an encoder from a rank file.
    ///
    /// - Parameters:
    ///   - encoding: The encoding the rank file belongs to; sets the pattern, the special tokens
    ///     and the number of ranks the file must hold.
    ///   - path: A `.tiktoken` file (`base64token rank` per line) or a gzip-compressed one
    ///     (`.tiktoken.gz`; gzip is recognised by its magic bytes).
    /// - Throws: ``RankFileError`` naming the file and line when it is missing, unreadable,
    ///   corrupt, truncated or holds the wrong number of ranks.
    public init(encoding: EncodingName, rankFile path: String) throws(RankFileError) {
        self.encoding = encoding
        self.rankFilePath = path
        self.table = try RankFileLoader.load(path: path, expectedCount: encoding.rankCount)
        self.classes = ScalarClassTable.shared
        self.specialTokenList = encoding.specialTokens
            .map { SpecialToken(text: $0.key, bytes: Array($0.key.utf8), id: $0.value) }
            .sorted { $0.id < $1.id }
    }

    /// Loads an encoder from a directory that holds `NAME.tiktoken` or `NAME.tiktoken.gz`
    /// (for example the `data` folder of the `bpe-openai` Python package).
    ///
    /// - Parameters:
    ///   - encoding: The encoding to load.
    ///   - directory: The directory to look in; `NAME.tiktoken` is preferred when both exist.
    /// - Throws: ``RankFileError`` with ``RankFileError/Code/fileNotFound`` when neither file
    ///   exists, or any error of ``init(encoding:rankFile:)``.
    public convenience init(encoding: EncodingName, directory: String) throws(RankFileError) {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let candidates = encoding.rankFileNames.map { "\(base)/\($0)" }
        guard let found = candidates.first(where: { access($0, F_OK) == 0 }) else {
            throw RankFileError(
                code: .fileNotFound, path: candidates[0],
                message: "neither \(encoding.rankFileNames.joined(separator: " nor ")) is in \(directory)")
        }
        try self.init(encoding: encoding, rankFile: found)
    }

    /// The special tokens of the encoding and their ids.
    public var specialTokens: [String: Int] { encoding.specialTokens }

    /// One more than the largest token id, counting special tokens (tiktoken's `n_vocab`).
    public var vocabularySize: Int {
        max(table.count, (specialTokenList.map(\.id).max() ?? -1) + 1)
    }

    // MARK: Counting and encoding

    /// The number of tokens in `text`, with special-token text counted as ordinary text.
    ///
    /// Equal to `len(encoding.encode_ordinary(text))` in tiktoken. No token array is built.
    public func count(_ text: String) -> Int {
        count(text, allowedSpecial: [])
    }

    /// The number of tokens in `text`, where each occurrence of a special token listed in
    /// `allowedSpecial` counts as that one special token.
    ///
    /// - Parameters:
    ///   - text: The text to count.
    ///   - allowedSpecial: Special token texts (such as `"<|endoftext|>"`) to recognise; other
    ///     strings, and special tokens not listed, are ordinary text.
    public func count(_ text: String, allowedSpecial: Set<String>) -> Int {
        Self.withPaddedUTF8(text) { base, length in
            let reader = ScalarReader(base: base, classes: classes)
            let scratch = MergeScratch()
            var total = 0
            forEachSegment(base, length, allowedSpecial) { start, end, special in
                total &+= countOrdinary(reader, start, end, scratch)
                if special != nil { total &+= 1 }
            }
            return total
        }
    }

    /// The token ids of `text`, with special-token text encoded as ordinary text
    /// (tiktoken's `encode_ordinary`).
    public func encode(_ text: String) -> [Int] {
        encode(text, allowedSpecial: [])
    }

    /// The token ids of `text`, where each occurrence of a special token listed in
    /// `allowedSpecial` becomes that special token's id (tiktoken's `encode` with
    /// `allowed_special`).
    ///
    /// - Parameters:
    ///   - text: The text to encode.
    ///   - allowedSpecial: Special token texts to recognise; others are ordinary text.
    public func encode(_ text: String, allowedSpecial: Set<String>) -> [Int] {
        Self.withPaddedUTF8(text) { base, length in
            let reader = ScalarReader(base: base, classes: classes)
            let scratch = MergeScratch()
            var output: [Int] = []
            output.reserveCapacity(length / 3 + 4)
            forEachSegment(base, length, allowedSpecial) { start, end, special in
                encodeOrdinary(reader, start, end, scratch, into: &output)
                if let special { output.append(special) }
            }
            return output
        }
    }

    /// The bytes the tokens stand for, or `nil` if an id is not in the encoding.
    ///
    /// - Parameter tokens: Token ids, including special token ids.
    public func decodeBytes(_ tokens: [Int]) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(tokens.count * 4)
        for token in tokens {
            if let bytes = table.bytes(ofRank: token) {
                output.append(contentsOf: bytes)
            } else if let special = specialTokenList.first(where: { $0.id == token }) {
                output.append(contentsOf: special.bytes)
            } else {
                return nil
            }
        }
        return output
    }

    /// The text the tokens stand for, with invalid UTF-8 (a multi-byte character cut between
    /// tokens) replaced by U+FFFD, or `nil` if an id is not in the encoding.
    ///
    /// - Parameter tokens: Token ids, including special token ids.
    public func decode(_ tokens: [Int]) -> String? {
        decodeBytes(tokens).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: Internals

    /// The pieces the pattern splits `text` into (special tokens are not recognised).
    func pieces(_ text: String) -> [String] {
        PieceSplitter(encoding: encoding).pieces(of: text).map(String.init)
    }

    /// Calls `body` with each stretch of ordinary text and the id of the allowed special token
    /// that ends it (`nil` for the last stretch).
    @inline(__always)
    private func forEachSegment(
        _ base: UnsafePointer<UInt8>, _ length: Int, _ allowedSpecial: Set<String>,
        _ body: (Int, Int, Int?) -> Void
    ) {
        if allowedSpecial.isEmpty {
            body(0, length, nil)
            return
        }
        let candidates = specialTokenList.filter { allowedSpecial.contains($0.text) }
        if candidates.isEmpty {
            body(0, length, nil)
            return
        }
        var segmentStart = 0
        var cursor = 0
        scan: while cursor < length {
            if base[cursor] == UInt8(ascii: "<") {
                for candidate in candidates where cursor + candidate.bytes.count <= length {
                    let matches = candidate.bytes.withUnsafeBufferPointer { bytes in
                        memcmp(base + cursor, bytes.baseAddress!, bytes.count) == 0
                    }
                    if matches {
                        body(segmentStart, cursor, candidate.id)
                        cursor += candidate.bytes.count
                        segmentStart = cursor
                        continue scan
                    }
                }
            }
            cursor += 1
        }
        body(segmentStart, length, nil)
    }

    private func countOrdinary(_ reader: ScalarReader, _ start: Int, _ end: Int, _ scratch: MergeScratch) -> Int {
        switch encoding {
        case .o200kBase: countPieces(O200kPattern.self, reader, start, end, scratch)
        case .cl100kBase: countPieces(Cl100kPattern.self, reader, start, end, scratch)
        }
    }

    private func encodeOrdinary(
        _ reader: ScalarReader, _ start: Int, _ end: Int, _ scratch: MergeScratch, into output: inout [Int]
    ) {
        switch encoding {
        case .o200kBase: encodePieces(O200kPattern.self, reader, start, end, scratch, into: &output)
        case .cl100kBase: encodePieces(Cl100kPattern.self, reader, start, end, scratch, into: &output)
        }
    }

    @inline(__always)
    private func countPieces<Pattern: PiecePattern>(
        _: Pattern.Type, _ reader: ScalarReader, _ start: Int, _ end: Int, _ scratch: MergeScratch
    ) -> Int {
        let table = self.table
        var total = 0
        var cursor = start
        while cursor < end {
            let pieceEnd = Pattern.pieceEnd(reader, cursor, end)
            let length = pieceEnd &- cursor
            if length == 1 || (length <= 255 && table.rank(reader.base + cursor, length) != TokenTable.absent) {
                total &+= 1
            } else {
                total &+= bytePairMerge(reader.base + cursor, length, table, scratch, writeTokens: false)
            }
            cursor = pieceEnd
        }
        return total
    }

    @inline(__always)
    private func encodePieces<Pattern: PiecePattern>(
        _: Pattern.Type, _ reader: ScalarReader, _ start: Int, _ end: Int, _ scratch: MergeScratch,
        into output: inout [Int]
    ) {
        let table = self.table
        var cursor = start
        while cursor < end {
            let pieceEnd = Pattern.pieceEnd(reader, cursor, end)
            let length = pieceEnd &- cursor
            let piece = reader.base + cursor
            if length == 1 {
                output.append(Int(table.byteRanks[Int(piece[0])]))
            } else {
                let whole = length <= 255 ? table.rank(piece, length) : TokenTable.absent
                if whole != TokenTable.absent {
                    output.append(Int(whole))
                } else {
                    let count = bytePairMerge(piece, length, table, scratch, writeTokens: true)
                    for index in 0..<count { output.append(Int(scratch.tokens[index])) }
                }
            }
            cursor = pieceEnd
        }
    }

    /// Runs `body` on a copy of the text's UTF-8 followed by 16 zero bytes, so scanners and
    /// 8-byte table loads never read past the buffer.
    @inline(__always)
    static func withPaddedUTF8<Result>(_ text: String, _ body: (UnsafePointer<UInt8>, Int) -> Result) -> Result {
        var text = text
        return text.withUTF8 { utf8 in
            let length = utf8.count
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length + 16) { buffer in
                let base = buffer.baseAddress!
                if length > 0 { base.initialize(from: utf8.baseAddress!, count: length) }
                (base + length).initialize(repeating: 0, count: 16)
                return body(UnsafePointer(base), length)
            }
        }
    }
}
