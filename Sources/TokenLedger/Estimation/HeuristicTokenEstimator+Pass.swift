// HeuristicTokenEstimator: one estimation pass over a text's scalars, which cuts it into the pre-tokenizer's pieces and prices them.

extension HeuristicTokenEstimator {
    /// One estimation pass; mirrors `o200k_base`'s pattern
    /// `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?`
    /// `| [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:…)?`
    /// `| \p{N}{1,3} |  ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+`,
    /// alternative by alternative, and prices each match.
    struct Pass {
        private let values: [UInt32]
        private let classes: [ScalarClass]
        private let weights: Weights

        init(text: String, weights: Weights) {
            var values: [UInt32] = []
            var classes: [ScalarClass] = []
            values.reserveCapacity(text.utf8.count)
            classes.reserveCapacity(text.utf8.count)
            for scalar in text.unicodeScalars {
                values.append(scalar.value)
                classes.append(classify(scalar))
            }
            self.values = values
            self.classes = classes
            self.weights = weights
        }

        /// Runs the pass and returns the summed (fractional) cost.
        func run() -> Double {
            let count = values.count
            var total = 0.0
            var index = 0
            while index < count {
                let scalarClass = classes[index]

                // Alternatives 1 and 2: an optional prefix scalar, then letters.
                var wordStart = -1
                if scalarClass.isLetter {
                    wordStart = index
                } else if scalarClass == .space || scalarClass == .punct, index + 1 < count, classes[index + 1].isLetter {
                    wordStart = index + 1
                }
                if wordStart >= 0 {
                    let end = wordEnd(from: wordStart)
                    addWordCost(start: wordStart, end: end, prefix: wordStart > index ? values[index] : nil, to: &total)
                    index = end
                    continue
                }

                // Alternative 3: digits, priced per group of three.
                if scalarClass == .digit {
                    var end = index
                    while end < count, classes[end] == .digit { end += 1 }
                    total += Double((end - index + 2) / 3) * weights.digitGroup
                    index = end
                    continue
                }

                // Alternative 4: an optional space, punctuation, trailing CR/LF/slash.
                if scalarClass == .punct || (values[index] == 0x20 && index + 1 < count && classes[index + 1] == .punct) {
                    let lead = values[index] == 0x20
                    let coreStart = lead ? index + 1 : index
                    var end = coreStart
                    while end < count, classes[end] == .punct { end += 1 }
                    total += punctCost(start: coreStart, end: end, lead: lead)
                    while end < count, values[end] == 0x0A || values[end] == 0x0D || values[end] == 0x2F { end += 1 }
                    index = end
                    continue
                }

                // Alternatives 5 to 7: white space, up to the last newline if any.
                var end = index
                var lastNewline = -1
                var newlines = 0
                while end < count, classes[end] == .space || classes[end] == .newline {
                    if classes[end] == .newline {
                        lastNewline = end
                        newlines += 1
                    }
                    end += 1
                }
                if lastNewline >= 0 {
                    let extra = max(0, newlines - Weights.maxNewlines)
                    total += weights.newline[min(newlines, Weights.maxNewlines)] + Double(extra) * weights.newlineSlope
                    index = lastNewline + 1
                    continue
                }
                // `\s+(?!\S)` leaves the last space to the word that follows.
                let runEnd = end == count ? end : max(index + 1, end - 1)
                total += Double((runEnd - index + weights.spaceRun - 1) / weights.spaceRun)
                index = runEnd
            }
            return total
        }

        /// Where a word that starts at `start` ends: `(U|B)*(L|B)+`, else the
        /// backtracking result, else `(U|B)+(L|B)*`, plus an apostrophe suffix.
        private func wordEnd(from start: Int) -> Int {
            let count = values.count
            var upperEnd = start
            while upperEnd < count {
                let scalarClass = classes[upperEnd]
                guard scalarClass == .upper || scalarClass == .letter || scalarClass == .mark else { break }
                upperEnd += 1
            }
            var lowerEnd = upperEnd
            while lowerEnd < count {
                let scalarClass = classes[lowerEnd]
                guard scalarClass == .lower || scalarClass == .letter || scalarClass == .mark else { break }
                lowerEnd += 1
            }
            var end = lowerEnd
            if lowerEnd == upperEnd {
                var back = upperEnd - 1
                while back >= start {
                    if classes[back] == .letter || classes[back] == .mark {
                        end = back + 1
                        break
                    }
                    back -= 1
                }
            }
            if end < count, values[end] == 0x27 {
                end = apostropheSuffixEnd(at: end)
            }
            return end
        }

