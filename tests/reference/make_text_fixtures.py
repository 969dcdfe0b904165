#!/usr/bin/env python3
"""Reference token ids for `crates/kinema-text`, made by the real upstream tokenizers.

Not run by CI. Writes into `tests/fixtures/text/`:

- `k400_default_prompts.jsonl.gz`: every K400 label x the 16 default ActionCLIP
  templates (6,400 prompts, template-major: row = k*C + c), one JSON array per line:
  `[row, prompt, ids]`, `ids` being the non-zero prefix of `clip.tokenize(prompt)[0]`.
- `tricky_strings.json`: awkward inputs with the upstream cleaned text
  (`whitespace_clean(basic_clean(t)).lower()`) and ids.
- `fuzz_strings.json`: 400 random concatenations of awkward pieces (seeded), with the
  `truncate=True` ids.
- `too_long.json`: texts longer than the context, the upstream error message and the
  `truncate=True` ids, plus the boundary cases (75 and 76 BPE tokens).

and the crate asset `crates/kinema-text/assets/html5_entities.tsv`: the named character
references of the HTML standard as Python's `html.entities.html5` lists them (what
`html.unescape` and ftfy decode), one `name<TAB>code points in hex` a line.

The reference is OpenAI's own `clip.tokenize` (the function MMAction2's ActionCLIP calls), from
the `openai-clip==1.0.1` package (a packaging of openai/CLIP, installed with `pip install
--no-deps`; `import clip` needs torchvision and `pkg_resources`, i.e. setuptools < 81).
Every id is cross-checked against open_clip's OpenAI-compatible `open_clip.tokenize`
(open_clip_torch 3.3.0), which must agree except where the text contains OpenAI's literal
special-token strings (open_clip names its specials differently).

Environment: the reference venv (torch 2.13 CPU, ftfy 6.3.1, regex, open_clip_torch 3.3.0).
Run from the repository root:
    /root/.cache/kinema/reference-venv/bin/python tests/reference/make_text_fixtures.py
"""

import gzip
import json
import os
import shutil
import sys
import warnings

warnings.filterwarnings("ignore")

import clip  # noqa: E402  (openai/CLIP)
import open_clip  # noqa: E402
from clip.simple_tokenizer import basic_clean, whitespace_clean  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "text")
SHARED = os.environ.get("KINEMA_SHARED_FIXTURES", "/work/shared/fixtures/upstream")

DEFAULT_TEMPLATES = [
    "a photo of action {}", "a picture of action {}", "Human action of {}", "{}, an action",
    "{} this is an action", "{}, a video of action", "Playing action of {}", "{}",
    "Playing a kind of action, {}", "Doing a kind of action, {}", "Look, the human is {}",
    "Can you recognize the action of {}?", "Video classification of {}", "A video of {}",
    "The man is {}", "The woman is {}",
]

TRICKY = [
    "Don\u2019t stop", "\u201cquoted\u201d and \u2018single\u2019 \u201asingle low\u201b",
    "rock &amp; roll", "rock &amp;amp; roll", "rock &amp;amp;amp;amp; roll",
    "&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b> &amp;amp;amp; tag",
    "&amp;amp;amp; first line\na < b", "a < b\n&amp;amp;amp; second line",
    "\uff21\uff50\uff50\uff4c\uff59\uff25\uff59\uff45\uff2d\uff41\uff4b\uff45\uff55\uff50",
    "\uff21\uff22\uff23\u3000\uff44\uff45\uff46\uff01", "\uff76\uff80\uff76\uff85",
    "\ufb01shing and \ufb02ying", "\ufb00 \ufb03 \ufb04 \ufb05 \ufb06 \u0132 \u01c5ungla",
    "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e", "cafe\u0301 decomposed", "na\u00efve fa\u00e7ade jalape\u00f1o",
    "playing \u26bd with \U0001f436 emoji", "\U0001f44d\U0001f3fd thumbs \u2764\ufe0f",
    "catching 3 fish in 2019", "1,000,000 dollars and 3.14 pi", "x\u00b2 and H\u2082O \u216b",
    "wait... what?!?! -- ok", "it's they're we've I'm you'll he'd can't",
    "IT'S LOUD, WE'RE HERE", "ApplyEyeMakeup", "YoYo", "PlayingDaf", "BlowDryHair",
    "  multiple   spaces\tand\ttabs\nand\nnewlines  ", "\r\nwindows\r\nline\rbreaks",
    "\u2028line sep\u2029para sep\u0085nel", "tab\u00a0nbsp and zero\u200bwidth and soft\u00adhyphen",
    "&#39;single&#39; &#x27;hex&#x27; &#8217;curly&#8217; &#150; &#0; &#xD800; &#1114112;",
    "&eacute;t&eacute; &EACUTE;T&EACUTE; STRA&SZLIG;E &NTILDE; &nTILDE;",
    "&nbsp;spaced&nbsp; AT&T R&D", "&ampersand &notit; &not &copy2024",
    "&amp;rsquo;quoted&amp;rsquo;", "\u0093smart\u0094 \u0085 \u0080 \u0081",
    "\x1b[31mred\x1b[0m text", "bell\x07char del\x7f nul\x00 \ufeffbom",
    "\u039f\u0394\u039f\u03a3 \u03a3\u039f\u03a6\u039f\u03a3 greek", "\u0130stanbul Stra\u00dfe",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "\U0001d4a5ohn \u210bancock",
    "e.g. U.S.A. \u2014 en\u2013dash \u2026", "#hashtag @mention http://x.y/z?q=1&r=2",
    "<|endoftext|> inside", "mojibake: caf\u00c3\u00a9", "", "   \t\n ",
    "massaging person's head", "skiing (not slalom or crosscountry)",
    "he'\u017f here", "x \u0345 y \u03b1\u0345", "a<|endoftext|>b", "<|startoftext|>go",
    "!<|endoftext|>", "\uff06\uff41\uff4d\uff50\uff1b fullwidth entity", "&#x1F600; &NotEqualTilde;",
    "&#x85; &#133; A\u0308", "\u0149 \u01c4", "\x1b[\u0663m arabic digit escape",
    "\uffc2\uffe0\uffe8\uff9f halfwidth", "&AMP; &Amp; &aMp;",
]

