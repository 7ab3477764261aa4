#!/usr/bin/env python3
"""Build the token-estimator accuracy corpus (deterministic).

Cuts message-sized pieces (200-4,000 characters) of four categories out of
text that a fresh machine can reproduce with ordinary package installs, and
labels each piece with its exact ``o200k_base`` token count from tiktoken:

  category   sources
  ---------  ---------------------------------------------------------------
  zh_prose   Debian Reference, Simplified Chinese (apt: debian-reference-zh-cn)
             Chinese manual pages (apt: manpages-zh)
  en_prose   Debian Reference, English (apt: debian-reference-en)
             Linux man-pages sections 5 and 7 (apt: manpages)
  code       Python standard library (*.py of the running interpreter),
             Swift toolchain module interfaces (*.swiftinterface),
             C headers (/usr/include/*.h, apt: libc6-dev)
  json       ISO code tables (apt: iso-codes) re-serialised pretty, compact
             and minified; synthetic API-style records from a seeded RNG

Reference counts need pip packages ``tiktoken`` and ``bpe-openai``: tiktoken
cannot download ``o200k_base`` here, so the encoding is assembled from the
``o200k_base.tiktoken.gz`` that bpe-openai ships (hash-checked against
tiktoken's expected hash) plus tiktoken's own pattern and special tokens.

Every piece carries ``split``: pieces alternate between "calibration" and
"holdout" (per category, in corpus order, so halves never share text).
Constants in the estimator are fitted on the calibration half only; the
accuracy figures are reported on the holdout half.

Output: a JSON array of {"category", "split", "source", "text", "reference"}.

Usage: estimator_corpus.py --out corpus.json [--per-category 300] [--seed 7]
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import sysconfig

MIN_CHARS = 200
MAX_CHARS = 4000
CATEGORIES = ("zh_prose", "en_prose", "code", "json")

APT_PACKAGES = ["debian-reference-zh-cn", "debian-reference-en", "manpages-zh", "manpages", "iso-codes", "libc6-dev"]
PIP_PACKAGES = ["tiktoken", "bpe-openai"]

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


# --------------------------------------------------------------------------
# Reference tokenizer
# --------------------------------------------------------------------------

def o200k_encoding():
    """Build tiktoken's o200k_base without network access."""
    import base64
    import importlib.util

    import tiktoken
    from tiktoken_ext import openai_public

    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("estimator_corpus: pip package bpe-openai is missing")
    gz_path = None
    for root in spec.submodule_search_locations:
        candidates = glob.glob(os.path.join(root, "**", "o200k_base.tiktoken.gz"), recursive=True)
        if candidates:
            gz_path = candidates[0]
            break
    if gz_path is None:
        sys.exit("estimator_corpus: o200k_base.tiktoken.gz not found in bpe-openai")
    with gzip.open(gz_path, "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != O200K_SHA256:
        sys.exit("estimator_corpus: o200k_base.tiktoken hash mismatch")
    ranks = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)

    # Pattern and special tokens come from tiktoken itself; only the
    # download inside openai_public.o200k_base() is replaced.
    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = lambda *args, **kwargs: ranks
    try:
        params = openai_public.o200k_base()
    finally:
        openai_public.load_tiktoken_bpe = original
    return tiktoken.Encoding(
        name=params["name"],
        pat_str=params["pat_str"],
        mergeable_ranks=params["mergeable_ranks"],
        special_tokens=params["special_tokens"],
    )


# --------------------------------------------------------------------------
# Source text
# --------------------------------------------------------------------------

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
            if letter_ratio(para) < 0.75 or len(para) < 60 or para[-1] not in ".:;?!)\"":
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
                (letter_ratio(para) >= 0.75 and len(para) >= 60 and para[-1] in ".:;?!)\"")
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


def package_files(package: str, pattern: str) -> list[str]:
    try:
        listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    rx = re.compile(pattern)
    return sorted(p for p in listing.split("\n") if rx.search(p) and os.path.isfile(p))


def require(paths: list[str], what: str) -> list[str]:
    if not paths:
        sys.exit(f"estimator_corpus: no source files for {what}; install: apt-get install {' '.join(APT_PACKAGES)}")
    return paths


