"""Plain numbers as exact rationals, under the policy's conventions.

This is the fast path of the math verifier and the whole of the numeric one: integers, decimals,
fractions (`3/4`, `\\frac{3}{4}`, `\\frac34`), mixed numbers (`1 1/2`, `1\\frac{1}{2}`),
thousands separators (`1,234`, `1{,}234`, `1,\\!234`, `1\\,234`, `1 234`, thin spaces),
scientific notation (`6.02e23`, `6.02 \\times 10^{23}`, `10^{12}`), repeating decimals
(`0.\\overline{3}`), percentages, currency and trailing units are read without sympy, as
`Fraction`s, so most procedural and GSM8K answers never reach math-verify. A reading that needs
real math (`\\sqrt{2}`, `x+1`, intervals) returns None and goes to the slow path.

Every value is exact: "3088508209" is never "close enough" to "3088508208". The policy's
tolerance applies only when one side is a non-integer decimal (`PlainNumber.exact` False) and
never makes two integer values equal (`close`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from reasonmill.verifiers.base import VerifyPolicy

# Digit-group separators inside one number: comma, LaTeX thin space, plain / thin / no-break space.
_GROUP = r"(?:,|\\,|\\ |\\;|\\:|[ \u00a0\u2009\u202f])"
_THOUSANDS = re.compile(rf"[+-]?[1-9]\d{{0,2}}(?:{_GROUP}\d{{3}})+(?:\.\d+)?")
_THOUSANDS_COMMA = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
_DECIMAL = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN = re.compile(rf"[+-]?{_DECIMAL}")
_SLASH = re.compile(r"([+-]?)(\d+)\s*/\s*(\d+)")
_FRAC = re.compile(r"([+-]?)\\frac\s*\{\s*([+-]?)\s*(\d+)\s*\}\s*\{\s*([+-]?)\s*(\d+)\s*\}")
_FRAC_SHORT = re.compile(r"([+-]?)\\frac\s*(\d)\s*(\d)")
_MIXED = re.compile(
    r"([+-]?)(\d+)(?:\s+(\d+)\s*/\s*(\d+)|\s*\\frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}|\s*\\frac\s*(\d)(\d))"
)
_SCI = re.compile(
    rf"([+-]?{_DECIMAL})\s*(?:[eE]\s*([+-]?\d+)|(?:\\times|\\cdot|×|\*|x)\s*10\s*\^\s*\{{?\s*([+-]?\d+)\s*\}}?)"
)
_POW10 = re.compile(r"([+-]?)10\s*\^\s*\{?\s*([+-]?\d+)\s*\}?")
_REPEAT = re.compile(r"([+-]?)(\d*)\.(\d*)\\overline\s*\{?\s*(\d+)\s*\}?")
_DEC_COMMA = re.compile(r"([+-]?\d+),(\d+)")
_UNIT = re.compile(
    r"(?P<num>.*?[\d}])\s*(?:\\[,;!: ]\s*)*(?P<unit>(?:\\(?:text|mathrm|mbox|textnormal|textrm|textbf|textit)\s*\{[^{}]*\}\s*|"
    r"\^\s*\{?\\circ\}?|°|(?<=\s)[a-zA-Z][a-zA-Z.]*(?:\s+[a-zA-Z][a-zA-Z.]*){0,2}|[a-zA-Z]{2,}\.?|[a-zA-Z](?=[²³]))"
    r"(?:\^?\{?[23]\}?|[²³])?)$"
)
_PERCENT = re.compile(r"(?:\\\\%|\\%|%|\s*\\text\{\s*\\?%\s*\}|\s+percent|\s+per\s*cent)$")
_ASSIGN = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?\s*(?:=|\\approx)\s*(?=[-+$\\\d.€£¥])")
_CURRENCY = re.compile(r"^(?:\\\$|\\\\\$|\$|€|£|¥|₹|USD\s*|Rs\.?\s*)")
_CURRENCY_SUFFIX = re.compile(r"(?<=[\d.])\s*(?:\\\$|\$|€|£|¥|₹)$")
_WRAPPERS = re.compile(r"^\\\(|\\\)$|^\\\[|\\\]$")
_MAX_EXPONENT = 400

# Letters after a number that are math, not units.
_NOT_UNITS = frozenset(
    "pi sqrt log ln sin cos tan exp mod choose x y z n k i e t a b c d r s m_ infty".split()
)


@dataclass(frozen=True, slots=True)
class PlainNumber:
    """A plain number's candidate values (a percentage may read two ways), its unit ('' if none),
    and whether it was written exactly (integer, fraction, repeating decimal) or as a decimal."""

    values: tuple[Fraction, ...]
    unit: str
    exact: bool = True


def _unit_key(unit: str) -> str:
    u = re.sub(r"\\(?:text|mathrm|mbox|textnormal|textrm)\s*\{([^{}]*)\}", r"\1", unit)
    u = u.replace("^\\circ", "°").replace("^{\\circ}", "°").replace("\\circ", "°")
    u = u.strip().strip(".").lower()
    return u[:-1] if len(u) > 3 and u.endswith("s") else u  # "dollars" == "dollar"


def tidy(text: str) -> str:
    """Math delimiters, `\\left`/`\\right`, `\\!`, `{,}`, `\\dfrac`, unicode minus: gone or plain.

    >>> tidy("$1{,}000\\\\!$")
    '1,000'
    """
    t = text.strip()
    while True:
        s = t.strip().strip("$").strip()
        s = _WRAPPERS.sub("", s).strip()
        s = s[:-1].strip() if s.endswith(".") and not s.endswith("..") else s
        if s == t:
            break
        t = s
    t = t.replace("\u2212", "-").replace("{,}", ",").replace("\\!", "").replace("~", " ")
    t = re.sub(r"\\(?:left|right|displaystyle)\b\s*", "", t)
    t = re.sub(r"\\[dtc]frac", r"\\frac", t)
    return t.strip()


_LONG_INT = re.compile(r"[+-]?\d{4000,100000}")


def _int(digits: str) -> int:
    """`int(digits)` past Python's 4300-digit conversion limit, in 4000-digit chunks."""
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    value = 0
    for i in range(0, len(digits), 4000):
        chunk = digits[i : i + 4000]
        value = value * 10 ** len(chunk) + int(chunk)
    return sign * value