        /// The end of `'s 't 're 've 'm 'll 'd` (ASCII, any case) at `apostrophe`.
        private func apostropheSuffixEnd(at apostrophe: Int) -> Int {
            @inline(__always) func lower(_ offset: Int) -> UInt32 {
                let position = apostrophe + offset
                guard position < values.count else { return 0 }
                let value = values[position]
                return (0x41...0x5A).contains(value) ? value | 0x20 : value
            }
            let first = lower(1)
            switch first {
            case 0x73, 0x74, 0x6D, 0x64: return apostrophe + 2  // s t m d
            case 0x72 where lower(2) == 0x65: return apostrophe + 3  // re
            case 0x76 where lower(2) == 0x65: return apostrophe + 3  // ve
            case 0x6C where lower(2) == 0x6C: return apostrophe + 3  // ll
            default: return apostrophe
            }
        }

        /// Prices a word, split into runs of one script (only the first run
        /// carries the prefix), adding run by run to `total`.
        private func addWordCost(start: Int, end: Int, prefix prefixValue: UInt32?, to total: inout Double) {
            var prefix = prefixValue == nil ? 0 : (prefixValue == 0x20 ? 1 : 2)
            var current: LetterScript?
            var runStart = start
            var upper = 0
            var letters = 0
            var nonASCII = 0
            var index = start
            while index <= end {
                var script: LetterScript?
                if index < end {
                    let scalarClass = classes[index]
                    if scalarClass == .mark, let current {
                        script = current
                    } else if scalarClass.isLetter {
                        script = letterScript(values[index])
                    } else {
                        script = current
                    }
                }
                if index == end || (current != nil && script != current) {
                    if let current {
                        total += runCost(
                            script: current, prefix: prefix, length: index - runStart,
                            upper: upper, letters: letters, firstIsUpper: classes[runStart] == .upper, nonASCII: nonASCII)
                        prefix = 0
                    }
                    runStart = index
                    upper = 0
                    letters = 0
                    nonASCII = 0
                }
                current = script
                if index < end {
                    let scalarClass = classes[index]
                    if scalarClass == .upper { upper += 1 }
                    if scalarClass == .upper || scalarClass == .lower || scalarClass == .letter { letters += 1 }
                    if values[index] >= 0x80 { nonASCII += 1 }
                }
                index += 1
            }
        }

        /// Prices one single-script run of a word.
        private func runCost(
            script: LetterScript, prefix: Int, length: Int, upper: Int, letters: Int, firstIsUpper: Bool, nonASCII: Int
        ) -> Double {
            let maxWord = Weights.maxWord
            switch script {
            case .alpha:
                let shape: Int
                if upper == 0 {
                    shape = 0  // lower
                } else if upper == letters {
                    shape = 2  // UPPER
                } else if upper == 1 && firstIsUpper {
                    shape = 1  // Capitalized
                } else {
                    shape = 3  // mixed
                }
                let base = weights.alphaWord[(prefix * 4 + shape) * (maxWord + 1) + min(length, maxWord)]
                return base + Double(max(0, length - maxWord)) * weights.alphaSlope + Double(nonASCII) * weights.latinExtra
            case .han:
                return weights.han[prefix * (maxWord + 1) + min(length, maxWord)]
                    + Double(max(0, length - maxWord)) * weights.hanSlope
            case .cased, .kana, .hangul, .other:
                let row = script.rawValue - LetterScript.cased.rawValue  // rows: cased, kana, hangul, other
                return weights.scriptBase[row * 3 + prefix] + weights.scriptPerScalar[row] * Double(length)
            }
        }

        /// Prices the punctuation cluster `[start, end)` (its optional leading
        /// space and trailing newlines are part of the same token).
        private func punctCost(start: Int, end: Int, lead: Bool) -> Double {
            let maxPunct = Weights.maxPunct
            var group = PunctGroup.ascii
            var segments = 0
            var asciiCount = 0
            var symbolCost = 0.0
            var previous: UInt32 = .max
            for index in start..<end {
                let value = values[index]
                if value != previous { segments += 1 }
                previous = value
                switch punctGroup(value) {
                case .ascii:
                    asciiCount += 1
                case .wide:
                    if group == .ascii { group = .wide }
                    symbolCost += weights.symbol[utf8Length(value)]
                case .symbol:
                    group = .symbol
                    symbolCost += weights.symbol[utf8Length(value)]
                }
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
                let repeats = (end - start) - segments
                return table(group, lead: lead, count: segments) + Double(repeats) * weights.punctRepeat
            }
        }

        @inline(__always)
        private func utf8Length(_ value: UInt32) -> Int {
            value < 0x80 ? 1 : value < 0x800 ? 2 : value < 0x10000 ? 3 : 4
        }
    }
}
