#!/usr/bin/env python3
"""One-off: measure the script priors of estimator_calibrate.py.

The accuracy corpus has almost no Cyrillic, Greek, kana, Hangul, Arabic,
Hebrew, Devanagari or Thai words, nor Latin letters beyond ASCII in prose, so
their costs cannot be fitted on it. This script measures them on the
translation catalogs present on a Debian machine
(/usr/share/locale/LOCALE/LC_MESSAGES/*.mo, whatever packages installed
them, so the numbers are not reproducible byte for byte) and prints the
least-squares fit cost = base[prefix] + perScalar * length per script, and the
mean extra cost of a non-ASCII Latin letter. Paste the results into
LATIN_EXTRA and SCRIPT_PRIORS of estimator_calibrate.py.

Usage: estimator_priors.py corpus.json      Needs: numpy, tiktoken, bpe-openai
"""

import gettext
import glob
import json
import os
import sys

import numpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import estimator_calibrate as calibrate  # noqa: E402
import estimator_corpus  # noqa: E402

LATIN = ["fr", "de", "es", "pl", "vi", "tr"]
OTHERS = ["ru", "uk", "el", "ja", "ko", "ar", "he", "hi", "th"]


def catalog_texts(locale, limit=20000):
    texts = []
    for path in sorted(glob.glob(f"/usr/share/locale/{locale}/LC_MESSAGES/*.mo")):
        try:
            with open(path, "rb") as handle:
                catalog = gettext.GNUTranslations(handle)
        except Exception:  # malformed or plural-only catalogs
            continue
        texts += [v for v in catalog._catalog.values() if isinstance(v, str) and len(v) > 20]
    return texts[:limit]


def main():
    encoding = estimator_corpus.o200k_encoding()
    with open(sys.argv[1], encoding="utf-8") as handle:
        corpus = json.load(handle)
    model = calibrate.fit([p for p in corpus if p["split"] == "calibration"], encoding)
    latin_count, latin_total = 0, 0.0
    rows = {script: [] for script in (calibrate.CASED, calibrate.KANA, calibrate.HANGUL, calibrate.OTHER)}
    for locale in LATIN + OTHERS:
        for text in catalog_texts(locale):
            for unit in calibrate.segment(text):
                if unit[0] != "word":
                    continue
                _, script, prefix, shape, length, non_ascii, unit_text = unit
                cost = len(encoding.encode_ordinary(unit_text))
                if script == calibrate.ALPHA and non_ascii and length <= calibrate.MAX_WORD:
                    latin_count += non_ascii
                    latin_total += cost - model.alpha[prefix][shape][length]
                elif script in rows:
                    rows[script].append((prefix, length, cost))
    print(f"LATIN_EXTRA = {latin_total / max(1, latin_count):.3f}  ({latin_count} letters)")
    names = {calibrate.CASED: "CASED", calibrate.KANA: "KANA", calibrate.HANGUL: "HANGUL", calibrate.OTHER: "OTHER"}
    for script, samples in rows.items():
        if not samples:
            continue
        matrix = numpy.zeros((len(samples), 4))
        costs = numpy.zeros(len(samples))
        for index, (prefix, length, cost) in enumerate(samples):
            matrix[index, prefix] = 1
            matrix[index, 3] = length
            costs[index] = cost
        coefficients, *_ = numpy.linalg.lstsq(matrix, costs, rcond=None)
        bases = ", ".join(f"{max(0.0, v):.3f}" for v in coefficients[:3])
        print(f"{names[script]}: ([{bases}], {coefficients[3]:.3f}),  # {len(samples)} words")


if __name__ == "__main__":
    main()
