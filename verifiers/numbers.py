"""Plain numbers as exact rationals, under the policy's conventions; bare comma lists.

This is the fast path: integers, decimals, fractions (`3/4`, `\\frac{3}{4}`), thousands
separators, percentages, currency and trailing units are read without sympy, as `Fraction`s, so
most procedural and GSM8K answers never reach math-verify. A reading that needs real math
(`\\sqrt{2}`, `x+1`, intervals) returns None and goes to the slow path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from reasonmill.verifiers.base import VerifyPolicy

_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:/\d+)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_FRAC = re.compile(r"(-?)\\[dt]?frac\{\s*(-?\d+)\s*\}\{\s*(\d+)\s*\}")
_FRAC_SHORT = re.compile(r"(-?)\\[dt]?frac(\d)(\d)")
_UNIT = re.compile(
    r"(?P<num>.*?\d)\s*(?:\\[,;!: ]\s*)*(?P<unit>(?:\\(?:text|mathrm|mbox|textnormal)\s*\{[^{}]*\}\s*|"
    r"\^\s*\{?\\circ\}?|°|(?<=\s)[a-zA-Z][a-zA-Z.]*(?:\s+[a-zA-Z][a-zA-Z.]*){0,2}|[a-zA-Z]{2,}\.?)(?:\^?\{?[23]\}?)?)$"
)
_PERCENT = re.compile(r"(?:\\\\%|\\%|%|\s*\\text\{\s*\\?%\s*\}|\s+percent)$")
_ASSIGN = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?\s*=\s*(?=[-+$\\\d.])")
_CURRENCY = re.compile(r"^(?:\\\$|\\\\\$|\$|€|£|¥|USD\s*)")


# Letters after a number that are math, not units.
_NOT_UNITS = {
    "pi",
    "sqrt",
    "log",
    "ln",
    "sin",
    "cos",
    "tan",
    "exp",
    "mod",
    "choose",
    "x",
    "y",
    "z",
    "n",
    "k",
    "i",
    "e",
    "t",
}


@dataclass(frozen=True, slots=True)
class PlainNumber:
    """A plain number's candidate values (a percentage may read two ways) and its unit ('' if none)."""

    values: tuple[Fraction, ...]
    unit: str


def _unit_key(unit: str) -> str:
    u = re.sub(r"\\(?:text|mathrm|mbox|textnormal)\s*\{([^{}]*)\}", r"\1", unit)
    u = u.replace("^\\circ", "°").replace("^{\\circ}", "°").replace("\\circ", "°")
    u = u.strip().strip(".").lower()
    return u[:-1] if len(u) > 3 and u.endswith("s") else u  # "dollars" == "dollar"


def read_number(text: str, policy: VerifyPolicy) -> PlainNumber | None:
    """`text` as a plain number under `policy`, or None when it needs real math.

    >>> read_number("50\\\\%", VerifyPolicy()).values
    (Fraction(1, 2), Fraction(50, 1))
    >>> read_number("1,234", VerifyPolicy()).values
    (Fraction(1234, 1),)
    >>> read_number("\\\\sqrt{2}", VerifyPolicy()) is None
    True
    """
    t = text.strip().strip("$").strip()
    t = t.replace("\u2212", "-").replace("{,}", ",").replace("\\!", "").replace("~", " ")
    t = re.sub(r"^\\(?:left|right)?\s*", "", t) if t.startswith("\\left") else t
    t = _ASSIGN.sub("", t, count=1)  # "x = 5" reads as 5, as math-verify does
    unit = ""
    cur = _CURRENCY.match(t)
    if cur:
        unit = "$"
        t = t[cur.end() :].strip()
    elif re.match(r"^-\s*(?:\\\$|\$)", t):
        unit = "$"
        t = "-" + re.sub(r"^-\s*(?:\\\$|\$)", "", t)
    percent = False
    m = _PERCENT.search(t)
    if m:
        percent = True
        t = t[: m.start()].strip()
    if not (_PLAIN.fullmatch(t) or _THOUSANDS.fullmatch(t) or _FRAC.fullmatch(t) or _FRAC_SHORT.fullmatch(t)):
        um = _UNIT.fullmatch(t)
        if um and _unit_key(um.group("unit")) in _NOT_UNITS:
            return None  # "2pi", "3 x": math, not a quantity with a unit
        if um:
            t = um.group("num").strip()
            unit = unit or _unit_key(um.group("unit"))
            m = _PERCENT.search(t)
            if m:
                percent, t = True, t[: m.start()].strip()
    t = t.replace("\\,", ",") if _THOUSANDS.fullmatch(t.replace("\\,", ",")) else t.replace("\\,", "")
    value: Fraction | None = None
    fm = _FRAC.fullmatch(t) or _FRAC_SHORT.fullmatch(t)
    if fm:
        den = int(fm.group(3))
        if den == 0:
            return None
        value = Fraction(int(fm.group(2)), den) * (-1 if fm.group(1) else 1)
    else:
        if _THOUSANDS.fullmatch(t):
            if not policy.thousands_separators:
                return None
            t = t.replace(",", "")
        if not _PLAIN.fullmatch(t):
            return None
        try:
            value = Fraction(t)
        except (ValueError, ZeroDivisionError):
            return None
    if not percent:
        return PlainNumber((value,), unit)
    if policy.percent == "fraction":
        return PlainNumber((value / 100,), unit)
    if policy.percent == "number":
        return PlainNumber((value,), unit)
    return PlainNumber((value / 100, value), unit)


def numbers_equal(gold: PlainNumber, pred: PlainNumber, policy: VerifyPolicy) -> bool:
    """True when some reading of `pred` equals some reading of `gold` within the policy's tolerance,
    and, when the policy keeps units, the units agree."""
    if not policy.strip_units and gold.unit != pred.unit:
        return False
    return any(close(g, p, policy) for g in gold.values for p in pred.values)


def close(a: Fraction, b: Fraction, policy: VerifyPolicy) -> bool:
    """Exact equality, or |a-b| <= max(abs_tol, rel_tol*max(|a|,|b|))."""
    if a == b:
        return True
    allowed = max(Fraction(policy.abs_tol), Fraction(policy.rel_tol) * max(abs(a), abs(b)))
    return abs(a - b) <= allowed


_OPEN, _CLOSE = "([{", ")]}"


def split_list(text: str, policy: VerifyPolicy) -> list[str] | None:
    """The elements of a bare top-level comma list ("3, 1, 2"), or None when `text` is not one.

    Commas inside brackets, braces or `\\left(...\\right)` do not split; "1,234" is one number
    when the policy reads thousands separators. A bracketed tuple "(1, 2)" is not a bare list.

    >>> split_list("3, 1, 2", VerifyPolicy())
    ['3', '1', '2']
    >>> split_list("1,234", VerifyPolicy()) is None
    True
    """
    t = text.strip().strip("$").strip()
    if "," not in t:
        return None
    if policy.thousands_separators and _THOUSANDS.fullmatch(t.replace("{,}", ",")):
        return None
    if "{,}" in t:
        return None
    parts, depth, cur = [], 0, []
    i = 0
    while i < len(t):
        c = t[i]
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        if c == "," and depth == 0 and not t[max(0, i - 1) : i] == "\\":
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur).strip())
    if len(parts) < 2 or any(not p for p in parts):
        return None
    return parts
