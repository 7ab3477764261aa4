"""Text helpers of estimator_corpus.py: plain-text and roff paragraphs, cutting message-sized pieces."""

from __future__ import annotations

import gzip
import math
import random
import re

MIN_CHARS = 200
MAX_CHARS = 4000
SENTENCE_ENDS = ".:;?!)\"。．」）"


def read_gz_or_plain(path: str) -> str:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        return handle.read()


def is_han(ch: str) -> bool:
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def han_ratio(text: str) -> float:
    visible = [c for c in text if not c.isspace()]
    return sum(1 for c in visible if is_han(c)) / max(1, len(visible))


def letter_ratio(text: str) -> float:
    visible = [c for c in text if not c.isspace()]
    return sum(1 for c in visible if c.isalpha()) / max(1, len(visible))


def join_wrapped(lines: list[str]) -> str:
    """Join hard-wrapped lines: no separator between CJK neighbours."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if out and not (is_han(out[-1]) or is_han(line[0]) or ord(out[-1]) >= 0x3000 or ord(line[0]) >= 0x3000):
            out += " "
        out += line
    return out


def reference_paragraphs(path: str, chinese: bool) -> list[str]:
    """Prose paragraphs of the plain-text Debian Reference (tables, shell
    sessions and headings dropped)."""
    text = read_gz_or_plain(path).replace("\u00a0", " ")
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.split("\n")
        if not lines or any(not l.startswith("    ") for l in lines if l.strip()):
            continue
        stripped = [l.strip() for l in lines if l.strip()]
        if any(l[0] in "|+$#" or l.startswith("-") for l in stripped):
            continue
        para = join_wrapped(stripped)
        if chinese:
            if han_ratio(para) < 0.35 or len(para) < 20:
                continue
        else:
            if letter_ratio(para) < 0.75 or len(para) < 60 or para[-1] not in SENTENCE_ENDS:
                continue
        paragraphs.append(para)
    return paragraphs


ROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\s[+-]?\d"), ""),
    (re.compile(r"\\\*(\(..|\[[^\]]*\]|.)"), ""),
    (re.compile(r"\\\((em|\[em\])"), "\u2014"),
    (re.compile(r"\\\(en"), "\u2013"),
    (re.compile(r"\\\(aq"), "'"),
    (re.compile(r"\\\(dq"), '"'),
    (re.compile(r"\\\(lq"), "\u201c"),
    (re.compile(r"\\\(rq"), "\u201d"),
    (re.compile(r"\\\(bu"), "\u2022"),
    (re.compile(r"\\\(co"), "\u00a9"),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),
    (re.compile(r"\\[,/&:|^%)]"), ""),
    (re.compile(r"\\-"), "-"),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\ "), " "),
    (re.compile(r"\\~"), " "),
]


def roff_inline(text: str) -> str:
    for pattern, replacement in ROFF_ESCAPES:
        text = pattern.sub(replacement, text)
    return text


def roff_args(rest: str) -> list[str]:
    return [a[1:-1] if len(a) >= 2 and a[0] == '"' and a[-1] == '"' else a
            for a in re.findall(r'"[^"]*"|\S+', rest)]


def man_paragraphs(path: str, chinese: bool) -> list[str]:
    """Prose paragraphs of a roff manual page (only text paragraphs)."""
    try:
        source = read_gz_or_plain(path)
    except OSError:
        return []
    paragraphs: list[str] = []
    current: list[str] = []
    no_fill = False

    def flush():
        nonlocal current
        if current:
            para = join_wrapped(current)
            para = re.sub(r"[ \t]+", " ", para).strip()
            keep = (han_ratio(para) >= 0.35 and len(para) >= 20) if chinese else \
                (letter_ratio(para) >= 0.75 and len(para) >= 60 and para[-1] in SENTENCE_ENDS)
            if keep:
                paragraphs.append(para)
        current = []

    for raw in source.split("\n"):
        if raw.startswith(('.\\"', "'\\\"", '.\\\\"')) or raw.strip() in (".", "'"):
            continue
        if raw.startswith((".", "'")):
            macro, _, rest = raw[1:].partition(" ")
            macro = macro.strip()
            if macro in ("B", "I", "SM", "SB"):
                current.append(roff_inline(" ".join(roff_args(rest))))
            elif macro in ("BR", "BI", "IR", "IB", "RB", "RI"):
                current.append(roff_inline("".join(roff_args(rest))))
            elif macro == "nf" or macro == "EX":
                flush()
                no_fill = True
            elif macro == "fi" or macro == "EE":
                flush()
                no_fill = False
            else:
                flush()  # .PP .TP .IP .SH .SS .RS .RE .br .sp ... break paragraphs
            continue
        if no_fill:
            continue
        current.append(roff_inline(raw))
    flush()
    return paragraphs


def target_length(rng: random.Random) -> int:
    """Log-uniform between MIN_CHARS and MAX_CHARS (median ~900)."""
    return int(math.exp(rng.uniform(math.log(MIN_CHARS + 20), math.log(MAX_CHARS - 100))))


def cut_long(text: str, limit: int, chinese: bool) -> str:
    """Cut text to at most limit characters at a sentence end if possible."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = "。！？；\n" if chinese else ".!?\n"
    best = max(head.rfind(e) for e in ends)
    return head[: best + 1] if best >= MIN_CHARS else head


def prose_pieces(pool: list[str], rng: random.Random, chinese: bool) -> list[str]:
    pieces = []
    i = 0
    while i < len(pool):
        target = target_length(rng)
        parts = []
        size = 0
        while i < len(pool) and size < target:
            parts.append(pool[i])
            size += len(pool[i]) + 2
            i += 1
        piece = cut_long("\n\n".join(parts), MAX_CHARS, chinese)
        if len(piece) >= MIN_CHARS:
            pieces.append(piece)
    return pieces


def code_pieces(path: str, rng: random.Random) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().split("\n")
    except (OSError, UnicodeDecodeError):
        return []
    pieces = []
    i = 0
    while i < len(lines):
        target = target_length(rng)
        chunk = []
        size = 0
        while i < len(lines) and size < target:
            line = lines[i]
            if size + len(line) + 1 > MAX_CHARS:
                break
            chunk.append(line)
            size += len(line) + 1
            i += 1
        if not chunk:  # a single line longer than the maximum
            i += 1
            continue
        piece = "\n".join(chunk).strip("\n")
        if MIN_CHARS <= len(piece) <= MAX_CHARS and sum(1 for c in piece if not c.isspace()) > len(piece) * 0.4:
            pieces.append(piece)
    return pieces


