#!/usr/bin/env python3
"""Build the token-estimator accuracy corpus (deterministic for a given set of installed packages).

Cuts message-sized pieces (200-4,000 characters) out of many *sources* per category, each source a
Debian or PyPI package's text (named by package and path) or a seeded generator, and labels every
piece with its exact token count in tiktoken's ``o200k_base`` and ``cl100k_base``. A source is kept
whole: the leave-one-source-out evaluation of estimator_calibrate.py fits on every other source and
measures on it, so the figures say how the estimator does on text it was not fitted to.

  category  sources (one line each in the output's "source")
  --------  ---------------------------------------------------------------------------------------
  english   Debian Reference (debian-reference-en), man pages by section (manpages, manpages-dev,
            man-db and the packages' own), licences (/usr/share/common-licenses, base-files),
            Debian changelogs (short, chat-like notes), PyPI packages' README markdown (METADATA),
            UI messages (the untranslated msgids of the gettext catalogs)
  json      ISO tables (iso-codes, each table a source, pretty/compact/minified), ISO names with
            their translations (non-ASCII strings), Python ASTs of stdlib modules (deeply nested),
            dpkg's package records (configs), seeded API responses and numeric series
  code      Python (stdlib, and each PyPI package), Swift (toolchain .swiftinterface), C headers
            (libc6-dev), Perl (perl-base, debconf, dpkg), shell (bash-completion), Lua and Swift of
            this repository
  chinese   Debian Reference zh-cn (prose, and whole with its command lines: mixed with code),
            manpages-zh (zh_CN, zh_TW), gettext catalogs zh_CN and zh_TW (one source per package)
  german, french, spanish, russian, japanese, korean, arabic
            gettext catalogs of the language (one source per package), translated man pages
  machine   seeded base64 (plain and MIME-wrapped), hex dumps, UUIDs, long numbers, and dpkg's
            md5sums lists

Reference counts need pip packages ``tiktoken`` and ``bpe-openai`` (tiktoken cannot download its
rank files here, so scripts/bpe_reference.py builds each encoding from bpe-openai's rank file).

Output: a JSON array of {"category", "source", "text", "reference": {"o200k_base", "cl100k_base"}}.

Usage: estimator_corpus.py --out corpus.json [--per-source 10] [--seed 7]
"""

from __future__ import annotations

import argparse
import ast
import base64
import gettext
import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
import sysconfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_reference  # noqa: E402
from estimator_text import (  # noqa: E402
    MAX_CHARS, MIN_CHARS, code_pieces, man_paragraphs, prose_pieces, read_gz_or_plain, reference_paragraphs,
    target_length)

CATEGORIES = ("english", "json", "code", "chinese", "german", "french", "spanish", "russian", "japanese",
              "korean", "arabic", "machine")
ENCODINGS = ("o200k_base", "cl100k_base")
LOCALES = {"chinese": ["zh_CN", "zh_TW"], "german": ["de"], "french": ["fr"], "spanish": ["es"], "russian": ["ru"],
           "japanese": ["ja"], "korean": ["ko"], "arabic": ["ar"]}
# gettext domain -> the Debian package that ships its catalogs (scripts/estimator-accuracy installs them).
CATALOGS = {
    "apt": "apt", "dpkg": "dpkg", "coreutils": "coreutils", "glib20": "libglib2.0-data", "gtk30": "libgtk-3-common",
    "gtk30-properties": "libgtk-3-common", "libc": "libc-l10n", "bash": "bash", "tar": "tar", "wget": "wget",
    "gettext-tools": "gettext", "git": "git", "gnupg2": "gnupg-l10n", "grep": "grep", "sed": "sed",
    "findutils": "findutils", "make": "make", "xkeyboard-config": "xkb-data", "shared-mime-info": "shared-mime-info",
    "shadow": "login", "procps-ng": "procps", "diffutils": "diffutils", "man-db": "man-db",
    "gdk-pixbuf": "libgdk-pixbuf2.0-common",
}
APT_PACKAGES = sorted({"debian-reference-zh-cn", "debian-reference-en", "manpages-zh", "manpages", "manpages-dev",
                       "iso-codes", "libc6-dev", "bash-completion", "debconf", "base-files"} | set(CATALOGS.values()))
