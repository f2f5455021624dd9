"""Rewrite an extracted answer into the LaTeX math-verify reads correctly, before it parses it.

math-verify (with latex2sympy) misreads several ways models write answers; each rewrite here is
one of those, and each is tested in tests/verifiers/test_failure_classes.py:

- `x**2` (Python's power, reasoning-gym's polynomials) is read as `x*2` or cut at `**`: -> `x^2`;
- plain-text `sqrt(3)`, `pi`, `oo` are read as a number only ("2 - sqrt(5)" gives 2) -> LaTeX;
- `6.02e23` is read as 6.02 -> `6.02\\times 10^{23}`;
- `0.\\overline{3}` is read as 0 -> `\\frac{1}{3}`; `1 1/2` as 1 -> `\\frac{3}{2}` (mixed numbers,
  under `VerifyPolicy.mixed_numbers`); `1{,}000` and `1,\\!000` as 1 -> `1000`;
- `^\\circ` inside a trig argument is dropped, so `\\sin(90^\\circ - x)` is `\\sin(90 - x)` ->
  radians (`VerifyPolicy.trig_degrees`);
- math-verify's unit stripping removes a trailing single letter after a number ("2t" reads as
  2, "x+2h" as x+2), which accepts wrong answers; the verifier turns that normalisation off and
  strips units here instead: a trailing `\\text{...}` word group (`split_unit`).
"""

from __future__ import annotations

import re

from reasonmill.verifiers.base import VerifyPolicy
from reasonmill.verifiers.numbers import read_number

_POWER = re.compile(r"(?<=[\w)\]}.])\s*\*\*\s*(?=[\w(\[{+\-.\\])")
_PLAIN_FUNC = re.compile(r"\b(sqrt|exp|pi|oo|infinity|a?sin|a?cos|a?tan|cot|sec|csc|log|ln)\b")
_FUNC_LATEX = {
    "pi": "\\pi",
    "oo": "\\infty",
    "infinity": "\\infty",
    "asin": "\\arcsin",
    "acos": "\\arccos",
    "atan": "\\arctan",
}
_OPERATORNAME = re.compile(r"\\operatorname\{(a?)(sin|cos|tan)\}")
_SCI_E = re.compile(r"(?<![\w.\\])(\d+(?:\.\d+)?)[eE]([+-]?\d+)(?![\w.])")
_REPEAT = re.compile(r"(?<![\w.])(\d*)\.(\d*)\\overline\s*\{\s*(\d+)\s*\}")
_GROUPED = re.compile(r"(?<![\w.])\d{1,3}(?:(?:\{,\}|,\\!|\\,|[\u2009\u202f])\d{3})+(?!\d)")
_LEADING_DOT = re.compile(r"(^|[^\w.}])\.(?=\d)")
_CURRENCY = re.compile(r"^[-+]?\s*(?:\\\$|€|£|¥|₹)")
_TRIG = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)\b")
_DEGREE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°)")
_UNIT_TAIL = re.compile(
    r"^(?P<value>.*?[\w})\]])\s*(?:\\[,;:! ]\s*)*(?P<unit>\\(?:text|mbox|mathrm|textnormal|textrm|textbf|textit)\s*\{\s*[A-Za-z][A-Za-z .]*\}"
    r"(?:\s*\^\s*\{?[23]\}?)?)\s*$"
)


