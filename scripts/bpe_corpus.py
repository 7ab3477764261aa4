#!/usr/bin/env python3
"""Deterministic (seeded) test and benchmark text for the BytePairEncoding module.

  pieces [--seed S] [--count N]   JSON array of N strings (default 2400) covering English,
                                  Chinese, Japanese, Korean, Arabic, Hindi, Thai, Cyrillic,
                                  Greek, emoji (ZWJ sequences, flags, skin tones, keycaps),
                                  source code, JSON, whitespace runs, digit runs, mixed
                                  scripts, contractions in any case, combining marks, special
                                  token text, and random scalars from every plane.
  text [--seed S] [--bytes B]     UTF-8 multilingual prose, code and JSON of at least B bytes
                                  (default 4,000,000) for the benchmark.

The same seed always gives the same output (Python's random.Random is stable across versions
for the calls used here).
"""

import argparse
import json
import random
import sys

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife.",
    "We'll meet at 10:30 a.m. on Tuesday, September 3rd, 2024 — don't be late!",
    "Tokenization splits text into pieces; each piece is then merged byte by byte into tokens.",
    "She said, \"I can't believe it's already over,\" and walked away.",
    "Prices rose 3.75% year-over-year, to $1,234,567.89 (up from $987,654.32).",
    "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n",
    "See https://example.com/path/to/resource?query=value&other=123#fragment for details.",
    "Email me at first.last+tag@example.co.uk or call +1 (555) 123-4567.",
    "In 1969, Apollo 11 landed on the Moon; Neil Armstrong's first words were famous.",
    "THE END. THIS IS ALL CAPS TEXT WITH NUMBERS 12345 AND SYMBOLS #@!",
    "McDonald's, O'Reilly, iPhone, eBay, JavaScript, XMLHttpRequest and camelCaseIdentifiers.",
    "Line one\nLine two\n\nLine four after a blank line\n",
    "   leading spaces, trailing spaces   ",
    "Tabs\tseparate\tcolumns\tin\tthis\tline.",
    "Markdown: **bold**, _italic_, `code`, [link](http://x.y), > quote, - list item",
    "Naïve café résumé coöperate façade jalapeño piñata Zürich Ångström",
]

CONTRACTIONS = [
    "I'm", "you're", "he's", "she'd", "we've", "they'll", "it's", "don't", "can't", "won't",
    "I'M", "YOU'RE", "HE'S", "SHE'D", "WE'VE", "THEY'LL", "IT'S", "DON'T", "CAN'T",
    "I'm", "You'Re", "He'S", "We'Ve", "They'Ll", "it'D", "x'T", "'s", "'S", "'t", "'re", "'RE",
    "'ve", "'Ve", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D", "'x", "''s", "'", "l'amour",
    "rock'n'roll", "'ſ", "Xſ'ſ", "ÉCOLE'S", "été's", "日本's", "123's", " 's", "\n's", "ǅ's",
]

CHINESE = [
    "我们今天去公园散步，天气非常好。",
    "人工智能正在改变世界的每一个角落。",
    "这是一个用于测试分词器的中文句子，包含标点符号：逗号、句号。",
    "北京是中国的首都，有着悠久的历史和灿烂的文化。",
    "他说：“明天见！”然后就离开了。",
    "机器学习模型需要大量的数据来进行训练和验证。",
]

JAPANESE = [
    "今日はとても良い天気ですね。",
    "東京タワーは日本の有名な観光地の一つです。",
    "カタカナとひらがなと漢字を混ぜて書きます。",
    "ｶﾀｶﾅの半角文字もあります。ｱｲｳｴｵ",
    "私の名前は田中です。よろしくお願いします！",
    "コンピューターサイエンスを勉強しています。",
]

KOREAN = [
    "안녕하세요, 만나서 반갑습니다.",
    "한국어는 한글로 쓰여집니다.",
    "오늘 저녁에 뭐 먹을까요? 김치찌개 어때요?",
    "서울은 대한민국의 수도입니다.",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af",  # conjoining jamo
]