PIP_PACKAGES = ["tiktoken", "bpe-openai"]
# PyPI packages whose code and README are sources (all installed by scripts/bootstrap).
PYPI_CODE = ["redis", "yaml", "langchain_core", "hypothesis", "pytest", "_pytest", "tiktoken", "httpx"]
PYPI_README = ["redis", "langchain-core", "hypothesis", "pytest", "httpx", "schemathesis", "tiktoken", "PyYAML",
               "pydantic", "requests", "urllib3", "jsonschema"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(message: str):
    sys.exit(f"estimator_corpus: {message}")


# --------------------------------------------------------------------------
# Source text
# --------------------------------------------------------------------------

def package_files(package: str, pattern: str) -> list[str]:
    try:
        listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    rx = re.compile(pattern)
    return sorted(p for p in listing.split("\n") if rx.search(p) and os.path.isfile(p))


def catalog(path: str) -> list[tuple[str, str]]:
    """(msgid, translation) pairs of a gettext catalog, plural forms as separate strings."""
    try:
        with open(path, "rb") as handle:
            entries = gettext.GNUTranslations(handle)._catalog
    except Exception:  # noqa: BLE001 - a catalog that does not parse is no source
        return []
    pairs = []
    for key, value in sorted(entries.items(), key=lambda item: str(item[0])):
        msgid = key[0] if isinstance(key, tuple) else key
        if isinstance(value, str) and msgid and value and value != msgid:
            pairs.append((msgid, value.strip()))
    return pairs


def message_pieces(messages: list[str], rng: random.Random) -> list[str]:
    """Messages joined by blank lines into pieces of a target length."""
    pieces, i = [], 0
    messages = [m for m in messages if len(m) >= 8]
    while i < len(messages):
        target, parts, size = target_length(rng), [], 0
        while i < len(messages) and size < target:
            if size + len(messages[i]) + 2 > MAX_CHARS:
                i += 1 if not parts else 0
                break
            parts.append(messages[i])
            size += len(messages[i]) + 2
            i += 1
        piece = "\n\n".join(parts)
        if len(piece) >= MIN_CHARS:
            pieces.append(piece)
    return pieces


def file_pieces(paths: list[str], rng: random.Random) -> list[str]:
    return [p for path in paths for p in code_pieces(path, rng)]


def evenly(items: list, count: int) -> list:
    """Deterministically pick count items spread over the list."""
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(k * step)] for k in range(count)]


def english_sources(rng_for) -> list[tuple[str, list[str]]]:
    out = []
    reference = "/usr/share/debian-reference/debian-reference.en.txt.gz"
    if os.path.isfile(reference):
        out.append(("debian-reference-en: " + reference,
                    prose_pieces(reference_paragraphs(reference, False), rng_for("ref-en"), False)))
    for package, section in (("manpages", "5"), ("manpages", "7"), ("manpages-dev", "2"), ("manpages-dev", "3")):
        paths = package_files(package, rf"/usr/share/man/man{section}/.*\.gz$")
        paragraphs = [p for path in paths for p in man_paragraphs(path, False)]
        out.append((f"{package}: /usr/share/man/man{section}", prose_pieces(paragraphs, rng_for(package + section), False)))
    for package in ("coreutils", "dpkg", "apt", "git"):
        paths = package_files(package, r"/usr/share/man/man[1-8]/.*\.gz$")
        paragraphs = [p for path in paths for p in man_paragraphs(path, False)]
        out.append((f"{package}: /usr/share/man/man[1-8]", prose_pieces(paragraphs, rng_for("man-" + package), False)))
    licences = [p for p in sorted(glob.glob("/usr/share/common-licenses/*")) if os.path.isfile(p)]
    out.append(("base-files: /usr/share/common-licenses", file_pieces(licences, rng_for("licences"))))
    changelogs = [f"/usr/share/doc/{p}/changelog.Debian.gz" for p in ("dpkg", "apt", "bash", "coreutils", "git", "tar")]
    notes = []
    for path in changelogs:
        if os.path.isfile(path):
            notes += [m.strip() for m in re.split(r"\n(?=\S)", read_gz_or_plain(path)) if m.strip()][:400]
    out.append(("debian changelogs: /usr/share/doc/{dpkg,apt,bash,coreutils,git,tar}/changelog.Debian.gz",
                message_pieces(notes, rng_for("changelogs"))))
    from importlib import metadata
    for name in PYPI_README:
        try:
            description = metadata.metadata(name).get_payload() or ""
        except metadata.PackageNotFoundError:
            continue
        if len(description) > 1500:
            out.append((f"pypi {name}: METADATA description (markdown/rst)",
                        message_pieces(description.split("\n\n"), rng_for("readme-" + name))))
    msgids = []
    for domain in sorted(CATALOGS):
        path = f"/usr/share/locale/de/LC_MESSAGES/{domain}.mo"
        msgids += [m for m, _ in catalog(path)]
    half = len(msgids) // 2
    out.append(("gettext msgids (English UI messages) of " + ", ".join(sorted(CATALOGS)[:12]),
                message_pieces(msgids[:half], rng_for("msgid-a"))))
    out.append(("gettext msgids (English UI messages) of " + ", ".join(sorted(CATALOGS)[12:]),
                message_pieces(msgids[half:], rng_for("msgid-b"))))
    return out


