"""The Python mirror of HeuristicTokenEstimator: the same pieces, units and cost model as the Swift
estimator (keep them in step), so estimator_calibrate.py can fit and evaluate it quickly.

A text is cut into units exactly as `HeuristicTokenEstimator+Pass.swift` does (o200k_base's
pre-tokenizer, words split by script), and each unit is priced from the weights of one encoding.
"""

from __future__ import annotations

import math
import unicodedata

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
# prefix: none, a space, another scalar, or glued (no prefix, right after a word or digits: the
# second half of "camelCase", letters of base64 or hex)
PREFIX_NONE, PREFIX_SPACE, PREFIX_OTHER, PREFIX_GLUED = range(4)
SHAPE_LOWER, SHAPE_CAPITAL, SHAPE_UPPER, SHAPE_MIXED = range(4)
APOSTROPHE_SUFFIXES = ("s", "t", "re", "ve", "m", "ll", "d")
# The other scripts with tables of their own, in the order of the Swift weights' rows.
SCRIPTS = (HAN, CASED, KANA, HANGUL, OTHER)
# Margin classes: which kind of text dominates a piece's cost.
MARGIN_CLASSES = ("latin", "han", "cyrillic_greek", "kana", "hangul", "other_script", "symbols_digits")
M_LATIN, M_SYMBOLS = 0, 6
MARGIN_OF_SCRIPT = {HAN: 1, CASED: 2, KANA: 3, HANGUL: 4, OTHER: 5}


def word_units(scalars, classes, start, end, prefix_cp, glued, out):
    """Split the letter run [start, end) into script sub-runs; only the first carries the prefix."""
    if prefix_cp is None:
        prefix = PREFIX_GLUED if glued else PREFIX_NONE
    else:
        prefix = PREFIX_SPACE if prefix_cp == 0x20 else PREFIX_OTHER
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
                segment_scalars = scalars[run_start:i]
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
                non_ascii = sum(1 for c in segment_scalars if c >= 0x80)
                text = "".join(map(chr, segment_scalars))
                if prefix_cp is not None:
                    text = chr(prefix_cp) + text
                out.append(("word", current, prefix, shape, len(segment_scalars), non_ascii, text))
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
    glued = False  # the previous piece was a word or digits
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
            word_units(scalars, classes, word_start, end, scalars[i] if word_start > i else None, glued, out)
            glued = True
            i = end
            continue
        # alternative 3: \p{N}{1,3}
        if c == DIGIT:
            j = i
            while j < n and classes[j] == DIGIT:
                j += 1
            out.append(("digits", j - i, text[i:j]))
            glued = True
            i = j
            continue
        glued = False
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


CONTEXT_PLAIN, CONTEXT_EUROPEAN, CONTEXT_DENSE, CONTEXT_INDENTED, CONTEXT_FOREIGN = range(5)
CONTEXTS = 5


def context(units) -> int:
    """Which table prices a piece's ASCII Latin words: dense (base64, hex, identifiers run together)
    when at least 3 in 10 of its Latin words are glued to the word or digits before them and fewer than
    half of those are capitalized words of 3 letters or more (the second half of camelCase); foreign
    (Latin words inside Chinese, Japanese, Russian... text) when letters of other scripts are at least
    as many as the Latin ones; European
    when at least 4 in 1,000 of their letters are beyond ASCII (German, French, Spanish: English has
    next to none); indented (source code) when its runs of white space that do not end a line are at
    least 3 per newline run; plain otherwise."""
    words = glued = camel = letters = accented = spaces = newlines = others = 0
    for unit in units:
        if unit[0] == "word" and unit[1] != ALPHA:
            others += unit[4]
        elif unit[0] == "space":
            spaces += 1
        elif unit[0] == "newline":
            newlines += 1
        elif unit[0] == "word" and unit[1] == ALPHA:
            words += 1
            glued += unit[2] == PREFIX_GLUED
            camel += unit[2] == PREFIX_GLUED and unit[3] == SHAPE_CAPITAL and unit[4] >= 3
            letters += unit[4]
            accented += unit[5]
    if glued * 10 >= words * DENSE_PER_TEN and glued > 0 and camel * 2 < glued:
        return CONTEXT_DENSE
    if others > 0 and others >= letters:
        return CONTEXT_FOREIGN
    if accented * 1000 >= letters * EUROPEAN_PER_MILLE and accented > 0:
        return CONTEXT_EUROPEAN
    if newlines > 0 and spaces >= newlines * INDENTED_PER_NEWLINE:
        return CONTEXT_INDENTED
    return CONTEXT_PLAIN


DENSE_PER_TEN = 3
INDENTED_PER_NEWLINE = 3
# Bump when segment() changes: estimator_calibrate.py's --cache is keyed by it.
SEGMENTATION_VERSION = "3"  # context() is recomputed after loading
EUROPEAN_PER_MILLE = 4
HAN_COMMON_FIRST, HAN_COMMON_LAST = 0x4E00, 0x9FFF