def _core(t: str, policy: VerifyPolicy, decimal_comma: bool) -> tuple[Fraction, bool] | None:
    """The value of a bare number `t` (no unit, currency or percent) and whether it is exact."""
    if _LONG_INT.fullmatch(t):
        return Fraction(_int(t)), True
    if _PLAIN.fullmatch(t):
        if len(t) > 4000:
            return None
        return Fraction(t), "." not in t
    m = _THOUSANDS.fullmatch(t)
    if m:
        if not policy.thousands_separators:
            return None
        digits = re.sub(_GROUP, "", t)
        return Fraction(digits), "." not in digits
    m = _FRAC.fullmatch(t) or None
    if m:
        num, den = int(m.group(3)), int(m.group(5))
        if den == 0:
            return None
        neg = (m.group(1) == "-") ^ (m.group(2) == "-") ^ (m.group(4) == "-")
        return Fraction(-num if neg else num, den), True
    m = _FRAC_SHORT.fullmatch(t) or _SLASH.fullmatch(t)
    if m:
        den = int(m.group(3))
        if den == 0:
            return None
        return Fraction(int(m.group(2)), den) * (-1 if m.group(1) == "-" else 1), True
    m = _MIXED.fullmatch(t)
    if m:
        if not policy.mixed_numbers:
            return None
        whole = int(m.group(2))
        num, den = next((int(m.group(i)), int(m.group(i + 1))) for i in (3, 5, 7) if m.group(i))
        if den == 0 or num >= den:
            return None  # "1 3/2" is no mixed number: leave it to math-verify
        return (whole + Fraction(num, den)) * (-1 if m.group(1) == "-" else 1), True
    m = _SCI.fullmatch(t)
    if m:
        exp = int(m.group(2) or m.group(3))
        if abs(exp) > _MAX_EXPONENT:
            return None
        mant = Fraction(m.group(1))
        return mant * Fraction(10) ** exp, "." not in m.group(1)
    m = _POW10.fullmatch(t)
    if m:
        exp = int(m.group(2))
        if abs(exp) > _MAX_EXPONENT:
            return None
        return Fraction(10) ** exp * (-1 if m.group(1) == "-" else 1), True
    m = _REPEAT.fullmatch(t)
    if m:
        whole, fixed, rep = m.group(2) or "0", m.group(3), m.group(4)
        # 0.1(6) = (16 - 1) / 90: the standard conversion of a repeating decimal
        base = Fraction(int(whole + fixed) if fixed else int(whole), 10 ** len(fixed))
        value = base + Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
        return value * (-1 if m.group(1) == "-" else 1), True
    if decimal_comma and policy.decimal_comma:
        m = _DEC_COMMA.fullmatch(t)
        if m and not _THOUSANDS_COMMA.fullmatch(t):
            return Fraction(f"{m.group(1)}.{m.group(2)}"), False
    return None


