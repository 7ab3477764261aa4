#!/usr/bin/env python3
"""Fit HeuristicTokenEstimator's cost tables on the calibration half.

Reads the corpus of estimator_corpus.py, segments every calibration piece
exactly like HeuristicTokenEstimator (this file holds a Python mirror of its
single pass, which in turn mirrors o200k_base's pre-tokenizer), measures the
true o200k_base cost of every unit with tiktoken, and writes the per-class
mean costs (shrunk towards priors, made monotone in length) as the generated
Swift file Sources/TokenLedger/Estimation/HeuristicTokenEstimator+Weights.swift.
It prints the mirror's accuracy on both halves so a refit can be judged first.

The mirror and the Swift estimator must agree exactly: after changing either,
compare `--dump-estimates` with EstimatorAccuracy's `--dump-estimates`.

Usage: estimator_calibrate.py corpus.json [--swift-out FILE] [--dump-estimates FILE]
Needs: pip tiktoken bpe-openai (see estimator_corpus.py).
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------
# Scalar classes (keep in step with HeuristicTokenEstimator.swift)
# ---------------------------------------------------------------------------
UPPER, LOWER, BOTH, MARK, DIGIT, SPACE, NEWLINE, PUNCT = range(8)  # BOTH: Lm/Lo
# letter scripts
ALPHA, CASED, HAN, KANA, HANGUL, OTHER = range(6)
# punctuation scalar groups
P_ASCII, P_WIDE, P_SYMBOL = range(3)

WHITESPACE = {0x09, 0x0B, 0x0C, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000} | set(range(0x2000, 0x200B))


def scalar_class(cp: int) -> int:
    if cp < 0x80:
        if 0x61 <= cp <= 0x7A:
            return LOWER
        if 0x41 <= cp <= 0x5A:
            return UPPER
        if 0x30 <= cp <= 0x39:
            return DIGIT
        if cp in (0x0A, 0x0D):
            return NEWLINE
        if cp in WHITESPACE:
            return SPACE
        return PUNCT
    if 0x4E00 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7A3:
        return BOTH
    if cp in WHITESPACE:
        return SPACE
    cat = unicodedata.category(chr(cp))
    if cat in ("Lu", "Lt"):
        return UPPER
    if cat == "Ll":
        return LOWER
    if cat[0] == "L":
        return BOTH
    if cat[0] == "M":
        return MARK
    if cat[0] == "N":
        return DIGIT
    return PUNCT


def letter_script(cp: int) -> int:
    if cp < 0x250 or 0x1E00 <= cp <= 0x1EFF or 0x2C60 <= cp <= 0x2C7F or 0xA720 <= cp <= 0xA7FF:
        return ALPHA
    if 0x370 <= cp <= 0x58F or 0x10A0 <= cp <= 0x10FF or 0x1C80 <= cp <= 0x1CBF or 0x2DE0 <= cp <= 0x2DFF or 0xA640 <= cp <= 0xA69F:
        return CASED
    if (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF
            or 0x20000 <= cp <= 0x3FFFF or 0x3005 <= cp <= 0x3007 or 0x2E80 <= cp <= 0x2FDF):
        return HAN
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9F:
        return KANA
    if 0xAC00 <= cp <= 0xD7FF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F or 0xA960 <= cp <= 0xA97F:
        return HANGUL
    return OTHER


def punct_group(cp: int) -> int:
    if cp < 0x80:
        return P_ASCII
    if 0x2000 <= cp <= 0x206F or 0x3000 <= cp <= 0x303F or 0xFF00 <= cp <= 0xFFEF or 0x00A1 <= cp <= 0x00BF or 0x2E00 <= cp <= 0x2E7F:
        return P_WIDE
    return P_SYMBOL


# ---------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------
# ("word", script, prefix, shape, length, non_ascii, text)
# ("digits", length, text)
# ("punct", group, leading_space, segments, trailing, text, groups, repeats)
# ("space", length, text) / ("newline", newlines, text)
PREFIX_NONE, PREFIX_SPACE, PREFIX_OTHER = range(3)
SHAPE_LOWER, SHAPE_CAPITAL, SHAPE_UPPER, SHAPE_MIXED = range(4)
APOSTROPHE_SUFFIXES = ("s", "t", "re", "ve", "m", "ll", "d")


def word_units(scalars, classes, start, end, prefix_cp, out):
    """Split the letter run [start, end) into script sub-runs."""
    prefix = PREFIX_NONE if prefix_cp is None else (PREFIX_SPACE if prefix_cp == 0x20 else PREFIX_OTHER)
    i = start
    current = None
    run_start = start
    while i <= end:
        script = None
        if i < end:
            cls = classes[i]
            cp = scalars[i]
            if cls == MARK and current is not None:
                script = current  # combining marks stay with their base
            elif cls <= MARK:
                script = letter_script(cp)
            else:
                script = current  # the apostrophe of a suffix such as 's
        if i == end or (current is not None and script != current):
            if current is not None:
                segment = scalars[run_start:i]
                upper = sum(1 for k in range(run_start, i) if classes[k] == UPPER)
                letters = sum(1 for k in range(run_start, i) if classes[k] in (UPPER, LOWER, BOTH))
                if upper == 0:
                    shape = SHAPE_LOWER
                elif upper == letters:
                    shape = SHAPE_UPPER
                elif upper == 1 and classes[run_start] == UPPER:
                    shape = SHAPE_CAPITAL
                else:
                    shape = SHAPE_MIXED
                non_ascii = sum(1 for c in segment if c >= 0x80)
                text = "".join(map(chr, segment))
                if prefix_cp is not None:
                    text = chr(prefix_cp) + text
                out.append(("word", current, prefix, shape, len(segment), non_ascii, text))
                prefix = PREFIX_NONE
                prefix_cp = None
            run_start = i
        current = script
        i += 1


def segment(text: str):
    scalars = [ord(c) for c in text]
    classes = [scalar_class(c) for c in scalars]
    n = len(scalars)
    out = []
    i = 0
    is_letter = lambda k: k < n and classes[k] <= MARK
    while i < n:
        c = classes[i]
        # alternatives 1 and 2: [^\r\n\p{L}\p{N}]? letters (apostrophe suffix)
        word_start = -1
        if c <= MARK:
            word_start = i
        elif c in (SPACE, PUNCT) and is_letter(i + 1):
            word_start = i + 1
        if word_start >= 0:
            j = word_start
            while j < n and classes[j] in (UPPER, BOTH, MARK):
                j += 1
            k = j
            while k < n and classes[k] in (LOWER, BOTH, MARK):
                k += 1
            if k > j:
                end = k
            else:
                end = j
                for b in range(j - 1, word_start - 1, -1):
                    if classes[b] in (BOTH, MARK):
                        end = b + 1
                        break
            if end < n and scalars[end] == 0x27:
                for suffix in APOSTROPHE_SUFFIXES:
                    s = end + 1
                    if s + len(suffix) <= n and "".join(map(chr, scalars[s:s + len(suffix)])).lower() == suffix:
                        end = s + len(suffix)
                        break
            word_units(scalars, classes, word_start, end, scalars[i] if word_start > i else None, out)
            i = end
            continue
        # alternative 3: \p{N}{1,3}
        if c == DIGIT:
            j = i
            while j < n and classes[j] == DIGIT:
                j += 1
            out.append(("digits", j - i, text[i:j]))
            i = j
            continue
        # alternative 4: ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
        if c == PUNCT or (scalars[i] == 0x20 and i + 1 < n and classes[i + 1] == PUNCT):
            lead = scalars[i] == 0x20
            j = i + 1 if lead else i
            core_start = j
            while j < n and classes[j] == PUNCT:
                j += 1
            core_end = j
            while j < n and scalars[j] in (0x0A, 0x0D, 0x2F):
                j += 1
            groups = [punct_group(scalars[k]) for k in range(core_start, core_end)]
            if all(g == P_ASCII for g in groups):
                group = P_ASCII
            elif any(g == P_SYMBOL for g in groups):
                group = P_SYMBOL
            else:
                group = P_WIDE
            segments = 1 + sum(1 for k in range(core_start + 1, core_end) if scalars[k] != scalars[k - 1])
            out.append(("punct", group, lead, segments, j - core_end, text[i:j], groups, core_end - core_start - segments))
            i = j
            continue
        # alternatives 5-7: whitespace
        j = i
        last_newline = -1
        while j < n and classes[j] in (SPACE, NEWLINE):
            if classes[j] == NEWLINE:
                last_newline = j
            j += 1
        if last_newline >= 0:
            newlines = sum(1 for k in range(i, last_newline + 1) if classes[k] == NEWLINE)
            out.append(("newline", newlines, text[i:last_newline + 1]))
            i = last_newline + 1
            continue
        end = j if j == n else max(i + 1, j - 1)
        out.append(("space", end - i, text[i:end]))
        i = end
    return out


# ---------------------------------------------------------------------------
# Cost model (keep in step with HeuristicTokenEstimator.swift)
# ---------------------------------------------------------------------------
MAX_WORD = 16      # word lengths 1...16 tabulated, longer extrapolated
MAX_PUNCT = 8      # punctuation segment counts 1...8 tabulated, more extrapolated
MAX_NEWLINES = 4   # newline counts 1...4 tabulated, more extrapolated

# Priors that the four-category corpus cannot fit (too few such letters in
# it). Measured once with estimator_priors.py: o200k_base costs of the words in
# the Debian translation catalogs (/usr/share/locale/*/LC_MESSAGES/*.mo) of
# fr de es pl vi tr (Latin), ru uk el (Cyrillic/Greek), ja (kana),
# ko (Hangul), ar he hi th (other scripts); least squares of
# cost = base[prefix] + perScalar * length, bases for no/space/other prefix.
LATIN_EXTRA = 0.53
SCRIPT_PRIORS = {
    CASED: ([1.227, 0.461, 2.086], 0.249),
    KANA: ([0.095, 0.576, 1.261], 0.593),
    HANGUL: ([0.849, 0.472, 1.484], 0.534),
    OTHER: ([0.493, 0.0, 1.491], 0.405),
}
# Symbols and emoji (tiktoken o200k_base spot checks: most emoji and
# arrows/bullets are one token; some emoji and each regional indicator two).
SYMBOL_COST = [0.0, 1.0, 1.0, 1.0, 1.5]  # by UTF-8 length 1...4
DIGIT_GROUP = 1.0   # every 1-3 digit group is one o200k token
SPACE_RUN = 64      # a run of spaces costs one token per this many scalars (rounded up)


class Model:
    def __init__(self):
        self.alpha = [[[1.0] * (MAX_WORD + 1) for _ in range(4)] for _ in range(3)]  # [prefix][shape][len]
        self.alpha_slope = 0.3
        self.han = [[1.0] * (MAX_WORD + 1) for _ in range(3)]  # [prefix][len]
        self.han_slope = 0.7
        self.punct = [[[1.0] * (MAX_PUNCT + 1) for _ in range(2)] for _ in range(2)]  # [ascii/wide][lead][segments]
        self.punct_slope = [0.5, 0.8]
        self.punct_repeat = 0.03
        self.newline = [1.0] * (MAX_NEWLINES + 1)
        self.newline_slope = 0.25

    def unit_cost(self, unit) -> float:
        kind = unit[0]
        if kind == "word":
            _, script, prefix, shape, length, non_ascii, _ = unit
            if script == ALPHA:
                base = self.alpha[prefix][shape][min(length, MAX_WORD)]
                return base + max(0, length - MAX_WORD) * self.alpha_slope + non_ascii * LATIN_EXTRA
            if script == HAN:
                return self.han[prefix][min(length, MAX_WORD)] + max(0, length - MAX_WORD) * self.han_slope
            bases, per = SCRIPT_PRIORS[script]
            return bases[prefix] + per * length
        if kind == "digits":
            return math.ceil(unit[1] / 3) * DIGIT_GROUP
        if kind == "punct":
            _, group, lead, count, trailing, text, groups, repeats = unit
            if group == P_SYMBOL:
                ascii_count = sum(1 for g in groups if g == P_ASCII)
                cost = sum(SYMBOL_COST[utf8_length(ord(ch))] for ch in text.lstrip(" ")[: len(groups)] if ord(ch) >= 0x80)
                if ascii_count:
                    cost += self.punct[P_ASCII][0][min(ascii_count, MAX_PUNCT)] + max(0, ascii_count - MAX_PUNCT) * self.punct_slope[P_ASCII]
                return cost
            table = self.punct[group][1 if lead else 0]
            return table[min(count, MAX_PUNCT)] + max(0, count - MAX_PUNCT) * self.punct_slope[group] + repeats * self.punct_repeat
        if kind == "newline":
            return self.newline[min(unit[1], MAX_NEWLINES)] + max(0, unit[1] - MAX_NEWLINES) * self.newline_slope
        return float(math.ceil(unit[1] / SPACE_RUN))


def utf8_length(cp: int) -> int:
    return 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4


def estimate(model: Model, text: str) -> int:
    if not text:
        return 0
    total = 0.0
    for unit in segment(text):
        total += model.unit_cost(unit)
    return max(1, int(total + 0.5))


def monotone(values, weights):
    """Weighted isotonic (non-decreasing) regression, pool-adjacent-violators."""
    blocks = []  # [mean, weight, size]
    for value, weight in zip(values, weights):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    out = []
    for value, _, size in blocks:
        out += [value] * size
    return out


def fit(pieces, encoding) -> Model:
    """Mean o200k_base cost per unit class over the given pieces."""
    model = Model()
    cache = {}

    def true_cost(text):
        cost = cache.get(text)
        if cost is None:
            cost = len(encoding.encode_ordinary(text))
            cache[text] = cost
        return cost

    units = [unit for piece in pieces for unit in segment(piece["text"])]
    cells = collections.defaultdict(lambda: [0, 0.0])
    for unit in units:
        kind = unit[0]
        if kind == "word":
            _, script, prefix, shape, length, non_ascii, text = unit
            if length <= MAX_WORD and script == ALPHA and non_ascii == 0:
                key = ("alpha", prefix, shape, length)
            elif length <= MAX_WORD and script == HAN:
                key = ("han", prefix, length)
            else:
                continue
        elif kind == "punct" and unit[1] != P_SYMBOL and unit[7] == 0:
            key = ("punct", unit[1], int(unit[2]), min(unit[3], MAX_PUNCT))
            text = unit[5]
        elif kind == "newline" and unit[1] <= MAX_NEWLINES:
            key = ("newline", unit[1])
            text = unit[2]
        else:
            continue
        cell = cells[key]
        cell[0] += 1
        cell[1] += true_cost(text)

    def shrunk(key, prior, weight=10.0):
        count, total = cells.get(key, (0, 0.0))
        return (total + prior * weight) / (count + weight), count + weight

    def table(keys, priors):
        fitted = [shrunk(key, prior) for key, prior in zip(keys, priors)]
        return monotone([f[0] for f in fitted], [f[1] for f in fitted])

    # Letters-only ASCII words: per prefix and shape, shrunk towards the mean
    # of all words of the same length, then made non-decreasing in length.
    pooled = []
    for length in range(1, MAX_WORD + 1):
        keys = [k for k in cells if k[0] == "alpha" and k[3] == length]
        count = sum(cells[k][0] for k in keys)
        pooled.append(sum(cells[k][1] for k in keys) / count if count else 1.0 + 0.1 * length)
    for prefix in range(3):
        for shape in range(4):
            keys = [("alpha", prefix, shape, length) for length in range(1, MAX_WORD + 1)]
            model.alpha[prefix][shape][1:] = table(keys, pooled)
    # Han runs: per prefix, shrunk towards 0.5 + 0.7 per ideograph.
    for prefix in range(3):
        keys = [("han", prefix, length) for length in range(1, MAX_WORD + 1)]
        model.han[prefix][1:] = table(keys, [0.5 + 0.7 * length for length in range(1, MAX_WORD + 1)])
    for group in (P_ASCII, P_WIDE):
        for lead in range(2):
            keys = [("punct", group, lead, count) for count in range(1, MAX_PUNCT + 1)]
            priors = [1.0 + 0.5 * (count - 1) if group == P_ASCII else float(count) for count in range(1, MAX_PUNCT + 1)]
            model.punct[group][lead][1:] = table(keys, priors)
    model.newline[1:] = table([("newline", n) for n in range(1, MAX_NEWLINES + 1)], [1.0] * MAX_NEWLINES)

    # Per-scalar slopes past the tables, measured against the last cell.
    def slope(select, extra, base, default):
        count, total = 0, 0.0
        for unit in units:
            if select(unit):
                count += extra(unit)
                total += true_cost(unit_text(unit)) - base(unit)
        return max(0.0, total / count) if count >= 20 else default

    model.alpha_slope = slope(lambda u: u[0] == "word" and u[1] == ALPHA and u[5] == 0 and u[4] > MAX_WORD,
                              lambda u: u[4] - MAX_WORD, lambda u: model.alpha[u[2]][u[3]][MAX_WORD], model.alpha_slope)
    model.han_slope = slope(lambda u: u[0] == "word" and u[1] == HAN and u[4] > MAX_WORD,
                            lambda u: u[4] - MAX_WORD, lambda u: model.han[u[2]][MAX_WORD], model.han_slope)
    for group in (P_ASCII, P_WIDE):
        model.punct_slope[group] = slope(lambda u: u[0] == "punct" and u[1] == group and u[7] == 0 and u[3] > MAX_PUNCT,
                                         lambda u: u[3] - MAX_PUNCT, lambda u: model.punct[group][int(u[2])][MAX_PUNCT],
                                         model.punct_slope[group])
    # Repeated scalars in a punctuation run ("-----"), beyond its segments.
    model.punct_repeat = slope(lambda u: u[0] == "punct" and u[1] != P_SYMBOL and u[7] > 0, lambda u: u[7],
                               lambda u: model.unit_cost(u[:7] + (0,)), model.punct_repeat)
    model.newline_slope = slope(lambda u: u[0] == "newline" and u[1] > MAX_NEWLINES, lambda u: u[1] - MAX_NEWLINES,
                                lambda u: model.newline[MAX_NEWLINES], model.newline_slope)
    return model


def unit_text(unit) -> str:
    """The scalars a unit covers (with its prefix or leading space)."""
    if unit[0] == "word":
        return unit[6]
    if unit[0] == "punct":
        return unit[5]
    return unit[2]


def evaluate(model: Model, pieces):
    by_category = collections.defaultdict(list)
    for piece in pieces:
        estimate_value = estimate(model, piece["text"])
        error = abs(estimate_value - piece["reference"]) / piece["reference"] * 100
        baseline = abs(math.ceil(len(piece["text"]) / 4) - piece["reference"]) / piece["reference"] * 100
        by_category[piece["category"]].append((error, baseline, estimate_value / piece["reference"]))
    for category, rows in by_category.items():
        errors = sorted(r[0] for r in rows)
        base = sorted(r[1] for r in rows)
        bias = sum(r[2] for r in rows) / len(rows)
        print(f"  {category:9s} n={len(rows):3d} mae={sum(errors)/len(errors):5.2f}% p90={errors[max(0, math.ceil(0.9 * len(errors)) - 1)]:5.2f}% "
              f"ratio={bias:.3f}  chars/4 mae={sum(base)/len(base):5.1f}%")


def rounded(model: Model) -> Model:
    """Round every fitted weight to the 4 decimals the Swift file carries,
    so that this mirror and the Swift estimator compute the same sums."""
    r = lambda v: round(v, 4)
    model.alpha = [[[r(v) for v in row] for row in shapes] for shapes in model.alpha]
    model.han = [[r(v) for v in row] for row in model.han]
    model.punct = [[[r(v) for v in row] for row in leads] for leads in model.punct]
    model.newline = [r(v) for v in model.newline]
    model.alpha_slope, model.han_slope, model.punct_repeat, model.newline_slope = (
        r(model.alpha_slope), r(model.han_slope), r(model.punct_repeat), r(model.newline_slope))
    model.punct_slope = [r(v) for v in model.punct_slope]
    return model


def swift_weights(model: Model, pieces: int, corpus_sha: str) -> str:
    """The generated Swift file with every weight of the model."""
    def row(values, indent):
        text = ", ".join(f"{v:.4f}" for v in values)
        return " " * indent + text
    def block(rows, indent=12):
        return ",\n".join(row(values, indent) for values in rows)
    alpha_rows = [model.alpha[p][sh] for p in range(3) for sh in range(4)]
    script_order = [CASED, KANA, HANGUL, OTHER]
    return f"""// Generated by scripts/estimator_calibrate.py: do not edit by hand.
