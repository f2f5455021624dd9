"""Math equivalence on math-verify's own machinery, with the fixes it needs on top; gold first.

Pipeline for one (gold, prediction) pair (`MathEquivalence.check`):

1. identical texts pass (a gold that cannot be read at all is `unverifiable`, even against itself);
2. a gold that is a whole solution (a box inside text, GSM8K's "####", an answer line) is read
   down to its answer with the same extractor as predictions (`gold_answer`);
3. the prediction's final answer is located (`reasonmill.verifiers.extract`); the last-number
   fallback only ever grades a gold that is a plain number;
4. `equivalent(gold, answer)`: equal strings; multi-part answers part by part
   (`reasonmill.verifiers.lists`); plain numbers as exact rationals (`numbers`, the fast path,
   which tests/verifiers/test_fast_path.py proves gives the slow path's verdict); everything
   else through math-verify: `parse` with its `LatexExtractionConfig` (boxed first) — falling
   back to its `ExprExtractionConfig` only when that reads the whole answer — and `verify`, with
   the parsed gold cached per gold string;
5. fixes on top of math-verify's verdict: integers and exact rationals compare exactly (a float
   rounding never makes two integers equal), a column vector equals the tuple of its entries,
   `i` is the imaginary unit when both sides use it, units must agree when the policy keeps them.

Before math-verify parses an answer, `reasonmill.verifiers.mathprep.prepare` rewrites what it
misreads (`x**2`, `sqrt(3)`, `6.02e23`, `0.\\overline{3}`, degrees inside trig functions), and
its unit-stripping normalisation is off ("2t" is not 2; trailing `\\text{}` units are split off
here instead), and so are its "nits" (which turn "0.5" into an exact 1/2).

math-verify's own timeout is a `signal.alarm` that works only on a main thread and, when it
fires, is swallowed into `False` (a timeout would read as "wrong"). So this module disables it
and puts its own deadline around each call, raising `MathTimeout` — a BaseException that
math-verify's `except Exception` cannot swallow — which becomes a `timeout` verdict. Off the main
thread no alarm is possible; the worker pool (`reasonmill.verifiers.pool`) runs checks on worker
main threads and its hard per-item timeout stands behind everything.

Each grader is a plain function `(gold, answer, policy) -> bool | None` (None: not applicable),
so `reasonmill.verifiers.audit` can run them side by side.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from functools import lru_cache
from typing import Any

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy
from reasonmill.verifiers.exact import normalise
from reasonmill.verifiers.extract import _clean, _fallback, extract, first_number, prose_words
from reasonmill.verifiers.lists import Parts, answer_parts, parts_match, single_assignment_tuple
from reasonmill.verifiers.mathprep import plain_to_latex, prepare, split_unit
from reasonmill.verifiers.numbers import PlainNumber, numbers_equal, read_number, split_top, tidy

__all__ = [
    "GoldUnparseable",
    "MathEquivalence",
    "MathTimeout",
    "deadline",
    "equivalent",
    "gold_answer",
    "grade_fast",
    "grade_math_verify",
    "grade_string",
    "grade_sympy",
    "parse_answer",
    "parse_gold",
    "plain_to_latex",
    "prose_to_number",
]

_BASE_NUMERAL = re.compile(r"^([0-9A-Za-z]+)_\{?\(?(\d{1,2})\)?\}?$")
_IMAGINARY = re.compile(r"(?<![A-Za-z\\])i(?![A-Za-z])")
_BRACED = re.compile(r"^\\\{(.*)\\\}$", re.S)


class MathTimeout(BaseException):
    """A math check ran past its deadline (BaseException so no `except Exception` swallows it)."""


class GoldUnparseable(Exception):
    """The gold answer could not be parsed: the item is unverifiable, not wrong."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise `MathTimeout` after `seconds` on the main thread; a no-op elsewhere (the pool's hard
    timeout covers threads). Nested deadlines keep the outer one."""
    if (
        threading.current_thread() is not threading.main_thread()
        or seconds <= 0
        or signal.getitimer(signal.ITIMER_REAL)[0] > 0
    ):
        yield
        return

    def _fire(signum: int, frame: Any) -> None:
        raise MathTimeout(f"math check exceeded {seconds:g}s")

    old = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@lru_cache(maxsize=1)
def extraction_targets() -> tuple[Any, ...]:
    """math-verify's extraction configs as this verifier uses them: LaTeX with boxed answers first
    and its normalisation minus unit stripping, then plain expressions."""
    import math_verify.grader
    import math_verify.parser
    from latex2sympy2_extended.latex2sympy2 import NormalizationConfig
    from math_verify import ExprExtractionConfig, LatexExtractionConfig

    # math-verify warns once that its own timeout is off; we run our own deadline instead.
    math_verify.grader.TIMEOUT_WARNING_SHOWN = True
    math_verify.parser.TIMEOUT_WARNING_SHOWN = True
    norm = NormalizationConfig(
        basic_latex=True, units=False, malformed_operators=True, nits=False, boxed="all", equations=False
    )
    return (LatexExtractionConfig(boxed_match_priority=0, normalization_config=norm), ExprExtractionConfig())


def _silence_math_verify() -> None:
    extraction_targets()


def _is_math(x: Any) -> bool:
    from sympy import Basic, MatrixBase

    return isinstance(x, (Basic, MatrixBase))


@lru_cache(maxsize=16384)
def mv_parse(answer: str) -> tuple[Any, ...]:
    """math-verify's parse of a prepared answer: its LaTeX extraction; its expression extraction
    only when that reads the whole answer (never a number picked out of a larger expression)."""
    from math_verify import parse

    latex, expr = extraction_targets()
    text = answer.replace("\n", " ").replace("$", "\\$") if "$" in answer else answer.replace("\n", " ")
    parsed = tuple(parse(f"${text}$", extraction_config=[latex], parsing_timeout=None))
    if any(_is_math(x) for x in parsed) or "\\" in answer:
        return parsed
    alt = tuple(parse(answer, extraction_config=[expr], parsing_timeout=None))
    if len(alt) == 2 and _is_math(alt[0]) and re.sub(r"\s", "", str(alt[1])) == re.sub(r"\s", "", answer):
        return alt
    return parsed


def _for_math_verify(text: str, policy: VerifyPolicy) -> tuple[str, str]:
    value, unit = split_unit(tidy(text))
    tuple_form = single_assignment_tuple(value)
    return prepare(tuple_form or value, policy), unit


@lru_cache(maxsize=16384)
def _parse_gold_cached(gold: str, policy_json: str) -> tuple[tuple[Any, ...], str]:
    policy = VerifyPolicy.model_validate_json(policy_json)
    text, unit = _for_math_verify(gold, policy)
    parsed = mv_parse(text)
    # Only raw-string fallbacks back means math-verify found no math in the gold.
    if not any(_is_math(x) for x in parsed):
        raise GoldUnparseable(f"math-verify could not parse gold {gold[:80]!r}")
    return parsed, unit


def parse_gold(gold: str, policy: VerifyPolicy | None = None) -> tuple[Any, ...]:
    """math-verify's parse of a gold answer, cached per gold string; raises `GoldUnparseable`."""
    return _parse_gold_cached(gold, (policy or VerifyPolicy()).model_dump_json())[0]


