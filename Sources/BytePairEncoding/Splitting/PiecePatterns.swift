/// A pre-tokenization pattern: where the piece that starts at a given byte ends.
///
/// Implementations are hand-written scanners that give exactly the matches tiktoken's regex
/// (Rust `fancy-regex`, leftmost-first backtracking) finds, piece after piece.
protocol PiecePattern {
    /// The end of the piece that starts at `start`, with `end` the end of the text segment.
    ///
    /// - Precondition: `start < end`, and `start` is at a scalar boundary.
    static func pieceEnd(_ reader: ScalarReader, _ start: Int, _ end: Int) -> Int
}

/// o200k_base's pattern:
///
/// ```
/// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
/// |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
/// |\p{N}{1,3}
/// | ?[^\s\p{L}\p{N}]+[\r\n/]*
/// |\s*[\r\n]+
/// |\s+(?!\S)
/// |\s+
/// ```
enum O200kPattern: PiecePattern {
    @inline(__always)
    static func pieceEnd(_ reader: ScalarReader, _ start: Int, _ end: Int) -> Int {
        let (first, firstLength) = reader.scalar(at: start)
        let afterFirst = start &+ firstLength
        // Alternatives 1 and 2 try the optional [^\r\n\p{L}\p{N}] first, then without it.
        let hasPrefix = first & ScalarClass.notPrefix == 0
        if hasPrefix, let match = lowerEndedRun(reader, afterFirst, end) {
            return reader.contraction(at: match, end: end)
        }
        if first & (ScalarClass.upper | ScalarClass.lower) != 0,
            let match = lowerEndedRun(reader, start, end)
        {
            return reader.contraction(at: match, end: end)
        }
        if hasPrefix, let match = upperStartedRun(reader, afterFirst, end) {
            return reader.contraction(at: match, end: end)
        }
        if first & ScalarClass.upper != 0, let match = upperStartedRun(reader, start, end) {
            return reader.contraction(at: match, end: end)
        }
        // \p{N}{1,3}
        if first & ScalarClass.number != 0 {
            return digitGroupEnd(reader, afterFirst, end)
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
        if let runStart = punctuationStart(reader, start, first, end) {
            var cursor = reader.run(from: runStart, to: end, lacking: ScalarClass.notPunctuation)
            while cursor < end {
                let byte = reader.base[cursor]
                guard byte == 0x0A || byte == 0x0D || byte == UInt8(ascii: "/") else { break }
                cursor &+= 1
            }
            return cursor
        }
        // \s*[\r\n]+ | \s+(?!\S) | \s+
        guard first & ScalarClass.space != 0 else { return afterFirst }  // unreachable: every scalar is covered
        let run = whitespaceRun(reader, start, end)
        if run.afterLastNewline >= 0 { return run.afterLastNewline }
        if run.end == end { return end }
        if run.scalars >= 2 { return run.lastStart }
        return run.end
    }

    /// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+` from `index`, with the
    /// backtracking of the greedy star, or `nil`.
    @inline(__always)
    static func lowerEndedRun(_ reader: ScalarReader, _ index: Int, _ end: Int) -> Int? {
        var cursor = index
        var afterLastLower = -1
        while cursor < end {
            let (flags, length) = reader.scalar(at: cursor)
            if flags & ScalarClass.upper == 0 {
                if flags & ScalarClass.lower != 0 {
                    // An Ll scalar right after the upper run: the + runs on greedily.
                    return reader.run(from: cursor &+ length, to: end, having: ScalarClass.lower)
                }
                break
            }
            cursor &+= length
            if flags & ScalarClass.lower != 0 { afterLastLower = cursor }
        }
        // Backtrack the star to the last scalar that is also in the lower class.
        return afterLastLower >= 0 ? afterLastLower : nil
    }

    /// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*` from `index`, or `nil`.
    @inline(__always)
    static func upperStartedRun(_ reader: ScalarReader, _ index: Int, _ end: Int) -> Int? {
        let upperEnd = reader.run(from: index, to: end, having: ScalarClass.upper)
        if upperEnd == index { return nil }
        return reader.run(from: upperEnd, to: end, having: ScalarClass.lower)
    }
}

/// cl100k_base's pattern:
///
/// ```
/// '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+
/// |\s++$|\s*[\r\n]|\s+(?!\S)|\s
/// ```
enum Cl100kPattern: PiecePattern {
    @inline(__always)
    static func pieceEnd(_ reader: ScalarReader, _ start: Int, _ end: Int) -> Int {
        let (first, firstLength) = reader.scalar(at: start)
        let afterFirst = start &+ firstLength
        // '(?i:[sdmt]|ll|ve|re)
        if reader.base[start] == UInt8(ascii: "'") {
            let match = reader.contraction(at: start, end: end)
            if match != start { return match }
        }
        // [^\r\n\p{L}\p{N}]?+\p{L}++ (the possessive ? never gives its scalar back)
        if first & ScalarClass.notPrefix == 0 {
            if afterFirst < end && reader.scalar(at: afterFirst).flags & ScalarClass.letter != 0 {
                return reader.run(from: afterFirst, to: end, having: ScalarClass.letter)
            }
        } else if first & ScalarClass.letter != 0 {
            return reader.run(from: afterFirst, to: end, having: ScalarClass.letter)
        }
        // \p{N}{1,3}+
        if first & ScalarClass.number != 0 {
            return digitGroupEnd(reader, afterFirst, end)
        }
        // ' ?[^\s\p{L}\p{N}]++[\r\n]*+'
        if let runStart = punctuationStart(reader, start, first, end) {
            var cursor = reader.run(from: runStart, to: end, lacking: ScalarClass.notPunctuation)
            while cursor < end {
                let byte = reader.base[cursor]
                guard byte == 0x0A || byte == 0x0D else { break }
                cursor &+= 1
            }
            return cursor
        }
        // \s++$ | \s*[\r\n] | \s+(?!\S) | \s
        guard first & ScalarClass.space != 0 else { return afterFirst }  // unreachable: every scalar is covered
        let run = whitespaceRun(reader, start, end)
        if run.end == end { return end }
        if run.afterLastNewline >= 0 { return run.afterLastNewline }
        if run.scalars >= 2 { return run.lastStart }
        return afterFirst
    }
}

/// The end of a group of at most 3 `\p{N}` scalars whose first one ends at `index`.
@inline(__always)
func digitGroupEnd(_ reader: ScalarReader, _ index: Int, _ end: Int) -> Int {
    var cursor = index
    var taken = 1
    while taken < 3 && cursor < end {
        let (flags, length) = reader.scalar(at: cursor)
        if flags & ScalarClass.number == 0 { break }
        cursor &+= length
        taken &+= 1
    }
    return cursor
}

/// Where ` ?[^\s\p{L}\p{N}]+` starts its run at `start`, or `nil` when it does not match.
@inline(__always)
func punctuationStart(_ reader: ScalarReader, _ start: Int, _ first: UInt8, _ end: Int) -> Int? {
    if first & ScalarClass.notPunctuation == 0 { return start }
    if reader.base[start] == UInt8(ascii: " ") && start &+ 1 < end
        && reader.scalar(at: start &+ 1).flags & ScalarClass.notPunctuation == 0
    {
        return start &+ 1
    }
    return nil
}

/// A maximal run of `\s` scalars.
struct WhitespaceRun {
    /// Where the run ends.
    var end: Int
    /// Where the run's last scalar starts.
    var lastStart: Int
    /// The end of the run's last `\r` or `\n`, or -1 if it has none.
    var afterLastNewline: Int
    /// How many scalars the run has.
    var scalars: Int
}

@inline(__always)
func whitespaceRun(_ reader: ScalarReader, _ start: Int, _ end: Int) -> WhitespaceRun {
    var run = WhitespaceRun(end: start, lastStart: start, afterLastNewline: -1, scalars: 0)
    var cursor = start
    while cursor < end {
        let (flags, length) = reader.scalar(at: cursor)
        if flags & ScalarClass.space == 0 { break }
        if flags & ScalarClass.newline != 0 { run.afterLastNewline = cursor &+ 1 }
        run.lastStart = cursor
        run.scalars &+= 1
        cursor &+= length
    }
    run.end = cursor
    return run
}

extension ScalarReader {
    /// The end of the run, from `index`, of scalars that have none of `flags`.
    @inline(__always)
    func run(from index: Int, to end: Int, lacking flags: UInt8) -> Int {
        var cursor = index
        while cursor < end {
            let (found, length) = scalar(at: cursor)
            if found & flags != 0 { break }
            cursor &+= length
        }
        return cursor
    }
}
