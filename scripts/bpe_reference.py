#!/usr/bin/env python3
"""tiktoken as the reference for the BytePairEncoding module's tests and benchmark.

tiktoken cannot download its rank files here, so its Encoding objects are built by hand from
local rank files (NAME.tiktoken or NAME.tiktoken.gz, e.g. the ones the bpe-openai package ships)
with the patterns and special tokens of tiktoken_ext/openai_public.py.

Subcommands (all print JSON on stdout; diagnostics go to stderr):

  locate
      The directory holding bpe-openai's o200k_base.tiktoken.gz and cl100k_base.tiktoken.gz.
  counts --ranks DIR --input FILE [--encodings o200k_base,cl100k_base] [--ids N] [--allowed-special]
      FILE is a JSON array of strings. Prints {"o200k_base": {"counts": [...], "ids": [[...], ...]}}
      with tiktoken's token counts (encode_ordinary, or encode with allowed_special="all"), and the
      full token ids of the first N strings (all of them when N is -1).
  splits --input FILE [--encodings ...] [--max-bytes N]
      The pieces tiktoken's regex splits each text into (null for texts over N bytes, default 200).
      The Rust engine's matches are not exposed, so each batch of texts gets a throwaway
      vocabulary holding every scalar-aligned substring of the batch: then every piece is
      found whole and comes back as exactly one token.
  classes --output FILE
      Writes one byte per code point (0 ... 0x10FFFF): the classes tiktoken's regex engine gives it,
      bit 0 Lu, 1 Ll, 2 Lt, 3 Lm, 4 Lo, 5 M, 6 N, 7 White_Space (\\s).
  bench --ranks DIR --input TEXTFILE [--runs N] [--encodings ...]
      Times encode_ordinary (single-threaded) on the whole UTF-8 text, excluding load time, and
      prints {"o200k_base": {"bytes": B, "tokens": T, "best_seconds": S, "mb_per_s": M}}.

Needs: pip install tiktoken bpe-openai
"""

import argparse
import gzip
import json
import os
import sys
import tempfile
import time

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"