def locale_sources(category: str, rng_for) -> list[tuple[str, list[str]]]:
    out = []
    chinese = category == "chinese"
    for locale in LOCALES[category]:
        for domain, package in sorted(CATALOGS.items()):
            path = f"/usr/share/locale/{locale}/LC_MESSAGES/{domain}.mo"
            if os.path.isfile(path):
                out.append((f"{package}: {path}", message_pieces([t for _, t in catalog(path)], rng_for(path))))
        mans = sorted(glob.glob(f"/usr/share/man/{locale}/man*/*"))
        paragraphs = [p for path in mans for p in man_paragraphs(path, chinese)]
        out.append((f"translated man pages: /usr/share/man/{locale} (manpages-zh, dpkg, apt, man-db, ...)",
                    prose_pieces(paragraphs, rng_for("man-" + locale), chinese)))
    if chinese:
        reference = "/usr/share/debian-reference/debian-reference.zh-cn.txt.gz"
        if os.path.isfile(reference):
            out.append(("debian-reference-zh-cn: prose of " + reference,
                        prose_pieces(reference_paragraphs(reference, True), rng_for("ref-zh"), True)))
            whole = [b.strip("\n") for b in re.split(r"\n\s*\n", read_gz_or_plain(reference)) if b.strip()]
            out.append(("debian-reference-zh-cn: whole text with command lines (mixed with code) of " + reference,
                        message_pieces(whole[len(whole) // 3:], rng_for("ref-zh-mixed"))))
    return out


def code_sources(rng_for) -> list[tuple[str, list[str]]]:
    out = []
    stdlib = sysconfig.get_paths()["stdlib"]
    top = sorted(glob.glob(os.path.join(stdlib, "*.py")))
    packages = sorted(p for p in glob.glob(os.path.join(stdlib, "*", "*.py"))
                      if "/test" not in p and "site-packages" not in p and "idlelib" not in p)
    out.append((f"python stdlib: {stdlib}/*.py", file_pieces(top, rng_for("py-top"))))
    out.append((f"python stdlib: {stdlib}/*/*.py", file_pieces(packages, rng_for("py-packages"))))
    site = sysconfig.get_paths()["purelib"]
    for name in PYPI_CODE:
        paths = sorted(glob.glob(os.path.join(site, name, "**", "*.py"), recursive=True))
        if paths:
            out.append((f"pypi {name}: {site}/{name}/**/*.py", file_pieces(paths, rng_for("pypi-" + name))))
    swift_bin = shutil.which("swift")
    if swift_bin:
        toolchain = os.path.dirname(os.path.dirname(os.path.realpath(swift_bin)))
        paths = sorted(p for p in glob.glob(os.path.join(toolchain, "lib", "swift", "linux", "*.swiftmodule", "*.swiftinterface"))
                       if not p.endswith(".private.swiftinterface"))
        out.append(("swift toolchain: lib/swift/linux/*.swiftinterface", file_pieces(paths, rng_for("swift"))))
    out.append(("libc6-dev: /usr/include/*.h", file_pieces(sorted(glob.glob("/usr/include/*.h")), rng_for("c"))))
    out.append(("libc6-dev: /usr/include/*/*.h", file_pieces(sorted(glob.glob("/usr/include/*/*.h")), rng_for("c2"))))
    for package in ("perl-base", "debconf", "libdpkg-perl"):
        paths = package_files(package, r"\.pm$")
        out.append((f"{package}: *.pm (Perl)", file_pieces(paths, rng_for(package))))
    paths = sorted(glob.glob("/usr/share/bash-completion/completions/*"))
    out.append(("bash-completion: /usr/share/bash-completion/completions (shell)", file_pieces(paths, rng_for("sh"))))
    lua = sorted(glob.glob(os.path.join(REPO, "Sources", "TokenLedger", "Scripts", "*.lua")))
    out.append(("this repository: Sources/TokenLedger/Scripts/*.lua", file_pieces(lua, rng_for("lua"))))
    swift = sorted(glob.glob(os.path.join(REPO, "Sources", "RedisClient", "**", "*.swift"), recursive=True))
    out.append(("this repository: Sources/RedisClient/**/*.swift", file_pieces(swift, rng_for("repo-swift"))))
    return out


def serialize(value, style: int) -> str:
    if style == 0:
        return json.dumps(value, ensure_ascii=False, indent=2)
    if style == 1:
        return json.dumps(value, ensure_ascii=False)
    if style == 2:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False, indent=4)


def json_pieces(key: str, entries: list, rng: random.Random) -> list[str]:
    pieces, i = [], 0
    while i < len(entries):
        target, style, wrap = target_length(rng), rng.randrange(4), rng.random() < 0.5
        chunk, text = [], ""
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


def ast_json(node, depth=0):
    if isinstance(node, ast.AST):
        out = {"_type": type(node).__name__}
        for field, value in ast.iter_fields(node):
            if value is None or value == []:
                continue
            out[field] = ast_json(value, depth + 1)
        return out
    if isinstance(node, list):
        return [ast_json(item, depth + 1) for item in node]
    if isinstance(node, (str, int, float, bool)):
        return node
    return repr(node)


def api_responses(rng: random.Random, words: list[str], count: int) -> list[dict]:
    statuses = ["active", "pending", "failed", "archived", "queued"]
    records = []
    for n in range(count):
        if n % 2:
            records.append({
                "id": "chatcmpl-" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(24)),
                "object": "chat.completion", "created": 1700000000 + rng.randrange(10**7),
                "model": rng.choice(["gpt-4o-2024-08-06", "gpt-4.1-mini", "gpt-3.5-turbo-0125"]),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(rng.choice(words) for _ in range(rng.randint(5, 40)))},
                             "finish_reason": rng.choice(["stop", "length"])}],
                "usage": {"prompt_tokens": rng.randint(1, 5000), "completion_tokens": rng.randint(1, 2000), "total_tokens": rng.randint(1, 7000)},
            })
            continue
        records.append({
            "id": "%08x-%04x-%04x-%04x-%012x" % tuple(rng.getrandbits(b) for b in (32, 16, 16, 16, 48)),
            "index": n,
            "created_at": "2024-%02d-%02dT%02d:%02d:%02dZ" % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)),
            "status": rng.choice(statuses),
            "title": " ".join(rng.choice(words) for _ in range(rng.randint(2, 7))),
            "score": round(rng.uniform(0, 100), rng.randint(1, 4)),
            "enabled": rng.random() < 0.5,
            "tags": [rng.choice(words).lower() for _ in range(rng.randint(0, 4))],
            "owner": {"name": rng.choice(words).capitalize(), "email": f"{rng.choice(words).lower()}@example.com"},
        })
    return records


