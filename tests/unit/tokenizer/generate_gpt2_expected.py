#!/usr/bin/python3
"""Writes the expected GPT-2 token ids the tokenizer tests compare against,
computed by an independent implementation: OpenAI's tiktoken, given the
repository's GPT-2 files (data/gpt2) rather than its downloaded ones.

    /usr/bin/python3 -m pip install --break-system-packages tiktoken
    /usr/bin/python3 tests/unit/tokenizer/generate_gpt2_expected.py

Outputs tests/unit/tokenizer/data/gpt2_expected.json (tricky strings) and
gpt2_corpus_expected.json (ids of every excerpt under data/corpora).
"""
import json
import os
import sys

import tiktoken

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DATA = os.path.join(ROOT, "tests", "unit", "tokenizer", "data")
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

TRICKY = [
    "", " ", "  ", "   ", "a", "Hello world", "Hello, world!", "   leading spaces", "trailing spaces   ",
    "multiple     spaces between", "tab\tseparated\t\tvalues", "\n", "\n\n\n", "line one\nline two\n",
    "windows\r\nline\r\nendings\r\n", "  \n  indented", " \n", "a \n b", "x  \n\n  y  ",
    "digits 0 12 345 6789 1234567890 3.14159 -42 1e10", "2024-01-01T12:00:00Z",
    "I'm you're we've they'll he'd it's can't don't", "'s 't 're 've 'm 'll 'd", "'S 'T 'RE upper-case",
    "a'b'c '' ''s '''", " 's  'll", "it\u2019s curly",
    "emoji \U0001F600\U0001F389 \U0001F44D\U0001F3FD family \U0001F468\u200D\U0001F469\u200D\U0001F467",
    "\u65E5\u672C\u8A9E\u306E\u30C6\u30AD\u30B9\u30C8", "\u4E2D\u6587\u6587\u672C\uFF0C\u6807\u70B9\u3002",
    "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439, \u043C\u0438\u0440!",
    "\u0645\u0631\u062D\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u0939\u093F\u0928\u094D\u0926\u0940 \u092D\u093E\u0937\u093E", "\uD55C\uAD6D\uC5B4 \uD14D\uC2A4\uD2B8",
    "\u0395\u03BB\u03BB\u03B7\u03BD\u03B9\u03BA\u03AC \u03BA\u03B5\u03AF\u03BC\u03B5\u03BD\u03BF",
    "mixed English \u0440\u0443\u0441\u0441\u043A\u0438\u0439 \u4E2D\u6587 \u0639\u0631\u0628\u064A 123",
    "caf\u00E9 na\u00EFve co\u00F6perate e\u0301 combining", "\u216B roman \u00BD \u00B2 \u0663 \u2460 numbers",
    "non\u00A0breaking\u00A0space", "ideographic\u3000space", "zero\u200Bwidth", "line\u2028separator",
    "\x1c\x1d\x1e\x1f separators", "\x00 nul \x07 bell \x7f del", "\u0085 next line",
    "<|endoftext|>", "before<|endoftext|>after", "<|endoftext|><|endoftext|>", " <|endoftext|> spaced ",
    "<|endoftext", "<|endoftext|", "!!!???... ---", "def f(x):\n    return x ** 2\n",
    "{\"key\": [1, 2, 3], 'other': None}", "https://example.com/path?query=1&b=2#frag",
    "x" * 300, " " * 100 + "word", "1234567890" * 30, "\U0001F600" * 50, "ab" * 200,
]


def gpt2_encoding():
    with open(os.path.join(ROOT, "data", "gpt2", "encoder.json"), encoding="utf-8") as f:
        encoder = json.load(f)
    # GPT-2's bytes_to_unicode, inverted: mapped character -> byte.
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    mapped, extra = {}, 0
    for b in range(256):
        if b in printable:
            mapped[b] = chr(b)
        else:
            mapped[b] = chr(256 + extra)
            extra += 1
    byte_of = {c: b for b, c in mapped.items()}
    special = {"<|endoftext|>": encoder["<|endoftext|>"]}
    ranks = {bytes(byte_of[c] for c in token): rank for token, rank in encoder.items() if token not in special}
    return tiktoken.Encoding("gpt2_local", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens=special)


def main():
    enc = gpt2_encoding()
    producer = f"tiktoken {tiktoken.__version__} (Python {sys.version.split()[0]}), GPT-2 ranks from data/gpt2"
    cases = [{"text": t, "ids": enc.encode(t, allowed_special="all")} for t in TRICKY]
    with open(os.path.join(DATA, "gpt2_expected.json"), "w", encoding="utf-8") as f:
        lines = [json.dumps(case, ensure_ascii=True) for case in cases]
        f.write('{"producer": %s,\n "cases": [\n  %s\n]}\n' % (json.dumps(producer), ",\n  ".join(lines)))
    corpora = os.path.join(ROOT, "data", "corpora")
    files = []
    for name in sorted(os.listdir(corpora)):
        if name.endswith(".txt"):
            with open(os.path.join(corpora, name), encoding="utf-8") as f:
                files.append({"file": name, "ids": enc.encode_ordinary(f.read())})
    with open(os.path.join(DATA, "gpt2_corpus_expected.json"), "w", encoding="utf-8") as f:
        json.dump({"producer": producer, "files": files}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