def prose_pools(chinese: bool) -> list[tuple[str, list[str]]]:
    if chinese:
        ref = require(glob.glob("/usr/share/debian-reference/debian-reference.zh-cn.txt.gz"), "debian-reference-zh-cn")
        mans = require(package_files("manpages-zh", r"/usr/share/man/zh_CN/man\d/.*\.gz$"), "manpages-zh")
        man_para = [p for m in mans for p in man_paragraphs(m, True)]
        return [("debian-reference-zh-cn", reference_paragraphs(ref[0], True)), ("manpages-zh", man_para)]
    ref = require(glob.glob("/usr/share/debian-reference/debian-reference.en.txt.gz"), "debian-reference-en")
    mans = require(package_files("manpages", r"/usr/share/man/man[57]/.*\.gz$"), "manpages")
    man_para = [p for m in mans for p in man_paragraphs(m, False)]
    return [("debian-reference-en", reference_paragraphs(ref[0], False)), ("manpages", man_para)]


def code_files() -> list[tuple[str, list[str]]]:
    stdlib = sysconfig.get_paths()["stdlib"]
    python = sorted(glob.glob(os.path.join(stdlib, "*.py")) + glob.glob(os.path.join(stdlib, "*", "*.py")))
    python = [p for p in python if "/test" not in p and "site-packages" not in p and "idlelib" not in p]
    swift_bin = shutil.which("swift")
    swift = []
    if swift_bin:
        toolchain = os.path.dirname(os.path.dirname(os.path.realpath(swift_bin)))
        swift = sorted(p for p in glob.glob(os.path.join(toolchain, "lib", "swift", "linux", "*.swiftmodule", "*.swiftinterface"))
                       if not p.endswith(".private.swiftinterface"))
    c_headers = sorted(glob.glob("/usr/include/*.h"))
    return [("python-stdlib", require(python, "python stdlib")),
            ("swiftinterface", require(swift, "swift toolchain")),
            ("c-headers", require(c_headers, "libc6-dev"))]


# --------------------------------------------------------------------------
# Cutting pieces
# --------------------------------------------------------------------------

def target_length(rng: random.Random) -> int:
    """Log-uniform between MIN_CHARS and MAX_CHARS (median ~900)."""
    import math
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


def evenly(items: list, count: int) -> list:
    """Deterministically pick count items spread over the list."""
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(k * step)] for k in range(count)]


def allocate(groups: list[tuple[str, list[str]]], total: int) -> list[tuple[str, str]]:
    """Take about total/len(groups) pieces from each source, spreading any
    shortfall of a small source over the others; pieces spread evenly."""
    out = []
    remaining = total
    ordered = sorted(groups, key=lambda g: len(g[1]))
    for index, (source, pieces) in enumerate(ordered):
        want = remaining // (len(ordered) - index)
        chosen = evenly(pieces, want)
        remaining -= len(chosen)
        out.append((source, chosen))
    order = {source: n for n, (source, _) in enumerate(groups)}
    return [(source, p) for source, chosen in sorted(out, key=lambda g: order[g[0]]) for p in chosen]


def synthetic_records(rng: random.Random, words: list[str], count: int) -> list[dict]:
    statuses = ["active", "pending", "failed", "archived", "queued"]
    records = []
    for n in range(count):
        record = {
            "id": "%08x-%04x-%04x-%04x-%012x" % tuple(rng.getrandbits(b) for b in (32, 16, 16, 16, 48)),
            "index": n,
            "created_at": "2024-%02d-%02dT%02d:%02d:%02dZ" % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)),
            "status": rng.choice(statuses),
            "title": " ".join(rng.choice(words) for _ in range(rng.randint(2, 7))),
            "score": round(rng.uniform(0, 100), rng.randint(1, 4)),
            "count": rng.randint(0, 100000),
            "enabled": rng.random() < 0.5,
            "tags": [rng.choice(words).lower() for _ in range(rng.randint(0, 4))],
        }
        if rng.random() < 0.4:
            record["owner"] = {"name": rng.choice(words).capitalize(), "email": f"{rng.choice(words).lower()}@example.com", "quota_bytes": rng.randint(10**6, 10**10)}
        if rng.random() < 0.3:
            record["parent_id"] = None
        if rng.random() < 0.3:
            record["usage"] = {"prompt_tokens": rng.randint(1, 5000), "completion_tokens": rng.randint(1, 2000), "cost_usd": round(rng.uniform(0, 3), 6)}
        records.append(record)
    return records


