// HeuristicTokenEstimator: what one pass over a text accumulates, and the estimate it ends with.

extension HeuristicTokenEstimator {
    /// The tables that can price a text's ASCII words (the lanes of ``Weights/alphaWord``).
    enum Context: Int {
        /// English and everything else.
        case plain = 0
        /// Accented letters are at least 4 in 1,000 of the Latin letters: German, French, Spanish.
        case european
        /// At least 3 in 10 Latin words are glued to a word or digits, and fewer than half of those
        /// are capitalized words of 3 letters or more (camelCase): base64, hex, UUIDs.
        case dense
        /// At least 3 runs of white space that do not end a line per newline run: source code.
        case indented
        /// Letters of other scripts are at least as many as the Latin ones: Latin words inside
        /// Chinese, Japanese, Russian… text.
        case foreign
    }

    /// The running totals of one pass.
    struct Pass {
        /// The cost of every piece but the ASCII words.
        var total = 0.0
        /// The cost of the ASCII words that are not glued, in each context.
        var plainWords = SIMD8<Double>()
        /// The cost of the glued ASCII words, in each context.
        var gluedWords = SIMD8<Double>()
        /// The cost of each margin class so far (ASCII words aside).
        var shares = SIMD8<Double>()
        /// Whether the previous piece was a word or digits: a word without a prefix is then glued.
        var glued = false
        /// Latin words, glued Latin words, glued capitalized ones of 3 letters or more, their letters
        /// and those beyond ASCII, and the letters of other scripts.
        var latinWords = 0
        var gluedLatinWords = 0
        var camelWords = 0
        var latinLetters = 0
        var otherLetters = 0
        var accentedLetters = 0
        /// Runs of white space that do not end a line, and newline runs.
        var spaceRuns = 0
        var newlineRuns = 0

        /// The context whose table prices the ASCII words.
        var context: Context {
            if gluedLatinWords > 0 && gluedLatinWords * 10 >= latinWords * 3 && camelWords * 2 < gluedLatinWords {
                return .dense
            }
            if otherLetters > 0 && otherLetters >= latinLetters { return .foreign }
            if accentedLetters > 0 && accentedLetters * 1000 >= latinLetters * 4 { return .european }
            if newlineRuns > 0 && spaceRuns >= newlineRuns * 3 { return .indented }
            return .plain
        }

        /// The rounded estimate and the margin class with the largest cost (the first on a tie).
        func finish(_ weights: Weights) -> Estimate {
            let lane = context.rawValue
            let plain = plainWords[lane]
            let gluedCost = gluedWords[lane]
            var shares = self.shares
            shares[MarginClass.latin] += plain
            shares[MarginClass.symbols] += gluedCost
            var best = 0
            for index in 1..<weights.margin.count where shares[index] > shares[best] { best = index }
            return Estimate(tokens: max(1, Int((total + plain + gluedCost).rounded())), marginClass: best)
        }
    }

    /// The margin classes' indices (``Weights/marginClasses``).
    enum MarginClass {
        static let latin = 0
        static let symbols = 6

        /// The class of a run of a script other than Latin.
        static func of(_ script: LetterScript) -> Int {
            switch script {
            case .alpha: 0
            case .han: 1
            case .cased: 2
            case .kana: 3
            case .hangul: 4
            case .other: 5
            }
        }
    }
}