def numeric_series(rng: random.Random, count: int) -> list[dict]:
    out = []
    for n in range(count):
        base = rng.uniform(-1000, 100000)
        out.append({"t": 1700000000 + 60 * n, "value": round(base, rng.randint(0, 6)),
                    "min": round(base - rng.uniform(0, 50), 3), "max": round(base + rng.uniform(0, 50), 3),
                    "samples": [rng.randint(0, 10**rng.randint(1, 9)) for _ in range(rng.randint(1, 8))],
                    "ratio": rng.random()})
    return out


def dpkg_records() -> list[dict]:
    records, current = [], {}
    try:
        text = open("/var/lib/dpkg/status", encoding="utf-8", errors="replace").read()
    except OSError:
        return []
    for block in text.split("\n\n"):
        current = {}
        for line in block.split("\n"):
            if ":" in line and not line.startswith(" "):
                field, _, value = line.partition(":")
                current[field.strip().lower().replace("-", "_")] = value.strip()
        if current.get("package"):
            current.pop("description", None)
            records.append(current)
    return sorted(records, key=lambda r: r["package"])


def json_sources(rng_for) -> list[tuple[str, list[str]]]:
    out = []
    iso_dir = "/usr/share/iso-codes/json"
    for name in ("iso_3166-1", "iso_3166-2", "iso_639-3", "iso_4217", "iso_15924", "iso_639-5"):
        path = os.path.join(iso_dir, name + ".json")
        if not os.path.isfile(path):
            fail(f"{path} missing; install: apt-get install iso-codes")
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        key = next(iter(data))
        out.append((f"iso-codes: {path}", json_pieces(key, data[key], rng_for(name))))
    countries = json.load(open(os.path.join(iso_dir, "iso_3166-1.json"), encoding="utf-8"))["3166-1"]
    translations = {}
    for locale in ("de", "fr", "ru", "ja", "zh_CN", "ar", "ko", "es"):
        path = f"/usr/share/locale/{locale}/LC_MESSAGES/iso_3166-1.mo"
        translations[locale] = dict(catalog(path)) if os.path.isfile(path) else {}
    named = [dict(entry, names={loc: t.get(entry["name"], "") for loc, t in translations.items()}) for entry in countries]
    out.append(("iso-codes: iso_3166-1.json with its iso_3166-1.mo translations (non-ASCII strings)",
                json_pieces("countries", named, rng_for("iso-names"))))
    stdlib = sysconfig.get_paths()["stdlib"]
    trees = []
    for module in ("json/decoder.py", "textwrap.py", "shlex.py", "bisect.py", "colorsys.py", "fnmatch.py"):
        with open(os.path.join(stdlib, module), encoding="utf-8") as handle:
            trees += ast_json(ast.parse(handle.read()))["body"]
    out.append(("python stdlib ASTs as JSON (deeply nested): json/decoder, textwrap, shlex, bisect, colorsys, fnmatch",
                json_pieces("body", trees, rng_for("ast"))))
    out.append(("dpkg: /var/lib/dpkg/status as records (configs)", json_pieces("packages", dpkg_records(), rng_for("dpkg"))))
    words = sorted({w for w in re.findall(r"[A-Za-z]{3,12}", open(os.path.join(stdlib, "this.py")).read() + " ".join(CATALOGS))})
    words = sorted(set(words) | {w for w in re.findall(r"[A-Za-z]{3,12}", read_gz_or_plain("/usr/share/common-licenses/GPL-3"))})
    out.append(("seeded API responses (chat completions, records)", json_pieces("data", api_responses(rng_for("api"), words, 1500), rng_for("api-cut"))))
    out.append(("seeded numeric series", json_pieces("series", numeric_series(rng_for("num"), 1500), rng_for("num-cut"))))
    return out