def read_number(text: str, policy: VerifyPolicy, decimal_comma: bool = False) -> PlainNumber | None:
    """`text` as a plain number under `policy`, or None when it needs real math.

    `decimal_comma=True` lets "1000,99" read as a decimal (only asked for when the gold is a
    single number, so "3,5" against a list stays a list).

    >>> read_number("50\\\\%", VerifyPolicy()).values
    (Fraction(1, 2), Fraction(50, 1))
    >>> read_number("1,234", VerifyPolicy()).values
    (Fraction(1234, 1),)
    >>> read_number("6.02 \\\\times 10^{23}", VerifyPolicy()).values == (Fraction(602) * 10**21,)
    True
    >>> read_number("\\\\sqrt{2}", VerifyPolicy()) is None
    True
    """
    if len(text) > 200 and not _LONG_INT.fullmatch(text.strip().strip("$ ")):
        return None
    t = tidy(text)
    t = _ASSIGN.sub("", t, count=1)  # "x = 5" reads as 5, as math-verify does
    unit = ""
    cur = _CURRENCY.match(t)
    if cur:
        unit = "$"
        t = t[cur.end() :].strip()
    elif re.match(r"^[-+]\s*(?:\\\$|\$|€|£)", t):
        unit = "$"
        t = t[0] + re.sub(r"^[-+]\s*(?:\\\$|\$|€|£)", "", t)
    suffix = _CURRENCY_SUFFIX.search(t)
    if suffix and not unit:
        unit, t = "$", t[: suffix.start()].strip()
    percent = False
    m = _PERCENT.search(t)
    if m:
        percent, t = True, t[: m.start()].strip()
    core = _core(t, policy, decimal_comma)
    if core is None:
        um = _UNIT.fullmatch(t)
        if um is None:
            return None
        key = _unit_key(um.group("unit"))
        if key in _NOT_UNITS or not key:
            return None  # "2pi", "3 x": math, not a quantity with a unit
        t = um.group("num").strip()
        unit = unit or key
        m = _PERCENT.search(t)
        if m:
            percent, t = True, t[: m.start()].strip()
        core = _core(t, policy, decimal_comma)
        if core is None:
            return None
    value, exact = core
    if not percent:
        return PlainNumber((value,), unit, exact)
    if policy.percent == "fraction":
        return PlainNumber((value / 100,), unit, exact)
    if policy.percent == "number":
        return PlainNumber((value,), unit, exact)
    return PlainNumber((value / 100, value), unit, exact)


def numbers_equal(gold: PlainNumber, pred: PlainNumber, policy: VerifyPolicy) -> bool:
    """True when some reading of `pred` equals some reading of `gold` (see `close`), and, when the
    policy keeps units, the units agree."""
    if not policy.strip_units and gold.unit != pred.unit:
        return False
    exact = gold.exact and pred.exact
    return any(close(g, p, policy, exact) for g in gold.values for p in pred.values)


def close(a: Fraction, b: Fraction, policy: VerifyPolicy, exact: bool = False) -> bool:
    """Exact equality; or, when one side was written as a decimal (`exact` False) and the two are
    not different integers, |a-b| <= max(abs_tol, rel_tol*max(|a|,|b|)).

    >>> close(Fraction(3088508208), Fraction(3088508209), VerifyPolicy())
    False
    >>> close(Fraction(1, 3), Fraction("0.3333333333333"), VerifyPolicy())
    True
    """
    if a == b:
        return True
    if exact or (a.denominator == 1 and b.denominator == 1):
        return False
    allowed = max(Fraction(policy.abs_tol), Fraction(policy.rel_tol) * max(abs(a), abs(b)))
    return abs(a - b) <= allowed


_OPEN, _CLOSE = "([{", ")]}"


def split_top(text: str, seps: str = ",") -> list[str]:
    """`text` split at separators outside brackets, braces and `\\left...\\right` (`\\,` never splits)."""
    parts, depth, cur = [], 0, []
    for i, c in enumerate(text):
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        if c in seps and depth == 0 and text[max(0, i - 1) : i] != "\\":
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur).strip())
    return parts


def split_list(text: str, policy: VerifyPolicy) -> list[str] | None:
    """The elements of a bare top-level comma list ("3, 1, 2"), or None when `text` is not one.

    Commas inside brackets, braces or `\\left(...\\right)` do not split; "1,234" is one number
    when the policy reads thousands separators. A bracketed tuple "(1, 2)" is not a bare list.

    >>> split_list("3, 1, 2", VerifyPolicy())
    ['3', '1', '2']
    >>> split_list("1,234", VerifyPolicy()) is None
    True
    """
    t = tidy(text)
    if "," not in t:
        return None
    if policy.thousands_separators and _THOUSANDS.fullmatch(t):
        return None
    parts = split_top(t)
    if len(parts) < 2 or any(not p for p in parts):
        return None
    return parts