def serialize(value, style: int) -> str:
    if style == 0:
        return json.dumps(value, ensure_ascii=False, indent=2)
    if style == 1:
        return json.dumps(value, ensure_ascii=False)
    if style == 2:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False, indent=4)


def json_pieces(name: str, key: str, entries: list, rng: random.Random) -> list[str]:
    pieces = []
    i = 0
    while i < len(entries):
        target = target_length(rng)
        style = rng.randrange(4)
        wrap = rng.random() < 0.5
        chunk = []
        text = ""
        while i < len(entries):
            candidate = serialize({key: chunk + [entries[i]]} if wrap else chunk + [entries[i]], style)
            if len(candidate) > MAX_CHARS:
                if not chunk:
                    i += 1
                break
            chunk.append(entries[i])
            text = candidate
            i += 1
            if len(text) >= target:
                break
        if len(text) >= MIN_CHARS:
            pieces.append(text)
    return pieces


def build(per_category: int, seed: int) -> list[dict]:
    rng_for = lambda name: random.Random(f"{seed}:{name}")
    corpus: dict[str, list[tuple[str, str]]] = {c: [] for c in CATEGORIES}

    for category, chinese in (("zh_prose", True), ("en_prose", False)):
        groups = [(source, prose_pieces(pool, rng_for(source), chinese)) for source, pool in prose_pools(chinese)]
        corpus[category] += allocate(groups, per_category)

    groups = code_files()
    code_groups = []
    for source, files in groups:
        rng = rng_for(source)
        code_groups.append((source, [p for path in files for p in code_pieces(path, rng)]))
    corpus["code"] += allocate(code_groups, per_category)

    iso_dir = "/usr/share/iso-codes/json"
    tables = []
    for name in ("iso_3166-1", "iso_3166-2", "iso_639-3", "iso_4217", "iso_15924", "iso_639-5"):
        path = os.path.join(iso_dir, name + ".json")
        if not os.path.isfile(path):
            sys.exit(f"estimator_corpus: {path} missing; install: apt-get install iso-codes")
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        key = next(iter(data))
        tables.append((name, key, data[key]))
    english_words = sorted({w for _, p in corpus["en_prose"] for w in re.findall(r"[A-Za-z]{3,12}", p)})
    synthetic = synthetic_records(rng_for("synthetic"), english_words, 3000)
    json_all = []
    for name, key, entries in tables:
        json_all.append((name, json_pieces(name, key, entries, rng_for(name))))
    json_all.append(("synthetic", json_pieces("synthetic", "data", synthetic, rng_for("synthetic-cut"))))
    iso_pieces = [p for _, pieces in json_all[:-1] for p in pieces]
    corpus["json"] += allocate([("iso-codes", iso_pieces), ("synthetic", json_all[-1][1])], per_category)

    encoding = o200k_encoding()
    out = []
    for category in CATEGORIES:
        for n, (source, text) in enumerate(corpus[category]):
            out.append({
                "category": category,
                "split": "calibration" if n % 2 == 0 else "holdout",
                "source": source,
                "text": text,
                "reference": len(encoding.encode_ordinary(text)),
            })
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="where to write the corpus JSON")
    parser.add_argument("--per-category", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    pieces = build(args.per_category, args.seed)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(pieces, handle, ensure_ascii=False, indent=0)
        handle.write("\n")
    for category in CATEGORIES:
        rows = [p for p in pieces if p["category"] == category]
        chars = sum(len(p["text"]) for p in rows)
        tokens = sum(p["reference"] for p in rows)
        print(f"estimator_corpus: {category:9s} {len(rows):4d} pieces, {chars:8d} chars, {tokens:7d} o200k tokens, {chars / max(1, tokens):.2f} chars/token")


if __name__ == "__main__":
    main()
