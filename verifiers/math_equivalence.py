"""Math equivalence: a cascade of graders, cheapest first, gold always first.

1. string: equal after normalisation — equal strings are equivalent, no parsing needed (only a
   gold checked against itself, the pipeline's readability check, is parsed to prove it readable);
2. bare lists ("3, 1, 2"): element by element, in order or as a permutation (policy);
3. fast path: both sides plain numbers (`reasonmill.verifiers.numbers`) compared as exact
   rationals under the policy's tolerance, percent, units and thousands conventions;
4. math-verify (sympy) for everything else — fractions in LaTeX, radicals, intervals, sets,
   tuples, matrices, expressions, equations — with the parsed gold cached per gold string, so the
   k traces of one record parse their gold once per worker.

A gold math-verify cannot parse is `unverifiable`, never a mismatch. math-verify's own timeout is a
`signal.alarm` that works only on a main thread and, when it fires, is swallowed into `False`
(a timeout would read as "wrong"). So this module disables math-verify's timeout and puts its own
deadline around each call, raising `MathTimeout` — a BaseException that math-verify's
`except Exception` cannot swallow — which becomes a `timeout` verdict. Off the main thread no alarm
is possible; the worker pool (`reasonmill.verifiers.pool`) runs checks on worker main threads and
its hard per-item timeout stands behind everything.

Each grader is a plain function `(gold, answer, policy) -> bool | None` (None: not applicable),
so `reasonmill.verifiers.audit` can run them side by side.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy
from reasonmill.verifiers.exact import normalise
from reasonmill.verifiers.extract import extract_answer
from reasonmill.verifiers.numbers import numbers_equal, read_number, split_list

_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
# LaTeX that is not prose: environments, text-ish commands with their argument, any other command.
_LATEX_WORDS = re.compile(r"\\(?:begin|end|text\w*|math\w*|mbox|operatorname)\s*\{[^{}]*\}|\\[a-zA-Z]+")


class MathTimeout(BaseException):
    """A math check ran past its deadline (BaseException so no `except Exception` swallows it)."""


class GoldUnparseable(Exception):
    """The gold answer could not be parsed: the item is unverifiable, not wrong."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise `MathTimeout` after `seconds` on the main thread; a no-op elsewhere (the pool's hard
    timeout covers threads)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
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


def _silence_math_verify() -> None:
    # math-verify warns once that its own timeout is off; we run our own deadline instead.
    import math_verify.grader
    import math_verify.parser

    math_verify.grader.TIMEOUT_WARNING_SHOWN = True
    math_verify.parser.TIMEOUT_WARNING_SHOWN = True


_PLAIN_FUNC = re.compile(r"\b(sqrt|pi|oo|infinity)\b")


def plain_to_latex(text: str) -> str:
    """Plain-text math ("2 - sqrt(3)", "pi/2") written as LaTeX ("2 - \\sqrt{3}", "\\pi/2").

    math-verify reads LaTeX; given "2 - sqrt(5)" it returns 2, so "2 - sqrt(3)" would equal
    "2 - sqrt(5)". Text that already holds a backslash is left alone.
    """
    if "\\" in text or not _PLAIN_FUNC.search(text):
        return text
    out, i = [], 0
    while i < len(text):
        m = _PLAIN_FUNC.match(text, i) if (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) else None
        if m is None:
            out.append(text[i])
            i += 1
            continue
        word = m.group(1)
        j = m.end()
        if word == "sqrt" and j < len(text) and text[j] == "(":
            depth, k = 0, j
            while k < len(text):
                depth += {"(": 1, ")": -1}.get(text[k], 0)
                if depth == 0:
                    break
                k += 1
            out.append("\\sqrt{" + plain_to_latex(text[j + 1 : k]) + "}")
            i = k + 1
        else:
            out.append({"sqrt": "\\sqrt", "pi": "\\pi", "oo": "\\infty", "infinity": "\\infty"}[word] + " ")
            i = j
    return "".join(out)


def _as_latex(text: str) -> str:
    return text if "$" in text or "\\boxed" in text or "\\[" in text else f"${plain_to_latex(text)}$"


@lru_cache(maxsize=16384)
def parse_gold(gold: str) -> tuple[Any, ...]:
    """math-verify's parse of a gold answer, cached per gold string; raises `GoldUnparseable`."""
    from math_verify import parse

    _silence_math_verify()
    from sympy import Basic, MatrixBase

    parsed = tuple(parse(_as_latex(gold), parsing_timeout=None))
    # Only raw-string fallbacks back means math-verify found no math in the gold: it could only
    # compare strings, which the cascade already did.
    if not any(isinstance(x, (Basic, MatrixBase)) for x in parsed):
        raise GoldUnparseable(f"math-verify could not parse gold {gold[:80]!r}")
    return parsed


@lru_cache(maxsize=16384)
def parse_answer(answer: str) -> tuple[Any, ...]:
    """math-verify's parse of an extracted answer (empty when it finds no math)."""
    from math_verify import parse

    _silence_math_verify()
    return tuple(parse(_as_latex(answer), parsing_timeout=None))