// Fitted on the calibration half ({pieces} pieces) of the corpus built by
// scripts/estimator_corpus.py (sha256 {corpus_sha[:16]}…), against tiktoken's
// o200k_base counts. Rows of alphaWord are [prefix none, space, other] x
// [shape lower, Capitalized, UPPER, mixed], columns word length 0...16.

extension HeuristicTokenEstimator.Weights {{
    /// Weights calibrated against the `o200k_base` encoding (GPT-4o, GPT-4.1, o-series).
    static let o200k = HeuristicTokenEstimator.Weights(
        alphaWord: [
{block(alpha_rows)}
        ],
        alphaSlope: {model.alpha_slope:.4f},
        latinExtra: {LATIN_EXTRA:.4f},
        han: [
{block(model.han)}
        ],
        hanSlope: {model.han_slope:.4f},
        scriptBase: [
{block([SCRIPT_PRIORS[sc][0] for sc in script_order])}
        ],
        scriptPerScalar: [{", ".join(f"{SCRIPT_PRIORS[sc][1]:.4f}" for sc in script_order)}],
        punct: [
{block([model.punct[g][l] for g in range(2) for l in range(2)])}
        ],
        punctSlope: [{model.punct_slope[0]:.4f}, {model.punct_slope[1]:.4f}],
        punctRepeat: {model.punct_repeat:.4f},
        symbol: [{", ".join(f"{v:.4f}" for v in SYMBOL_COST)}],
        digitGroup: {DIGIT_GROUP:.4f},
        newline: [{", ".join(f"{v:.4f}" for v in model.newline)}],
        newlineSlope: {model.newline_slope:.4f},
        spaceRun: {SPACE_RUN}
    )
}}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--swift-out", help="write the generated weights Swift file here")
    parser.add_argument("--dump-estimates", help="write the mirror's estimates (one per piece, corpus order)")
    args = parser.parse_args()
    import estimator_corpus
    encoding = estimator_corpus.o200k_encoding()
    with open(args.corpus, encoding="utf-8") as handle:
        corpus = json.load(handle)
    calibration = [p for p in corpus if p["split"] == "calibration"]
    holdout = [p for p in corpus if p["split"] == "holdout"]
    model = rounded(fit(calibration, encoding))
    print("calibration half:")
    evaluate(model, calibration)
    print("holdout half:")
    evaluate(model, holdout)
    if args.swift_out:
        import hashlib
        with open(args.corpus, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        with open(args.swift_out, "w", encoding="utf-8") as handle:
            handle.write(swift_weights(model, len(calibration), digest))
        print(f"wrote {args.swift_out}")
    if args.dump_estimates:
        with open(args.dump_estimates, "w") as handle:
            json.dump([estimate(model, p["text"]) for p in corpus], handle)


if __name__ == "__main__":
    main()
