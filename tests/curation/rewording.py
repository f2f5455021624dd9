"""Rewordings and hard negatives of benchmark questions, derived at test time (no benchmark text
is stored here): the cases decontamination is measured on.

Two families, written independently so thresholds tuned on one are measured on the other:

- "dev": instruction prefix, synonym table A, digits ↔ number words, question sentence first,
  first names swapped;
- "heldout": synonym table B (disjoint from A), filler words dropped, middle sentences swapped,
  a suffix instruction, connectives rewritten; "reworded_dense" adds a filler word every 7 plain
  words, which breaks most 13-grams — plus a handful of hand paraphrases (`HAND` in test_decontam).

Hard negatives keep the wording and change numbers: one number ("one"), every number ("all"),
or a rewording with one number changed ("reworded"); the new value never equals a number the
question already states.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

PREFIXES = (
    "Solve the following problem.",
    "Here is a math problem:",
    "Please solve:",
    "Answer the question below.",
)
SUFFIXES = ("Give your final answer.", "Show your work and box the answer.", "Explain your reasoning.")

SYN_A = {
    r"\bfind\b": "determine",
    r"\bcompute\b": "calculate",
    r"\bhow many\b": "what number of",
    r"\btotal\b": "overall",
    r"\beach\b": "every",
    r"\bbuys\b": "purchases",
    r"\bbought\b": "purchased",
    r"\bwhat is\b": "what's",
    r"\bsuppose\b": "assume",
    r"\bthe value of\b": "the numerical value of",
    r"\bpositive integer\b": "positive whole number",
    r"\bhas\b": "owns",
    r"\bwants to\b": "would like to",
    r"\bearns\b": "makes",
    r"\bper\b": "for every",
}
SYN_B = {
    r"\bwhat is\b": "determine",
    r"\bhow much\b": "what amount",
    r"\bhow many\b": "find the count of",
    r"\bmakes\b": "earns",
    r"\bgets\b": "receives",
    r"\bcosts\b": "is priced at",
    r"\bevaluate\b": "work out",
    r"\bsimplify\b": "reduce",
    r"\blet\b": "define",
    r"\breal numbers\b": "reals",
    r"\bsum\b": "total",
    r"\bbig\b": "large",
    r"\bstarts\b": "begins",
    r"\bafter\b": "following",
    r"\bneeds\b": "requires",
}
FILLER = (r"\bthen\b ", r"\breally\b ", r"\bexactly\b ", r"\bjust\b ", r"\balso\b ")
NAMES = (
    "Janet",
    "James",
    "John",
    "Mark",
    "Tom",
    "Sarah",
    "Mary",
    "Carla",
    "Betty",
    "Kylar",
    "Toulouse",
    "Eliza",
)
OTHER_NAMES = ("Priya", "Olu", "Mateo", "Ingrid", "Kenji", "Amara")
WORDS = {
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    12: "twelve",
    15: "fifteen",
    20: "twenty",
}
_NUM_OUTSIDE_MATH = re.compile(r"(?<![\w.,$^_{\\])(\d+)(?![\w.,}])")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _sub_table(text: str, table: dict[str, str], rng: random.Random, rate: float) -> str:
    for pat, rep in table.items():
        if rng.random() < rate:

            def keep_case(m: re.Match[str], rep: str = rep) -> str:
                return rep[0].upper() + rep[1:] if m.group(0)[0].isupper() else rep

            text = re.sub(pat, keep_case, text, flags=re.I)
    return text


def _outside_math(text: str) -> list[tuple[int, int]]:
    """Spans of `text` outside $...$ (where plain-text edits are safe)."""
    spans, last = [], 0
    for m in re.finditer(r"\$[^$]*\$", text):
        spans.append((last, m.start()))
        last = m.end()
    spans.append((last, len(text)))
    return spans


def _digits_to_words(text: str) -> str:
    out, last = [], 0
    for a, b in _outside_math(text):
        out.append(text[last:a])
        seg = text[a:b]
        seg = _NUM_OUTSIDE_MATH.sub(lambda m: WORDS.get(int(m.group(1)), m.group(1)), seg)
        out.append(seg)
        last = b
    out.append(text[last:])
    return "".join(out)


def _question_first(text: str) -> str:
    sents = _SENT.split(text.strip())
    if len(sents) < 2 or "$" in sents[-1] and "$" in sents[0]:
        return text
    return " ".join([sents[-1]] + sents[:-1])


def _swap_middle(text: str, rng: random.Random) -> str:
    sents = _SENT.split(text.strip())
    if len(sents) < 4:
        return text
    i = rng.randrange(1, len(sents) - 2)
    sents[i], sents[i + 1] = sents[i + 1], sents[i]
    return " ".join(sents)


def _names(text: str, rng: random.Random) -> str:
    for name in NAMES:
        if re.search(rf"\b{name}\b", text):
            text = re.sub(rf"\b{name}\b", rng.choice(OTHER_NAMES), text)
    return text


def reword(text: str, family: str, rng: random.Random) -> str:
    """A rewording of `text` by `family` ("dev" or "heldout"): same problem, same numbers."""
    if family == "dev":
        t = _sub_table(text, SYN_A, rng, 0.9)
        op = rng.choice(("digits", "first", "names"))
        t = _digits_to_words(t) if op == "digits" else _question_first(t) if op == "first" else _names(t, rng)
        if rng.random() < 0.5:
            t = f"{rng.choice(PREFIXES)} {t}"
        return t
    t = _sub_table(text, SYN_B, rng, 0.9)
    for f in FILLER:
        t = re.sub(f, "", t, flags=re.I)
    t = _swap_middle(t, rng)
    t = re.sub(r"\band then\b", "and afterwards", t)
    t = re.sub(r"\bIf\b", "Given that", t, count=1)
    return f"{t} {rng.choice(SUFFIXES)}"


INSERTS = ("indeed", "now", "actually", "so", "then", "here")


def densify(text: str, rng: random.Random, every: int = 7) -> str:
    """Insert a filler word after every `every`-th plain word (never inside $...$), which breaks
    most word 13-grams of the original (long formulas keep some): the embeddings must find these."""
    out, plain, in_math = [], 0, False
    for tok in text.split(" "):
        out.append(tok)
        if tok.count("$") % 2:
            in_math = not in_math
        if not in_math and tok.isalpha():
            plain += 1
            if plain % every == 0:
                out.append(rng.choice(INSERTS))
    return " ".join(out)


def _new_value(old: str, taken: set[str], rng: random.Random) -> str:
    base = float(old)
    for _ in range(50):
        if "." in old:
            v = f"{base + rng.choice((-1, 1)) * rng.randint(1, 9) / 10 ** len(old.split('.')[1]):.{len(old.split('.')[1])}f}"
        else:
            v = str(max(int(base) + rng.choice((-1, 1)) * rng.randint(1, 7), 0))
        if v not in taken and v != old and float(v) > 0:
            return v
    return str(int(base) + 97)


def change_numbers(text: str, how: str, rng: random.Random) -> str | None:
    """`text` with one ("one") or every ("all") digit number replaced (every occurrence of a replaced
    value, as a template variable would); None when it states no digit."""
    found = list(_DIGITS.finditer(text))
    if not found:
        return None
    taken = {m.group(0) for m in found}
    values = taken if how == "all" else {rng.choice(found).group(0)}  # every occurrence of a value changes
    mapping = {v: _new_value(v, taken, rng) for v in sorted(values)}
    tset = {(m.start(), m.end()) for m in found if m.group(0) in values}
    out, last = [], 0
    for m in found:
        if (m.start(), m.end()) in tset:
            out.append(text[last : m.start()])
            out.append(mapping[m.group(0)])
            last = m.end()
    out.append(text[last:])
    return "".join(out)


def cases(
    questions: list[tuple[str, str, str]], family: str, seed: int = 0
) -> Iterator[tuple[str, str, str, str]]:
    """(kind, benchmark, id, text) cases from (benchmark, id, question) rows: "verbatim",
    "prefixed", "reworded", and hard negatives "negative_one", "negative_all",
    "negative_reworded" — skipping rewordings that change nothing."""
    rng = random.Random(f"{family}:{seed}")
    norm = lambda s: " ".join(s.lower().split())  # noqa: E731
    for bench, rid, q in questions:
        yield "verbatim", bench, rid, q
        yield "prefixed", bench, rid, f"{rng.choice(PREFIXES)} {q}"
        r = reword(q, family, rng)
        if norm(r) != norm(q):
            yield "reworded", bench, rid, r
        if family == "heldout":
            dense = densify(reword(q, family, rng), rng)
            if len(q.split()) >= 13 and norm(dense) != norm(r):
                yield "reworded_dense", bench, rid, dense
        for how in ("one", "all"):
            neg = change_numbers(q, how, rng)
            if neg is not None:
                yield f"negative_{how}", bench, rid, neg
        neg = change_numbers(reword(q, family, rng), "one", rng)
        if neg is not None:
            yield "negative_reworded", bench, rid, neg