ARABIC = [
    "مرحبا بالعالم، كيف حالك اليوم؟",
    "اللُّغَةُ العَرَبِيَّةُ جَمِيلَةٌ جِدًّا.",
    "هذا نص عربي مع أرقام ١٢٣٤٥٦٧٨٩٠ وعلامات ترقيم.",
    "القاهرة هي عاصمة مصر.",
    "שלום עולם, מה שלומך?",
]

OTHER_SCRIPTS = [
    "नमस्ते दुनिया, आप कैसे हैं? हिन्दी में १२३४५ अंक।",
    "สวัสดีครับ ยินดีที่ได้รู้จัก",
    "Привет, мир! Как дела? Это тест токенизатора.",
    "Γειά σου Κόσμε! Ελληνικά γράμματα: αβγδε ΑΒΓΔΕ ᾈᾉᾊ.",
    "Ǆǅǆ ǇǈǉǊǋǌ ǱǲǳDžemal ǅivko",
    "Ελλάδα ΑΘΗΝΑ ἀγαθός ᾿Ω",
    "ʕ•ᴥ•ʔ ʕʔ aʕb ʕAʕ",
    "ქართული ენა, Հայերեն լեզու, ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ",
    "ⅰⅱⅲ Ⅻ ² ³ ½ ⅞ ① ② ⑳ 𝟘𝟙𝟚 ０１２３４５",
]

EMOJI = [
    "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🇺🇸🇯🇵🇩🇪🇫🇷", "👍🏻👍🏼👍🏽👍🏾👍🏿", "1️⃣2️⃣#️⃣", "❤️", "✌🏿",
    "🧑‍🤝‍🧑", "😀😃😄😁😆", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🤷‍♀️", "👁️‍🗨️", "🫠🫡🫥", "I ❤️ NY 🗽!", "🚀🚀🚀 launch",
]

CODE = [
    "func count(_ text: String) -> Int {\n    return text.utf8.count\n}\n",
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "#include <stdio.h>\nint main(void) {\n\tprintf(\"hello, %s\\n\", \"world\");\n\treturn 0;\n}\n",
    "const x = arr.map((v, i) => v * 2).filter(Boolean); // doubled\n",
    "SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY id DESC LIMIT 10;",
    "if (a != b && c <= d || !e) { x += 1; y -= 2; z *= 3; w /= 4; }",
    "let url = URL(string: \"https://api.example.com/v1/items?id=42\")!",
    "    // TODO: fix this\r\n    return nil;\r\n",
    "<div class=\"container\"><p id='x'>Hello &amp; goodbye</p></div>",
    "path/to/some/file.swift:123:45: error: use of unresolved identifier 'foo'",
    "a//b///c////d /// ///\n//\n",
    "x = {'key': [1, 2, 3], \"other\": None}\n",
    "fn main() { let v: Vec<u8> = vec![0x00, 0xFF]; println!(\"{:?}\", v); }",
]

JSON_DOCS = [
    json.dumps({"id": 12345, "name": "Widget", "tags": ["a", "b"], "price": 9.99, "ok": True}),
    json.dumps({"user": {"name": "Zoë", "age": 31, "langs": ["日本語", "English"]}}, ensure_ascii=False),
    json.dumps([{"x": i, "y": i * i} for i in range(8)], indent=2),
    '{"escaped": "line\\nbreak \\"quoted\\" \\u00e9", "empty": {}, "nulls": [null, null]}',
]

WHITESPACE = [
    " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r\n\r\n", " \n", "\n ", " \n ", "\t\n\t",
    "  \n  \n  ", "\u00a0", "\u3000", "\u2028", "\u2029", "\u0085", "\u2009\u200a", " \u00a0 ",
    "\x0b", "\x0c", "\r", " \r", "\r ", "x  ", "x\n", "  x", "\n\nx", "x \n y", "x\t\ty", "x \t\n\r y",
]