def prose_to_number(answer: str) -> str:
    """The last number of an answer that is a sentence ("Janet makes 18 dollars a day"); else
    the answer unchanged. Keeps "x = 5" and LaTeX as they are."""
    if len(_PROSE_WORD.findall(_LATEX_WORDS.sub(" ", answer))) >= 2:
        nums = _NUMBER.findall(answer)
        if nums:
            return nums[-1].rstrip(".,")
    return answer


# --- graders: (gold, answer, policy) -> True / False / None (not applicable) -------------------


def grade_string(gold: str, answer: str, policy: VerifyPolicy) -> bool:
    """Equal after normalisation (whitespace, \\text{}, final period; case under the policy)."""
    return normalise(answer, policy.case_sensitive) == normalise(gold, policy.case_sensitive)


def grade_fast(gold: str, answer: str, policy: VerifyPolicy) -> bool | None:
    """Plain numbers compared as exact rationals; None when either side is not a plain number."""
    g = read_number(gold, policy)
    if g is None:
        return None
    p = read_number(prose_to_number(answer), policy)
    if p is None:
        return None
    return numbers_equal(g, p, policy)


def grade_math_verify(gold: str, answer: str, policy: VerifyPolicy) -> bool:
    """math-verify `verify(parse(gold), parse(answer))`; raises `GoldUnparseable` for a bad gold."""
    from math_verify import verify

    parsed_gold = list(parse_gold(gold))
    parsed = list(parse_answer(answer))
    if not parsed:
        return False
    return bool(verify(parsed_gold, parsed, float_rounding=policy.float_rounding, timeout_seconds=None))


def grade_sympy(gold: str, answer: str, policy: VerifyPolicy) -> bool | None:
    """An independent second opinion: latex2sympy both sides, then `simplify(gold - answer) == 0`.

    None when either side does not parse to a scalar expression (sets, intervals, relations).
    """
    import sympy
    from latex2sympy2_extended import latex2sympy

    try:
        g = latex2sympy(gold.strip().strip("$"))
        p = latex2sympy(prose_to_number(answer).strip().strip("$"))
    except Exception:
        return None
    if not isinstance(g, sympy.Expr) or not isinstance(p, sympy.Expr):
        return None
    try:
        return bool(sympy.simplify(g - p) == 0)
    except Exception:
        return None


def equivalent(gold: str, answer: str, policy: VerifyPolicy) -> bool:
    """The cascade for one gold/answer pair (no extraction); raises `GoldUnparseable`/`MathTimeout`."""
    if grade_string(gold, answer, policy):
        return True
    glist, plist = split_list(gold, policy), split_list(answer, policy)
    if glist is not None and plist is not None:
        return _lists_equal(glist, plist, policy)
    if glist is None and plist is not None and read_number(gold, policy) is not None:
        return False  # a number against a list ("1,234" without thousands separators)
    if plist is None and glist is not None and read_number(answer, policy) is not None:
        return False
    fast = grade_fast(gold, answer, policy)
    if fast is not None:
        return fast
    with deadline(policy.math_timeout_s):
        return grade_math_verify(gold, prose_to_number(answer), policy)


def _lists_equal(gold: list[str], pred: list[str], policy: VerifyPolicy) -> bool:
    if len(gold) != len(pred):
        return False
    if not policy.unordered_lists:
        return all(equivalent(g, p, policy) for g, p in zip(gold, pred, strict=True))
    unused = list(pred)
    for g in gold:
        hit = next((i for i, p in enumerate(unused) if equivalent(g, p, policy)), None)
        if hit is None:
            return False
        unused.pop(hit)
    return True


class MathEquivalence(Verifier):
    """Extract the final answer, then the cascade: string, lists, plain numbers, math-verify."""

    name = "math"
    kinds = ("math",)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Verdict for `prediction` (a bare answer or a whole model output) against `gold`."""
        answer = extract_answer(prediction)
        if answer is None:
            return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
        try:
            if prediction is not None and prediction.strip() == gold.strip():
                # The pipeline's readability check (gold against itself): equal strings prove
                # nothing about a gold math-verify cannot read, so parse it. Elsewhere an exact
                # match passes without any parsing (the fast path).
                if read_number(gold, policy) is None:
                    with deadline(policy.math_timeout_s):
                        parse_gold(gold)
                return self.verdict(True)
            ok = equivalent(gold, answer, policy)
        except GoldUnparseable as exc:
            return self.verdict(False, Reason.UNVERIFIABLE, str(exc))
        except MathTimeout as exc:
            return self.verdict(False, Reason.TIMEOUT, str(exc))
        except Exception as exc:  # a sympy failure on a hostile answer is "could not check"
            return self.verdict(False, Reason.ERROR, f"{type(exc).__name__}: {exc}"[:300])
        return self.verdict(
            ok, Reason.MISMATCH, "" if ok else f"{answer[:80]!r} is not equivalent to {gold[:80]!r}"
        )


VERIFIERS.register(MathEquivalence.name, MathEquivalence())