def plain_to_latex(text: str) -> str:
    """Plain-text math ("2 - sqrt(3)", "pi/2") written as LaTeX ("2 - \\sqrt{3}", "\\pi/2").

    math-verify reads LaTeX; given "2 - sqrt(5)" it returns 2, so "2 - sqrt(3)" would equal
    "2 - sqrt(5)". Text that already holds a backslash is left alone.

    >>> plain_to_latex("2*sqrt(3)/3")
    '2*\\\\sqrt{3}/3'
    """
    if "\\" in text or not _PLAIN_FUNC.search(text):
        return text
    out, i = [], 0
    while i < len(text):
        m = (
            _PLAIN_FUNC.match(text, i)
            if (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))
            else None
        )
        if m is None:
            out.append(text[i])
            i += 1
            continue
        word = m.group(1)
        j = m.end()
        if word in ("sqrt", "exp") and j < len(text) and text[j] == "(":
            depth, k = 0, j
            while k < len(text):
                depth += {"(": 1, ")": -1}.get(text[k], 0)
                if depth == 0:
                    break
                k += 1
            inner = plain_to_latex(text[j + 1 : k])
            out.append(("\\sqrt{" if word == "sqrt" else "e^{") + inner + "}")
            i = k + 1
        elif word in ("sqrt", "exp"):
            out.append(text[i:j])
            i = j
        else:
            out.append(_FUNC_LATEX.get(word, "\\" + word) + " ")
            i = j
    return "".join(out)


def split_unit(text: str) -> tuple[str, str]:
    """A trailing `\\text{...}` unit split off: ("2\\sqrt{3}", "cm") from "2\\sqrt{3}\\text{ cm}".

    Only a unit after a value is split; a whole answer in `\\text{}` ("\\text{Evelyn}") stays.
    """
    t = text.strip()
    cur = _CURRENCY.match(t)
    if cur and re.match(r"\s*[\d.]", t[cur.end() :]):
        return t[cur.end() :].strip(), "$"
    m = _UNIT_TAIL.match(t)
    if not m or not re.search(r"[\d}]", m.group("value")):
        return text, ""
    unit = re.sub(r"\\\w+\s*\{([^{}]*)\}", r"\1", m.group("unit"))
    unit = unit.strip().strip(".").lower()
    return m.group("value").strip(), unit[:-1] if len(unit) > 3 and unit.endswith("s") else unit


def _repeat_to_frac(m: re.Match[str]) -> str:
    whole, fixed, rep = m.group(1) or "0", m.group(2), m.group(3)
    value = read_number(f"{whole}.{fixed}\\overline{{{rep}}}", VerifyPolicy())
    if value is None:
        return m.group(0)
    v = value.values[0]
    return f"\\frac{{{v.numerator}}}{{{v.denominator}}}"


def prepare(answer: str, policy: VerifyPolicy) -> str:
    """`answer` rewritten for math-verify (see the module docstring); units are not touched.

    >>> prepare("69*y**2 + 3*y", VerifyPolicy())
    '69*y^2 + 3*y'
    >>> prepare("\\\\sin(90^\\\\circ - x)", VerifyPolicy())
    '\\\\sin(\\\\frac{90\\\\pi}{180} - x)'
    """
    t = answer.replace("\n", " ").replace("\u2212", "-")
    t = _LEADING_DOT.sub(r"\g<1>0.", t)
    t = t.replace("\\varnothing", "\\emptyset")
    if "**" in t:
        t = _POWER.sub("^", t)
    t = plain_to_latex(t)
    if "operatorname" in t:
        t = _OPERATORNAME.sub(lambda m: ("\\arc" if m.group(1) else "\\") + m.group(2), t)
    if "e" in t or "E" in t:
        t = _SCI_E.sub(r"\1\\times 10^{\2}", t)
    if "overline" in t:
        t = _REPEAT.sub(_repeat_to_frac, t)
    if policy.thousands_separators and (
        "{,}" in t or "\\!" in t or "\\," in t or "\u2009" in t or "\u202f" in t
    ):
        t = _GROUPED.sub(lambda m: re.sub(r"\D", "", m.group(0)), t)
    if policy.trig_degrees and _TRIG.search(t) and ("circ" in t or "°" in t):
        t = _DEGREE.sub(r"\\frac{\1\\pi}{180}", t)
    if policy.mixed_numbers:
        value = read_number(t, policy) if re.search(r"\d\s*(?:\\frac|\s\d+\s*/)", t) else None
        if value is not None and len(value.values) == 1:
            v = value.values[0]
            t = f"\\frac{{{v.numerator}}}{{{v.denominator}}}" if v.denominator != 1 else str(v.numerator)
    return t.strip()