SPECIAL_TEXT = [
    "<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "text<|endoftext|>more", "<|endoftext|><|endoftext|>", "< |endoftext| >", "<|endoftext",
    "  <|endoftext|>  ", "<|im_start|>user\nhi<|im_end|>",
]

# Scalars the patterns treat specially, for the random mixes.
TRICKY = list(
    " \t\n\r'/sStTdDmMlLrReEvV"
    "aZé1234567890.,;:!?-_()[]{}<>|\"#$%&*+=@\\^`~"
    "\u00a0\u3000\u2028\u0085ſ\u0301\u0308\u0653\u093f\u0915ʕǅᾈ"
    "日本語한글ひカ٣٤²½Ⅻ①🙂👍🏽\u200d\ufe0f\U0001F1FA\U0001F1F8"
    "ʰ\u20dd\u0903ǲ\U0001FAEA\U00016EA0\u1100\u00ad\u2060"
)

PLANES = [
    (0x0000, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x1FFFF), (0x20000, 0x2FFFF),
    (0x30000, 0x3FFFF), (0xE0000, 0xE01EF), (0xF0000, 0x10FFFF), (0x40000, 0xDFFFF),
]

COMBINING = ["\u0300", "\u0301", "\u0302", "\u0308", "\u0327", "\u0336", "\u20dd", "\u0489", "\u093e", "\u0bcd"]


def digits(rng):
    length = rng.choice([1, 2, 3, 4, 5, 7, 10, 16, 33, 100, 250])
    run = "".join(rng.choice("0123456789") for _ in range(length))
    if rng.random() < 0.2:
        run = run.replace("1", "١").replace("7", "७")
    return rng.choice(["", " ", "x", "$", "-", "1."]) + run + rng.choice(["", " ", "px", "%", ".5", "\n"])


def random_scalars(rng):
    out = []
    for _ in range(rng.randint(1, 24)):
        lo, hi = rng.choice(PLANES)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def combining(rng):
    base = rng.choice(["e", "a", "E", "z", "日", "1", " ", "'", "ก", "к", "ß"])
    marks = "".join(rng.choice(COMBINING) for _ in range(rng.randint(1, 5)))
    return rng.choice(["", "x", "X", " ", "'"]) + base + marks + rng.choice(["", "s", "S", "'s", " ", "1"])


def tricky_mix(rng):
    return "".join(rng.choice(TRICKY) for _ in range(rng.randint(1, 40)))


def mixed_scripts(rng):
    parts = [rng.choice(ENGLISH).split()[0], rng.choice(CHINESE)[:4], rng.choice(ARABIC)[:6],
             rng.choice(OTHER_SCRIPTS)[:5], rng.choice(EMOJI), rng.choice(JAPANESE)[:5], rng.choice(KOREAN)[:4]]
    rng.shuffle(parts)
    return rng.choice(["", " ", "-", "_", "/"]).join(parts)


def contraction_text(rng):
    words = [rng.choice(CONTRACTIONS) for _ in range(rng.randint(1, 6))]
    return rng.choice([" ", "", "\n", "  "]).join(words)


def long_piece(rng):
    kind = rng.randrange(7)
    if kind == 0:
        return "".join(rng.choice(CHINESE) for _ in range(rng.randint(5, 40))).replace("，", "").replace("。", "")
    if kind == 1:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(100, 3000)))
    if kind == 2:
        return "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(100, 2000)))
    if kind == 3:
        return " " * rng.randint(50, 2000) + rng.choice(["", "x", "\n", "  \n\t"])
    if kind == 4:
        return "".join(rng.choice("!@#$%^&*()_+-=[]{};:,./<>?~") for _ in range(rng.randint(100, 1500)))
    if kind == 5:
        return "".join(rng.choice(["🙂", "👍🏽", "👨‍👩‍👧", "🇯🇵"]) for _ in range(rng.randint(20, 300)))
    return "\n".join(rng.choice(CODE) for _ in range(rng.randint(5, 30)))