def parse_answer(answer: str, policy: VerifyPolicy | None = None) -> tuple[Any, ...]:
    """math-verify's parse of an extracted answer (empty or string-only when it finds no math)."""
    return mv_parse(_for_math_verify(answer, policy or VerifyPolicy())[0])


def prose_to_number(answer: str) -> str:
    """A sentence answer ("Janet makes 18 dollars a day") read down to its last number, or to the
    structure that number sits in; any other answer unchanged ("x = 5" and LaTeX stay)."""
    if prose_words(answer) >= 2 or (prose_words(answer) == 1 and read_number(answer, VerifyPolicy()) is None):
        found = _fallback(answer, last_number=True)
        if found is not None:
            return found.answer
    return answer


@lru_cache(maxsize=16384)
def gold_answer(gold: str) -> str:
    """The answer a gold states: a gold that is a whole solution (a box inside text, "#### 72", an
    answer line) is read with the prediction extractor; a bare gold loses only its `$` delimiters.

    >>> gold_answer("so the total is $\\\\boxed{12}$ apples.")
    '12'
    >>> gold_answer("Natalia sold 48 clips.\\n#### 72")
    '72'
    """
    g = gold.strip()
    if "\\boxed" in g or "\\fbox" in g or "####" in g or "\n" in g or prose_words(g) > 4:
        found = extract(g, last_number=False)
        if found is not None and found.method not in ("last_math",):
            return found.answer
        if "\\boxed" in g or "\\fbox" in g or "####" in g:
            return g
    cleaned = _clean(g)
    return cleaned or g


