// HeuristicTokenEstimator: prices the pieces `o200k_base`'s pre-tokenizer (BytePairEncoding's PieceSplitter) cuts a text into.

import BytePairEncoding

extension HeuristicTokenEstimator {
    /// The scalars of a piece with their classes.
    typealias Scalars = PieceSplitter.Piece.Scalars
    /// A scalar of a piece with its class.
    typealias Scalar = PieceSplitter.ClassifiedScalar

    /// Adds the cost of one `o200k_base` piece to the pass.
    ///
    /// The piece is one match of the pattern
    /// `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?`
    /// `| [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:…)?`
    /// `| \p{N}{1,3} |  ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+`;
    /// its first one or two scalars say which alternative matched it.
    @inline(__always)
    func addCost(of piece: PieceSplitter.Piece, to pass: inout Pass) {
        var scalars = piece.scalars
        guard let first = scalars.next() else { return }
        // Alternatives 1 and 2 without the prefix: a letter or mark starts the word.
        if first.isWordScalar {
            addWordCost(first: first, rest: &scalars, prefix: pass.glued ? 3 : 0, to: &pass)
            pass.glued = true
            return
        }
        // Alternative 3: a group of one to three digits.
        if first.characterClass.contains(.number) {
            pass.total += weights.digitGroup
            pass.shares[MarginClass.symbols] += weights.digitGroup
            pass.glued = true
            return
        }
        pass.glued = false
        let second = scalars.next()
        // Alternatives 1 and 2 with the prefix: a space or punctuation scalar, then the word.
        if let second, second.isWordScalar, !first.characterClass.contains(.newline) {
            addWordCost(first: second, rest: &scalars, prefix: first.value == 0x20 ? 1 : 2, to: &pass)
            pass.glued = true
            return
        }
        // Alternative 4: an optional space, punctuation, trailing CR/LF/slash.
        if first.characterClass.isEmpty {
            let cost = punctCost(first: first, second: second, rest: &scalars, lead: false)
            pass.total += cost
            pass.shares[MarginClass.symbols] += cost
            return
        }
        if first.value == 0x20, let second, second.isPunctuation {
            let cost = punctCost(first: second, second: scalars.next(), rest: &scalars, lead: true)
            pass.total += cost
            pass.shares[MarginClass.symbols] += cost
            return
        }
        // Alternatives 5 to 7: white space, up to its last newline if it has one.
        var length = 1
        var newlines = first.characterClass.contains(.newline) ? 1 : 0
        var next = second
        while let scalar = next {
            length += 1
            if scalar.characterClass.contains(.newline) { newlines += 1 }
            next = scalars.next()
        }
        if newlines > 0 {
            let extra = max(0, newlines - Weights.maxNewlines)
            pass.total += weights.newline[min(newlines, Weights.maxNewlines)] + Double(extra) * weights.newlineSlope
            pass.newlineRuns += 1
        } else {
            pass.total += Double((length + weights.spaceRun - 1) / weights.spaceRun)
            pass.spaceRuns += 1
        }
    }

    /// Prices a word (letters and marks, and a contraction such as `'ll`), split into runs of one
    /// script (only the first run carries the prefix: 0 none, 1 a space, 2 another scalar, 3 glued),
    /// adding run by run to the pass.
    @inline(__always)
    private func addWordCost(first: Scalar, rest: inout Scalars, prefix prefixKind: Int, to pass: inout Pass) {
        var prefix = prefixKind
        var current: LetterScript?
        var length = 0
        var upper = 0
        var letters = 0
        var nonASCII = 0
        var rare = 0
        var firstIsUpper = first.isUpperOnly
        var next: Scalar? = first
        while true {
            var script: LetterScript?
            if let scalar = next {
                if scalar.isMark, let current {
                    script = current
                } else if scalar.isWordScalar {
                    script = Self.letterScript(scalar.value)
                } else {
                    script = current
                }
            }
            if next == nil || (current != nil && script != current) {
                if let current {
                    let run = Run(
                        script: current, prefix: prefix, length: length, upper: upper, letters: letters,
                        firstIsUpper: firstIsUpper, nonASCII: nonASCII, rare: rare)
                    addRunCost(run, to: &pass)
                    prefix = 0
                }
                length = 0
                upper = 0
                letters = 0
                nonASCII = 0
                rare = 0
                firstIsUpper = next?.isUpperOnly ?? false
            }
            guard let scalar = next else { return }
            current = script
            length += 1
            if scalar.isUpperOnly { upper += 1 }
            if scalar.characterClass.contains(.letter) { letters += 1 }
            if scalar.value >= 0x80 {
                nonASCII += 1
                if script == .han && !scalar.isMark && !weights.isCommonHan(scalar.value) { rare += 1 }
            }
            next = rest.next()
        }
    }

    /// One single-script run of a word, as priced.
    struct Run {
        var script: LetterScript
        var prefix: Int
        var length: Int
        var upper: Int
        var letters: Int
        var firstIsUpper: Bool
        var nonASCII: Int
        var rare: Int
    }