def common_han_set(encoding) -> frozenset:
    """The ideographs U+4E00...U+9FFF that are one token of the encoding by themselves."""
    common = set()
    for cp in range(HAN_COMMON_FIRST, HAN_COMMON_LAST + 1):
        try:
            encoding.encode_single_token(chr(cp).encode())
        except KeyError:
            continue
        common.add(cp)
    return frozenset(common)


def rare_han(text: str, common) -> int:
    """How many ideographs of a Han run are not one token by themselves (the encoding spends two or
    three byte tokens on each)."""
    return sum(1 for ch in text if ch != " " and letter_script(ord(ch)) == HAN and ord(ch) not in common)
MAX_WORD = 16      # word lengths 1...16 tabulated, longer extrapolated
MAX_PUNCT = 8      # punctuation segment counts 1...8 tabulated, more extrapolated
MAX_NEWLINES = 4   # newline counts 1...4 tabulated, more extrapolated
# Symbols and emoji (tiktoken spot checks: most emoji and arrows/bullets are one o200k token; some
# emoji and each regional indicator two).
SYMBOL_COST = [0.0, 1.0, 1.0, 1.0, 1.5]  # by UTF-8 length 1...4
DIGIT_GROUP = 1.0   # every 1-3 digit group is one token in both encodings
SPACE_RUN = 64      # a run of spaces costs one token per this many scalars (rounded up)


class Model:
    """Every weight of one encoding's cost model."""

    def __init__(self):
        # [context 5][prefix 4][shape 4][len 0...16]
        self.alpha = [[[[1.0] * (MAX_WORD + 1) for _ in range(4)] for _ in range(4)] for _ in range(CONTEXTS)]
        self.alpha_slope = 0.3
        self.accented = [[1.0] * (MAX_WORD + 1) for _ in range(4)]  # [prefix][len]
        self.latin_extra = 0.5
        self.script = [[[1.0] * (MAX_WORD + 1) for _ in range(3)] for _ in SCRIPTS]  # [script][prefix 3][len]
        self.script_slope = [0.7, 0.3, 0.6, 0.5, 0.4]
        self.punct = [[[1.0] * (MAX_PUNCT + 1) for _ in range(2)] for _ in range(2)]  # [ascii/wide][lead][segments]
        self.punct_slope = [0.5, 0.8]
        self.punct_repeat = 0.03
        self.newline = [1.0] * (MAX_NEWLINES + 1)
        self.newline_slope = 0.25
        self.margin = [0.0] * len(MARGIN_CLASSES)
        self.rare_han = 1.0
        self.common_han = frozenset()

    def word_cost(self, unit, context: int) -> float:
        _, script, prefix, shape, length, non_ascii, _ = unit
        over = max(0, length - MAX_WORD)
        if script == ALPHA:
            if non_ascii == 0:
                return self.alpha[context][prefix][shape][min(length, MAX_WORD)] + over * self.alpha_slope
            return self.accented[prefix][min(length, MAX_WORD)] + over * self.alpha_slope + (non_ascii - 1) * self.latin_extra
        row = SCRIPTS.index(script)
        if script == HAN:
            rare = rare_han(unit[6], self.common_han)
            if rare:
                return self.script[0][prefix if prefix < 3 else 0][min(length, MAX_WORD)] + over * self.script_slope[0] + rare * self.rare_han
        return self.script[row][prefix if prefix < 3 else 0][min(length, MAX_WORD)] + over * self.script_slope[row]

    def unit_cost(self, unit, context: int) -> float:
        kind = unit[0]
        if kind == "word":
            return self.word_cost(unit, context)
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

    def measure(self, units, context: int):
        """(the rounded estimate, the margin class) of a segmented piece; sums in the Swift pass's
        order (ASCII words apart, plain then glued), so that both round alike."""
        total = plain = glued = 0.0
        shares = [0.0] * len(MARGIN_CLASSES)
        for unit in units:
            cost = self.unit_cost(unit, context)
            kind = unit[0]
            if kind == "word" and unit[1] == ALPHA and unit[5] == 0:
                if unit[2] == PREFIX_GLUED:
                    glued += cost
                else:
                    plain += cost
                continue
            if kind == "digits":
                for _ in range(math.ceil(unit[1] / 3)):
                    total += DIGIT_GROUP  # one group at a time, as the Swift pass adds them
            else:
                total += cost
            if kind == "word" and unit[2] != PREFIX_GLUED:
                shares[M_LATIN if unit[1] == ALPHA else MARGIN_OF_SCRIPT[unit[1]]] += cost
            elif kind in ("word", "digits", "punct"):
                shares[M_SYMBOLS] += cost
        if not units:
            return 0, M_LATIN
        shares[M_LATIN] += plain
        shares[M_SYMBOLS] += glued
        best = 0
        for k in range(1, len(shares)):
            if shares[k] > shares[best]:
                best = k
        return max(1, int(total + plain + glued + 0.5)), best

    def reserve(self, estimate: int, margin_class: int) -> int:
        return math.ceil(estimate * (1 + self.margin[margin_class]) - 1e-9)


def utf8_length(cp: int) -> int:
    return 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