# --- graders: (gold, answer, policy) -> True / False / None (not applicable) -------------------


def grade_string(gold: str, answer: str, policy: VerifyPolicy) -> bool:
    """Equal after normalisation (whitespace, \\text{}, final period; case under the policy)."""
    return normalise(answer, policy.case_sensitive) == normalise(gold, policy.case_sensitive)


def grade_fast(gold: str, answer: str, policy: VerifyPolicy) -> bool | None:
    """Plain numbers compared as exact rationals; None when either side is not a plain number."""
    g = read_number(gold, policy)
    if g is None:
        return None
    p = read_number(prose_to_number(answer), policy, decimal_comma=True)
    if p is None:
        return None
    return numbers_equal(g, p, policy)


def _exact_value(x: Any) -> Any:
    """A sympy Rational (Integer included) when `x` is an exact number, else None."""
    from sympy import Rational

    try:
        v = x.doit() if hasattr(x, "doit") else x
    except Exception:
        return None
    if isinstance(v, Rational):
        return v
    return None


def _integer_valued_float(x: Any) -> bool:
    from sympy import Float

    return isinstance(x, Float) and x == int(x) if isinstance(x, Float) else False


def _vector_entries(x: Any) -> list[Any] | None:
    from sympy import FiniteSet, Interval, MatrixBase, Tuple

    if isinstance(x, MatrixBase) and 1 in x.shape:
        return list(x)
    if isinstance(x, Tuple):
        return list(x.args)
    if isinstance(x, Interval) and x.left_open and x.right_open:
        return [x.start, x.end]
    if isinstance(x, FiniteSet):
        return list(getattr(x, "_unsorted_args", x.args))
    return None


def _plain_number(x: Any, policy: VerifyPolicy) -> PlainNumber | None:
    """A parsed value that is a plain number (or math-verify's percent of one) as a `PlainNumber`."""
    from sympy import Basic, Float, Mul, Pow, Rational, UnevaluatedExpr

    pct = False
    if isinstance(x, Mul) and len(x.args) == 2 and x.args[1] == UnevaluatedExpr(Rational(1, 100)):
        x, pct = x.args[0], True
    if isinstance(x, Basic) and not isinstance(x, (Rational, Float)) and x.is_number and not x.free_symbols:
        # "6.02 \times 10^{23}", "10^{12} + 1": numeric expressions evaluated (small powers only)
        if all(abs(p.exp) <= 1000 for p in x.atoms(Pow) if p.exp.is_Integer):
            try:
                x = x.doit()
            except Exception:
                return None
    if isinstance(x, Rational):
        v, exact = Fraction(int(x.p), int(x.q)), True
    elif isinstance(x, Float):
        if not x.is_finite:
            return None
        v, exact = Fraction(str(x)), False
    else:
        return None
    if not pct:
        return PlainNumber((v,), "", exact)
    values = {"fraction": (v / 100,), "number": (v,), "either": (v / 100, v)}[policy.percent]
    return PlainNumber(values, "", exact)


def _fix(
    gold_objs: list[Any], pred_objs: list[Any], verdict: bool, gold: str, answer: str, policy: VerifyPolicy
) -> bool:
    """math-verify's verdict, corrected where it is wrong (see the module docstring)."""
    from math_verify import verify
    from sympy import I, MatrixBase, Symbol, expand, simplify

    g = next((x for x in gold_objs if _is_math(x)), None)
    p = next((x for x in pred_objs if _is_math(x)), None)
    if g is None or p is None:
        return verdict
    gn, pn = _plain_number(g, policy), _plain_number(p, policy)
    if gn is not None and pn is not None:
        return numbers_equal(gn, pn, policy)  # plain numbers: the policy's exact/tolerance rule
    if verdict:
        gv, pv = _exact_value(g), _exact_value(p)
        if gv is not None and pv is not None:
            return bool(gv == pv)  # exact rationals compare exactly
        if (gv is not None and gv.q == 1 and _integer_valued_float(p)) or (
            pv is not None and pv.q == 1 and _integer_valued_float(g)
        ):
            return int(gv if gv is not None else g) == int(pv if pv is not None else p)
        return True
    if policy.vector_as_tuple and (isinstance(g, MatrixBase) or isinstance(p, MatrixBase)):
        ge, pe = _vector_entries(g), _vector_entries(p)
        if ge is not None and pe is not None and len(ge) == len(pe):
            return all(
                verify(a, b, float_rounding=policy.float_rounding, timeout_seconds=None)
                for a, b in zip(ge, pe, strict=True)
            )
    if _IMAGINARY.search(gold) or _IMAGINARY.search(answer):  # i as the imaginary unit
        try:
            gi = g.subs(Symbol("i"), I).subs(Symbol("i", real=True), I)
            pi = p.subs(Symbol("i"), I).subs(Symbol("i", real=True), I)
            for s in gi.free_symbols | pi.free_symbols:
                if s.name == "i":
                    gi, pi = gi.subs(s, I), pi.subs(s, I)
            return bool(simplify(expand(gi - pi)) == 0)
        except Exception:
            return False
    return False