    /// Prices one single-script run of a word.
    @inline(__always)
    private func addRunCost(_ run: Run, to pass: inout Pass) {
        let maxWord = Weights.maxWord
        let over = Double(max(0, run.length - maxWord))
        let column = min(run.length, maxWord)
        guard run.script == .alpha else {
            pass.otherLetters += run.length
            let row = run.script.rawValue - 1  // rows: han, cased, kana, hangul, other
            var cost =
                weights.scriptWord[(row * 3 + (run.prefix < 3 ? run.prefix : 0)) * (maxWord + 1) + column]
                + over * weights.scriptSlope[row]
            if run.rare > 0 { cost += Double(run.rare) * weights.rareHan }
            pass.total += cost
            pass.shares[run.prefix == 3 ? MarginClass.symbols : MarginClass.of(run.script)] += cost
            return
        }
        let shape: Int
        if run.upper == 0 {
            shape = 0  // lower
        } else if run.upper == run.letters {
            shape = 2  // UPPER
        } else if run.upper == 1 && run.firstIsUpper {
            shape = 1  // Capitalized
        } else {
            shape = 3  // mixed
        }
        pass.latinWords += 1
        pass.latinLetters += run.length
        pass.accentedLetters += run.nonASCII
        if run.prefix == 3 {
            pass.gluedLatinWords += 1
            if shape == 1 && run.length >= 3 { pass.camelWords += 1 }
        }
        if run.nonASCII > 0 {
            let cost =
                weights.accented[run.prefix * (maxWord + 1) + column] + over * weights.alphaSlope
                + Double(run.nonASCII - 1) * weights.latinExtra
            pass.total += cost
            pass.shares[run.prefix == 3 ? MarginClass.symbols : MarginClass.latin] += cost
            return
        }
        let cost = weights.alphaWord[(run.prefix * 4 + shape) * (maxWord + 1) + column] + over * weights.alphaSlope
        if run.prefix == 3 {
            pass.gluedWords += cost
        } else {
            pass.plainWords += cost
        }
    }

    /// Prices a punctuation cluster: `first`, `second` and the rest up to the trailing newlines (the
    /// optional leading space, already taken, and the newlines are part of the same token).
    @inline(__always)
    private func punctCost(first: Scalar, second: Scalar?, rest: inout Scalars, lead: Bool) -> Double {
        let maxPunct = Weights.maxPunct
        var group = PunctGroup.ascii
        var length = 0
        var segments = 0
        var asciiCount = 0
        var symbolCost = 0.0
        var previous: UInt32 = .max
        var next: Scalar? = first
        var pending = second
        while let scalar = next, scalar.isPunctuation {
            let value = scalar.value
            length += 1
            if value != previous { segments += 1 }
            previous = value
            switch Self.punctGroup(value) {
            case .ascii:
                asciiCount += 1
            case .wide:
                if group == .ascii { group = .wide }
                symbolCost += weights.symbol[utf8Length(value)]
            case .symbol:
                group = .symbol
                symbolCost += weights.symbol[utf8Length(value)]
            }
            next = pending ?? rest.next()
            pending = nil
        }
        func table(_ group: PunctGroup, lead: Bool, count: Int) -> Double {
            let row = group.rawValue * 2 + (lead ? 1 : 0)
            return weights.punct[row * (maxPunct + 1) + min(count, maxPunct)]
                + Double(max(0, count - maxPunct)) * weights.punctSlope[group.rawValue]
        }
        switch group {
        case .symbol:
            return symbolCost + (asciiCount > 0 ? table(.ascii, lead: false, count: asciiCount) : 0)
        case .ascii, .wide:
            return table(group, lead: lead, count: segments) + Double(length - segments) * weights.punctRepeat
        }
    }

    @inline(__always)
    private func utf8Length(_ value: UInt32) -> Int {
        value < 0x80 ? 1 : value < 0x800 ? 2 : value < 0x10000 ? 3 : 4
    }
}

extension PieceSplitter.ClassifiedScalar {
    // Masks of the class bits, spelled out so the hot loop tests constants (no set literals).
    private static var upper: UInt8 { PieceSplitter.CharacterClass.upper.rawValue }
    private static var lower: UInt8 { PieceSplitter.CharacterClass.lower.rawValue }
    private static var letter: UInt8 { PieceSplitter.CharacterClass.letter.rawValue }
    private static var notPunctuation: UInt8 {
        letter | PieceSplitter.CharacterClass.number.rawValue | PieceSplitter.CharacterClass.whitespace.rawValue
    }

    /// A letter or a mark: `[\p{L}\p{M}]`, what a word is made of.
    @inline(__always)
    var isWordScalar: Bool { characterClass.rawValue & (Self.upper | Self.lower) != 0 }

    /// A combining mark: `\p{M}`, which stays with its base letter's script.
    @inline(__always)
    var isMark: Bool { characterClass.rawValue & (Self.upper | Self.lower | Self.letter) == Self.upper | Self.lower }

    /// An uppercase or titlecase letter: `\p{Lu}` or `\p{Lt}`.
    @inline(__always)
    var isUpperOnly: Bool { characterClass.rawValue & (Self.upper | Self.lower) == Self.upper }

    /// Punctuation, symbols and marks: `[^\s\p{L}\p{N}]`.
    @inline(__always)
    var isPunctuation: Bool { characterClass.rawValue & Self.notPunctuation == 0 }
}