def machine_sources(rng_for) -> list[tuple[str, list[str]]]:
    def pieces(make, seed):
        rng = rng_for(seed)
        return [make(rng, target_length(rng)) for _ in range(30)]

    def b64(rng, n):
        return base64.b64encode(rng.randbytes(n * 3 // 4)).decode()[:n]

    def mime(rng, n):
        text = base64.b64encode(rng.randbytes(n * 3 // 4)).decode()[:n]
        return "\n".join(text[i:i + 76] for i in range(0, len(text), 76))

    def hexdump(rng, n):
        lines, offset = [], 0
        while sum(len(l) + 1 for l in lines) < n:
            row = rng.randbytes(16)
            lines.append(f"{offset:08x}  " + " ".join(f"{b:02x}" for b in row))
            offset += 16
        return "\n".join(lines)

    def hexstrings(rng, n):
        return " ".join(rng.randbytes(rng.choice((16, 20, 32))).hex() for _ in range(max(1, n // 50)))

    def uuids(rng, n):
        return "\n".join("%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                                         0x8000 | rng.getrandbits(14), rng.getrandbits(48))
                         for _ in range(max(1, n // 37)))

    def numbers(rng, n):
        return ", ".join(str(rng.randrange(10 ** rng.randint(6, 30))) for _ in range(max(1, n // 16)))

    out = [("seeded base64 (one line)", pieces(b64, "b64")), ("seeded base64 (MIME, 76 a line)", pieces(mime, "mime")),
           ("seeded hex dumps", pieces(hexdump, "hexdump")), ("seeded hex digests", pieces(hexstrings, "hex")),
           ("seeded UUIDs", pieces(uuids, "uuid")), ("seeded long numbers", pieces(numbers, "numbers"))]
    sums = sorted(glob.glob("/var/lib/dpkg/info/*.md5sums"))
    lines = [l for path in sums for l in open(path, encoding="utf-8", errors="replace").read().split("\n") if l]
    out.append(("dpkg: /var/lib/dpkg/info/*.md5sums", message_pieces(["\n".join(lines[i:i + 6]) for i in range(0, len(lines), 6)],
                                                                    rng_for("md5"))))
    return out


# --------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------

def build(per_source: int, seed: int) -> list[dict]:
    rng_for = lambda name: random.Random(f"{seed}:{name}")
    by_category = {
        "english": english_sources(rng_for), "json": json_sources(rng_for), "code": code_sources(rng_for),
        "machine": machine_sources(rng_for),
    }
    for category in LOCALES:
        by_category[category] = locale_sources(category, rng_for)
    encodings = {name: bpe_reference.load_encoding(ranks_directory(), name) for name in ENCODINGS}
    out = []
    for category in CATEGORIES:
        sources = [(name, evenly(pieces, per_source)) for name, pieces in by_category[category] if len(pieces) >= 3]
        if len(sources) < 3:
            fail(f"{category} has {len(sources)} sources of 3 pieces or more; install: apt-get install {' '.join(APT_PACKAGES)}")
        for name, pieces in sources:
            for text in pieces:
                out.append({"category": category, "source": name, "text": text,
                            "reference": {enc: len(encodings[enc].encode_ordinary(text)) for enc in ENCODINGS}})
    return out


def ranks_directory() -> str:
    import bpe_openai
    root = os.path.dirname(bpe_openai.__file__)
    for directory, _dirs, files in os.walk(root):
        if "o200k_base.tiktoken.gz" in files and "cl100k_base.tiktoken.gz" in files:
            return directory
    fail(f"no o200k_base.tiktoken.gz and cl100k_base.tiktoken.gz under {root}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="where to write the corpus JSON")
    parser.add_argument("--per-source", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    pieces = build(args.per_source, args.seed)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(pieces, handle, ensure_ascii=False, indent=0)
        handle.write("\n")
    for category in CATEGORIES:
        rows = [p for p in pieces if p["category"] == category]
        chars = sum(len(p["text"]) for p in rows)
        tokens = sum(p["reference"]["o200k_base"] for p in rows)
        sources = len({p["source"] for p in rows})
        print(f"estimator_corpus: {category:8s} {sources:3d} sources {len(rows):4d} pieces {chars:8d} chars "
              f"{chars / max(1, tokens):.2f} chars/o200k token", file=sys.stderr)


if __name__ == "__main__":
    main()