def grade_math_verify(gold: str, answer: str, policy: VerifyPolicy) -> bool:
    """math-verify `verify(parse(gold), parse(answer))` with the fixes on top; raises
    `GoldUnparseable` for a gold it cannot read."""
    from math_verify import verify

    parsed_gold, gold_unit = _parse_gold_cached(gold, policy.model_dump_json())
    text, unit = _for_math_verify(prose_to_number(answer), policy)
    if not policy.strip_units and unit != gold_unit:
        return False
    parsed = list(mv_parse(text))
    if not parsed:
        return False
    ok = bool(verify(list(parsed_gold), parsed, float_rounding=policy.float_rounding, timeout_seconds=None))
    return _fix(list(parsed_gold), parsed, ok, gold, text, policy)


def grade_sympy(gold: str, answer: str, policy: VerifyPolicy) -> bool | None:
    """An independent second opinion: latex2sympy both sides, then `simplify(gold - answer) == 0`.

    None when either side does not parse to a scalar expression (sets, intervals, relations).
    """
    import sympy
    from latex2sympy2_extended import latex2sympy

    try:
        g = latex2sympy(prepare(tidy(gold), policy))
        p = latex2sympy(prepare(tidy(prose_to_number(answer)), policy))
    except Exception:
        return None
    if not isinstance(g, sympy.Expr) or not isinstance(p, sympy.Expr):
        return None
    try:
        return bool(sympy.simplify(g - p) == 0)
    except Exception:
        return None


def _braced(text: str) -> Parts | None:
    m = _BRACED.match(tidy(text))
    if not m or not m.group(1).strip():
        return None
    return Parts(tuple(split_top(m.group(1))), True)


def _parts_verdict(gold: str, answer: str, policy: VerifyPolicy) -> bool | None:
    """The verdict when either side is a multi-part answer; None when math-verify should decide."""
    gp, pp = answer_parts(gold, policy), answer_parts(answer, policy)
    if gp is None and pp is None:
        return None
    same = lambda g, p: equivalent(g, p, policy)  # noqa: E731
    if gp is not None and pp is not None:
        return parts_match(gp, pp, policy, same)
    if gp is not None:
        p = read_number(answer, policy)
        if p is not None:
            g = read_number(gold, policy, decimal_comma=True)  # a gold "1,22" against 1.22
            return numbers_equal(g, p, policy) if g is not None else False  # a list against a number
        braced = _braced(answer)
        return parts_match(gp, braced, policy, same) if braced is not None else None
    assert pp is not None
    g = read_number(gold, policy)
    if g is not None:
        p = read_number(prose_to_number(answer), policy, decimal_comma=True)  # "1000,99" against 1000.99
        return numbers_equal(g, p, policy) if p is not None else False
    braced = _braced(gold)
    return parts_match(braced, pp, policy, same) if braced is not None else None


def _is_sentence(answer: str, policy: VerifyPolicy) -> bool:
    words = prose_words(answer)
    return words >= 2 or (words == 1 and read_number(answer, policy) is None)


def _base_numeral(text: str) -> tuple[str, int] | None:
    m = _BASE_NUMERAL.match(tidy(text))
    if not m or not 2 <= int(m.group(2)) <= 36:
        return None
    try:
        int(m.group(1), int(m.group(2)))
    except ValueError:
        return None
    return m.group(1), int(m.group(2))