FULL_SHARED = ["case1_tokens.npy", "case2_tokens.npy", "template_the_woman_is.txt"]


def nonzero_prefix(row):
    ids = [int(x) for x in row]
    while ids and ids[-1] == 0:
        ids.pop()
    return ids


def reference_ids(text, truncate=False):
    ids = nonzero_prefix(clip.tokenize([text], truncate=truncate)[0])
    if "<|" not in text:
        other = nonzero_prefix(open_clip.tokenize([text])[0])
        assert other == ids, (text, ids, other)
    return ids


def read_lines(path):
    # mmengine.list_from_file: every line with its trailing "\n"/"\r" removed.
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n\r") for line in f]


def k400_prompts():
    labels = read_lines(os.path.join(OUT, "label_map_k400.txt"))
    assert len(labels) == 400
    path = os.path.join(OUT, "k400_default_prompts.jsonl.gz")
    prompts = [t.format(c) for t in DEFAULT_TEMPLATES for c in labels]
    tokens = clip.tokenize(prompts)
    assert (open_clip.tokenize(prompts) == tokens.long()).all()
    # mtime=0: the same inputs give byte-identical output.
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        for row, (prompt, ids) in enumerate(zip(prompts, tokens)):
            line = json.dumps([row, prompt, nonzero_prefix(ids)], ensure_ascii=True)
            f.write((line + "\n").encode("ascii"))
    print(f"{path}: {len(prompts)} prompts, longest {int((tokens != 0).sum(1).max())} ids")


def tricky():
    cases = []
    for text in TRICKY:
        cleaned = whitespace_clean(basic_clean(text)).lower()
        cases.append({"text": text, "cleaned": cleaned, "ids": reference_ids(text)})
    path = os.path.join(OUT, "tricky_strings.json")
    with open(path, "w", encoding="ascii") as f:
        json.dump({"source": "openai-clip 1.0.1 clip.tokenize, ftfy 6.3.1", "cases": cases},
                  f, ensure_ascii=True, indent=1)
        f.write("\n")
    print(f"{path}: {len(cases)} cases")


FUZZ_PIECES = [
    "&", "amp;", "#x", "#", "41", ";", "<", "lt;", "\u0345", "\x1b[", "3m", "a", "Z", " ", "\t", "\r",
    "\n", "\x85", "\x93", "\uff21", "\ufb01", "e\u0301", "\U0001f44d\U0001f3fd", "\u03a3", "'s", "'",
    "<|endoftext|>", "<|startoftext|>", "\ufeff", "\x00", "9", "\uffff", "\u00a9", "\u2019",
]
# No "\u00c3" ("Ã"): next to C1 characters or "©" it forms UTF-8-read-as-Windows-1252 mojibake,
# which ftfy repairs and kinema-text does not (covered once in tricky_strings.json).


def fuzz():
    import random

    rng = random.Random(20240601)
    cases = []
    for _ in range(400):
        text = "".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randrange(0, 20)))
        cases.append({"text": text, "ids": reference_ids(text, truncate=True)})
    path = os.path.join(OUT, "fuzz_strings.json")
    with open(path, "w", encoding="ascii") as f:
        json.dump({"source": "openai-clip 1.0.1 clip.tokenize(truncate=True)", "cases": cases}, f, ensure_ascii=True)
        f.write("\n")
    print(f"{path}: {len(cases)} cases")


def too_long():
    cases = []
    texts = [
        "a " * 75,  # 75 BPE tokens + SOT + EOT = 77: fits exactly
        "a " * 76,  # 78: one too many
        "the quick brown fox jumps over the lazy dog " * 10,
        "1234567890" * 10,  # digits are one token each
    ]
    for text in texts:
        n = len(clip.tokenize.__globals__["_tokenizer"].encode(text)) + 2
        case = {"text": text, "num_tokens": n}
        try:
            case["ids"] = reference_ids(text)
            case["error"] = None
        except RuntimeError as e:
            case["error"] = str(e)
            case["ids"] = None
        case["truncated_ids"] = reference_ids(text, truncate=True)
        cases.append(case)
    path = os.path.join(OUT, "too_long.json")
    with open(path, "w", encoding="ascii") as f:
        json.dump({"context_length": 77, "cases": cases}, f, ensure_ascii=True, indent=1)
        f.write("\n")
    print(f"{path}: {len(cases)} cases")


def html5_entities():
    import html.entities

    path = os.path.join(ROOT, "crates", "kinema-text", "assets", "html5_entities.tsv")
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(f"# HTML named character references, from Python {sys.version.split()[0]} html.entities.html5\n")
        for name, chars in html.entities.html5.items():
            f.write(name + "\t" + " ".join(f"{ord(c):X}" for c in chars) + "\n")
    print(f"{path}: {len(html.entities.html5)} entities")


def main():
    os.makedirs(OUT, exist_ok=True)
    shutil.copyfile(os.path.join(SHARED, "label_map_k400.txt"), os.path.join(OUT, "label_map_k400.txt"))
    for name in FULL_SHARED:
        shutil.copyfile(os.path.join(SHARED, "tiny", name), os.path.join(OUT, name))
    html5_entities()
    k400_prompts()
    tricky()
    fuzz()
    too_long()


if __name__ == "__main__":
    sys.exit(main())