def sample(rng, pool, low=1, high=4, sep=" "):
    return sep.join(rng.choice(pool) for _ in range(rng.randint(low, high)))


GENERATORS = [
    (14, lambda r: sample(r, ENGLISH)),
    (8, contraction_text),
    (6, lambda r: sample(r, CHINESE, sep=r.choice(["", " ", "\n"]))),
    (6, lambda r: sample(r, JAPANESE, sep=r.choice(["", " ", "\n"]))),
    (5, lambda r: sample(r, KOREAN)),
    (5, lambda r: sample(r, ARABIC)),
    (6, lambda r: sample(r, OTHER_SCRIPTS)),
    (8, lambda r: sample(r, EMOJI, 1, 6, sep=r.choice(["", " ", "\n", "a"]))),
    (8, lambda r: sample(r, CODE, 1, 3, sep="")),
    (4, lambda r: sample(r, JSON_DOCS, 1, 2, sep="\n")),
    (10, lambda r: "".join(r.choice(WHITESPACE) for _ in range(r.randint(1, 6)))),
    (6, digits),
    (6, mixed_scripts),
    (6, combining),
    (6, random_scalars),
    (12, tricky_mix),
    (2, lambda r: sample(r, SPECIAL_TEXT, 1, 3, sep=r.choice(["", " ", "\n"]))),
    (2, long_piece),
]


def pieces(seed, count):
    rng = random.Random(seed)
    weights = [w for w, _ in GENERATORS]
    makers = [m for _, m in GENERATORS]
    out = []
    # Every fixed fragment once, so each appears whatever the seed.
    for pool in [ENGLISH, CONTRACTIONS, CHINESE, JAPANESE, KOREAN, ARABIC, OTHER_SCRIPTS, EMOJI,
                 CODE, JSON_DOCS, WHITESPACE, SPECIAL_TEXT]:
        out.extend(pool)
    while len(out) < count:
        maker = rng.choices(makers, weights)[0]
        text = maker(rng)
        if rng.random() < 0.15:
            text = rng.choice(WHITESPACE) + text
        if rng.random() < 0.15:
            text = text + rng.choice(WHITESPACE)
        out.append(text)
    return out


def bench_text(seed, size):
    rng = random.Random(seed)
    pools = [
        (30, ENGLISH), (8, CHINESE), (6, JAPANESE), (4, KOREAN), (4, ARABIC), (5, OTHER_SCRIPTS),
        (3, EMOJI), (14, CODE), (5, JSON_DOCS), (3, CONTRACTIONS),
    ]
    weights = [w for w, _ in pools]
    lists = [p for _, p in pools]
    chunks = []
    total = 0
    while total < size:
        pool = rng.choices(lists, weights)[0]
        paragraph = []
        for _ in range(rng.randint(2, 8)):
            sentence = rng.choice(pool)
            # Shuffle words so the text is not one paragraph repeated.
            words = sentence.split(" ")
            if len(words) > 3 and rng.random() < 0.7:
                rng.shuffle(words)
            paragraph.append(" ".join(words))
            if rng.random() < 0.2:
                paragraph.append(str(rng.randint(0, 10**rng.randint(1, 9))))
        text = rng.choice([" ", "", "\n"]).join(paragraph) + rng.choice(["\n\n", "\n", " "])
        chunks.append(text)
        total += len(text.encode("utf-8"))
    return "".join(chunks)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pieces")
    p.add_argument("--seed", type=int, default=20240611)
    p.add_argument("--count", type=int, default=2400)
    t = sub.add_parser("text")
    t.add_argument("--seed", type=int, default=7)
    t.add_argument("--bytes", type=int, default=4_000_000)
    args = parser.parse_args()
    if args.command == "pieces":
        json.dump(pieces(args.seed, args.count), sys.stdout)
        sys.stdout.write("\n")
    else:
        sys.stdout.buffer.write(bench_text(args.seed, args.bytes).encode("utf-8"))


if __name__ == "__main__":
    main()