def _base_verdict(gold: str, answer: str) -> bool | None:
    """A gold written in base b ("52_8", MATH's number theory): math-verify drops the subscript, so
    "52_9" would equal it. Two base numerals compare by value; a bare numeral is read in the
    gold's base (a model that leaves the subscript off)."""
    g = _base_numeral(gold)
    if g is None:
        return None
    p = _base_numeral(answer)
    if p is not None:
        return int(g[0], g[1]) == int(p[0], p[1])
    digits = tidy(answer)
    if re.fullmatch(r"[0-9A-Za-z]+", digits):
        try:
            return int(digits, g[1]) == int(g[0], g[1])
        except ValueError:
            return False
    return False


def equivalent(gold: str, answer: str, policy: VerifyPolicy, fast: bool = True) -> bool:
    """Whether `answer` (an extracted answer) is equivalent to `gold` (a gold answer).

    Raises `GoldUnparseable` or `MathTimeout`. `fast=False` skips the string and plain-number
    fast paths (tests prove both give the same verdict).

    >>> equivalent("\\\\frac{1}{2}", "0.5", VerifyPolicy())
    True
    """
    if fast and grade_string(gold, answer, policy):
        return True
    base = _base_verdict(gold, answer)
    if base is not None:
        return base
    parts = _parts_verdict(gold, answer, policy)
    if parts is not None:
        return parts
    if fast:
        quick = grade_fast(gold, answer, policy)
        if quick is not None:
            return quick
    with deadline(policy.math_timeout_s):
        return grade_math_verify(gold, answer, policy)


@lru_cache(maxsize=4096)
def _readable(gold: str, policy_json: str) -> bool:
    if gold.count("{") != gold.count("}") or re.search(r"\\[a-zA-Z]+\{$|[\^_]$", gold):
        return False
    policy = VerifyPolicy.model_validate_json(policy_json)
    if read_number(gold, policy) is not None or prose_words(gold) >= 2:
        return True
    try:
        _parse_gold_cached(gold_answer(gold), policy_json)
    except GoldUnparseable:
        return False
    return True


class MathEquivalence(Verifier):
    """Extract the final answer, then math equivalence on math-verify with fixes on top."""

    name = "math"
    kinds = ("math",)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Verdict for `prediction` (a bare answer or a whole model output) against `gold`."""
        if prediction is None or not prediction.strip():
            return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
        try:
            if prediction.strip() == gold.strip():
                # Identical texts are equivalent, whatever extraction finds in them; but equal
                # strings prove nothing about a gold nobody can read.
                with deadline(policy.math_timeout_s):
                    readable = _readable(gold.strip(), policy.model_dump_json())
                if not readable:
                    return self.verdict(False, Reason.UNVERIFIABLE, f"gold {gold[:80]!r} cannot be read")
                return self.verdict(True)
            expected = gold_answer(gold)
            found = extract(
                prediction, boxed_parts=policy.boxed_parts, last_number=policy.last_number_fallback
            )
            if found is None:
                return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
            if found.method == "last_number" and read_number(expected, policy) is None:
                return self.verdict(
                    False, Reason.NO_ANSWER, "only a stray number found; the gold is not a plain number"
                )
            answer = found.answer
            if (
                found.method == "marker"
                and read_number(expected, policy) is not None
                and _is_sentence(answer, policy)
            ):
                answer = first_number(answer)  # "Answer: Janeth still owes 220 $ in 12 months"
            if (
                found.method == "boxed_list"
                and answer_parts(expected, policy) is None
                and _braced(expected) is None
            ):
                # "\boxed{15\frac{39}{40}}, or \boxed{\frac{639}{40}}": one value in two forms
                boxes = split_top(answer)
                if all(equivalent(boxes[-1], b, policy) for b in boxes[:-1]):
                    answer = boxes[-1]
            ok = equivalent(expected, answer, policy)
        except GoldUnparseable as exc:
            return self.verdict(False, Reason.UNVERIFIABLE, str(exc))
        except MathTimeout as exc:
            return self.verdict(False, Reason.TIMEOUT, str(exc))
        except RecursionError as exc:
            return self.verdict(False, Reason.ERROR, f"RecursionError: {exc}"[:300])
        except Exception as exc:  # a sympy failure on a hostile answer is "could not check"
            return self.verdict(False, Reason.ERROR, f"{type(exc).__name__}: {exc}"[:300])
        return self.verdict(
            ok, Reason.MISMATCH, "" if ok else f"{found.answer[:80]!r} is not equivalent to {expected[:80]!r}"
        )


VERIFIERS.register(MathEquivalence.name, MathEquivalence())