# From tiktoken_ext/openai_public.py (tiktoken 0.14.0).
SPECS = {
    "cl100k_base": {
        "hash": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "pat_str": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
        "special_tokens": {
            ENDOFTEXT: 100257,
            FIM_PREFIX: 100258,
            FIM_MIDDLE: 100259,
            FIM_SUFFIX: 100260,
            ENDOFPROMPT: 100276,
        },
    },
    "o200k_base": {
        "hash": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "pat_str": "|".join(
            [
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            ]
        ),
        "special_tokens": {ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
    },
}


def fail(message):
    print(f"bpe_reference: {message}", file=sys.stderr)
    sys.exit(2)


def import_tiktoken():
    try:
        import tiktoken  # noqa: F401
        import tiktoken.load  # noqa: F401
    except ImportError:
        fail("tiktoken is not installed: pip install tiktoken bpe-openai")
    return sys.modules["tiktoken"]


def load_encoding(ranks_dir, name):
    tiktoken = import_tiktoken()
    spec = SPECS[name]
    plain = os.path.join(ranks_dir, f"{name}.tiktoken")
    packed = plain + ".gz"
    # No cache: load_tiktoken_bpe would otherwise keep copies under a temp dir.
    os.environ["TIKTOKEN_CACHE_DIR"] = ""
    if os.path.exists(plain):
        ranks = tiktoken.load.load_tiktoken_bpe(plain, expected_hash=spec["hash"])
    elif os.path.exists(packed):
        with gzip.open(packed, "rb") as source, tempfile.NamedTemporaryFile(
            suffix=".tiktoken", delete=False
        ) as target:
            target.write(source.read())
            temp_path = target.name
        try:
            ranks = tiktoken.load.load_tiktoken_bpe(temp_path, expected_hash=spec["hash"])
        finally:
            os.unlink(temp_path)
    else:
        fail(f"neither {plain} nor {packed} exists")
    return tiktoken.Encoding(
        name=name,
        pat_str=spec["pat_str"],
        mergeable_ranks=ranks,
        special_tokens=spec["special_tokens"],
    )


def encodings_arg(value):
    names = [n for n in value.split(",") if n]
    for n in names:
        if n not in SPECS:
            raise argparse.ArgumentTypeError(f"unknown encoding {n}")
    return names


def cmd_locate(_args):
    try:
        import bpe_openai
    except ImportError:
        fail("bpe-openai is not installed: pip install tiktoken bpe-openai")
    root = os.path.dirname(bpe_openai.__file__)
    for directory, _dirs, files in os.walk(root):
        if "o200k_base.tiktoken.gz" in files and "cl100k_base.tiktoken.gz" in files:
            print(json.dumps({"directory": directory}))
            return
    fail(f"no o200k_base.tiktoken.gz and cl100k_base.tiktoken.gz under {root}")


def cmd_counts(args):
    with open(args.input, encoding="utf-8") as f:
        texts = json.load(f)
    result = {}
    for name in args.encodings:
        enc = load_encoding(args.ranks, name)
        if args.allowed_special:
            encoded = [enc.encode(t, allowed_special="all") for t in texts]
        else:
            encoded = [enc.encode_ordinary(t) for t in texts]
        result[name] = {
            "counts": [len(e) for e in encoded],
            "ids": encoded if args.ids < 0 else encoded[: args.ids],
        }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


def cmd_splits(args):
    tiktoken = import_tiktoken()
    with open(args.input, encoding="utf-8") as f:
        texts = json.load(f)
    result = {}
    for name in args.encodings:
        pattern = SPECS[name]["pat_str"]
        splits = [None] * len(texts)
        batch = []
        vocab = {}

        def flush():
            if not batch:
                return
            ranks = {bytes([i]): i for i in range(256)}
            for token in vocab:
                if len(token) > 1:
                    ranks[token] = len(ranks)
            probe = tiktoken.Encoding(
                name=f"split_probe_{name}", pat_str=pattern, mergeable_ranks=ranks, special_tokens={}
            )
            for index in batch:
                tokens = probe.encode_ordinary(texts[index])
                splits[index] = [probe.decode_single_token_bytes(t).decode("utf-8") for t in tokens]
            batch.clear()
            vocab.clear()

        for index, text in enumerate(texts):
            if len(text.encode("utf-8")) > args.max_bytes:
                continue
            for start in range(len(text)):
                for end in range(start + 1, len(text) + 1):
                    vocab[text[start:end].encode("utf-8")] = None
            batch.append(index)
            if len(vocab) > 400_000:
                flush()
        flush()
        result[name] = splits
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def cmd_classes(args):
    tiktoken = import_tiktoken()
    byte_ranks = {bytes([i]): i for i in range(256)}
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    mask = bytearray(0x110000)
    patterns = [r"\p{Lu}", r"\p{Ll}", r"\p{Lt}", r"\p{Lm}", r"\p{Lo}", r"\p{M}", r"\p{N}", r"\s"]
    for bit, pattern in enumerate(patterns):
        # A one-class pattern with only byte tokens: find_iter keeps exactly the scalars in the
        # class, so decoding the tokens gives back the class's members.
        probe = tiktoken.Encoding(
            name=f"class_probe_{bit}", pat_str=pattern, mergeable_ranks=byte_ranks, special_tokens={}
        )
        for ch in probe.decode(probe.encode_ordinary(text)):
            mask[ord(ch)] |= 1 << bit
    with open(args.output, "wb") as f:
        f.write(mask)
    print(json.dumps({"output": args.output, "code_points": len(mask)}))


def cmd_bench(args):
    with open(args.input, "rb") as f:
        text = f.read().decode("utf-8")
    size = len(text.encode("utf-8"))
    result = {}
    for name in args.encodings:
        enc = load_encoding(args.ranks, name)
        enc.encode_ordinary(text[:10000])  # warm up
        best = None
        tokens = 0
        for _ in range(args.runs):
            start = time.perf_counter()
            tokens = len(enc.encode_ordinary(text))
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        result[name] = {
            "bytes": size,
            "tokens": tokens,
            "best_seconds": best,
            "mb_per_s": size / best / 1e6,
        }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("locate")

    counts = sub.add_parser("counts")
    counts.add_argument("--ranks", required=True)
    counts.add_argument("--input", required=True)
    counts.add_argument("--encodings", type=encodings_arg, default=list(SPECS))
    counts.add_argument("--ids", type=int, default=0)
    counts.add_argument("--allowed-special", action="store_true")

    splits = sub.add_parser("splits")
    splits.add_argument("--input", required=True)
    splits.add_argument("--encodings", type=encodings_arg, default=list(SPECS))
    splits.add_argument("--max-bytes", type=int, default=200)

    classes = sub.add_parser("classes")
    classes.add_argument("--output", required=True)

    bench = sub.add_parser("bench")
    bench.add_argument("--ranks", required=True)
    bench.add_argument("--input", required=True)
    bench.add_argument("--runs", type=int, default=5)
    bench.add_argument("--encodings", type=encodings_arg, default=list(SPECS))

    args = parser.parse_args()
    {
        "locate": cmd_locate,
        "counts": cmd_counts,
        "splits": cmd_splits,
        "classes": cmd_classes,
        "bench": cmd_bench,
    }[args.command](args)


if __name__ == "__main__":
    main()
