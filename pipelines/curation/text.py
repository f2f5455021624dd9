"""Text keys shared by every curation check: normalisation, word shingles, n-grams, numbers.

All of them are pure functions of the text, so the same question gives the same keys in a build,
in `reasonmill curate` and in the benchmark index built from the public files.

- `normalise`: Unicode NFKC, case-folded, whitespace collapsed: the key of exact dedup and of the
  exact benchmark match (two questions that differ only in case or spacing are the same).
- `words`: lower-case alphanumeric runs; shingles and n-grams are built from them, so punctuation
  and LaTeX markup do not split a match.
- `numbers`: the set of numbers a question states, digits and English number words alike
  ("three" and "3" are one number, "1,000" is 1000, "2.50" is 2.5). Decontamination uses it to tell
  the same problem reworded (same numbers) from the same template with other numbers.

>>> sorted(numbers("Ten treeks weigh as much as three squigs and 2.50 goolees, in 1,000 days."))
['10', '1000', '2.5', '3']
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from decimal import Decimal, InvalidOperation

import xxhash

_WORD = re.compile(r"[a-z0-9]+")
_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+|[a-z]+(?:-[a-z]+)*|[^\sa-z0-9]")

_UNITS = {
    "zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "dozen": 12,
}  # fmt: skip
# "one" is left out on purpose: it is a pronoun as often as a number ("one of the boxes"), and a
# rewording that writes "a box" for "one box" must not look like a changed number.
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_ORDINALS = {
    "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
    "tenth": 10, "eleventh": 11, "twelfth": 12, "twentieth": 20, "hundredth": 100,
}  # fmt: skip


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace-collapsed text: the key of exact matching.

    >>> normalise("  What IS 2+2? ")
    'what is 2+2?'
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_key(text: str) -> int:
    """64-bit key of the normalised text (exact dedup and exact benchmark matches)."""
    return int.from_bytes(hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=8).digest(), "little")


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words of the normalised text.

    >>> words("Find $x^2$, if x=3.")
    ['find', 'x', '2', 'if', 'x', '3']
    """
    return _WORD.findall(normalise(text))


def shingles(text: str, k: int) -> list[str]:
    """Word `k`-shingles of `text` (the whole text as one shingle when it has fewer than k words)."""
    w = words(text)
    if len(w) < k:
        return [" ".join(w)]
    return [" ".join(w[i : i + k]) for i in range(len(w) - k + 1)]


def h64(s: str) -> int:
    """A stable 64-bit hash of a string (xxh3; the same on every machine and run)."""
    return xxhash.xxh3_64_intdigest(s.encode("utf-8"))


def ngram_hashes(word_list: list[str], n: int) -> list[int]:
    """Hashes of each word `n`-gram of `word_list`, in order (empty when shorter than n)."""
    return [h64(" ".join(word_list[i : i + n])) for i in range(len(word_list) - n + 1)]


def _canonical(number: str) -> str:
    try:
        d = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return number
    d = d.normalize()
    return format(d, "f") if d == d.to_integral_value() or abs(d.as_tuple().exponent) < 30 else str(d)


_SIGNED = re.compile(r"([-\u2212]\s*)?(\d+(?:[.,]\d+)*)")


def number_sequence(text: str) -> tuple[str, ...]:
    """The numbers written in digits, in order, each with its sign: the key two questions must
    share to be duplicates of each other. A set of numbers is not enough there: "x^2 + 2x + 1" and
    "x^2 - 2x + 1", or "6 red and 4 blue" and "4 red and 6 blue", are different problems.

    >>> number_sequence("Solve x^2 - 2x + 1 = 0; draw 5 of 6.")
    ('2', '-2', '1', '0', '5', '6')
    """
    return tuple(("-" if m.group(1) else "") + _canonical(m.group(2)) for m in _SIGNED.finditer(text))


_NAME = re.compile(r"(?<![.!?:\n]\s)(?<!^)(?<![.!?:\n])\b([A-Z][a-z]+)\b")


def content_key(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """What two questions must share to be the same problem: their signed numbers in order
    (`number_sequence`) and the names they mention (capitalised words that do not open a
    sentence). Templated puzzles without digits — knights and knaves, zebra grids — differ in
    their names; a rewording keeps them.

    >>> content_key("You meet Ada and Ben. Ada says: Ben lies.")[1] == frozenset({"Ada", "Ben"})
    True
    """
    return number_sequence(text), frozenset(m.group(1) for m in _NAME.finditer(text))


def numbers(text: str) -> set[str]:
    """Canonical numbers stated in `text`: digit runs (commas and trailing zeros dropped) and
    English number words, compounds included ("twenty-five" → 25, "three hundred and forty" → 340).

    >>> sorted(numbers("twenty-five and three hundred and forty, three four, a seventh-degree one"))
    ['25', '3', '340', '4', '7']
    >>> sorted(numbers("two thousand five hundred; .5 and 0.50"))
    ['0.5', '2500']
    """
    out: set[str] = set()
    total, current, active, after_and = 0, 0, False, False

    def flush() -> None:
        nonlocal total, current, active, after_and
        if active:
            out.add(str(total + current))
        total, current, active, after_and = 0, 0, False, False

    for tok in _TOKEN.findall(normalise(text)):
        if tok[0].isdigit() or (tok[0] == "." and len(tok) > 1):
            flush()
            out.add(_canonical(tok))
            continue
        for part in tok.split("-"):
            if part in _UNITS:
                v = _UNITS[part]
                joins = active and (
                    (current == 0 and total > 0)
                    or (current >= 100 and current % 100 == 0 and v < 100)
                    or (20 <= current % 100 <= 90 and current % 10 == 0 and v < 10 and not after_and)
                )
                if not joins:
                    flush()
                current += v
                active, after_and = True, False
            elif part == "hundred" and active and current:
                current *= 100
                after_and = False
            elif part in _SCALES and active:
                total += (current or 1) * _SCALES[part]
                current, after_and = 0, False
            elif part == "and" and active and (current >= 100 or total) and not after_and:
                after_and = True
            else:
                flush()
                if part in _ORDINALS:
                    out.add(str(_ORDINALS[part]))
    flush()
    return out
