"""Math equivalence: a fast exact-number path, then math-verify (sympy) for everything else.

Plain numbers (integers, decimals, fractions, with thousands separators or a percent sign under
the policy) are compared as exact rationals without touching sympy: most procedural and GSM8K
answers end there. Anything else goes to math-verify with the gold parsed first; a gold answer
math-verify cannot parse is `unverifiable`, never a mismatch.

math-verify times out with `signal.alarm`, which works only on a process's main thread, and its
timeout exception is a BaseException: call this verifier from the worker pool
(`reasonmill.verifiers.pool`), which runs it on worker main threads under a hard deadline.
"""

from __future__ import annotations

import re
import threading
from fractions import Fraction
from functools import lru_cache

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy
from reasonmill.verifiers.extract import extract_answer

_PLAIN = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:/\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_UNITS = re.compile(r"^(.*?\d)\s*(?:\\[,;!]\s*)?(?:\\(?:text|mathrm|mbox)\{[^}]*\}|[a-zA-Z°]+\.?)(?:\^?\d)?$")


def plain_number(text: str, policy: VerifyPolicy) -> Fraction | None:
    """`text` as an exact rational when it is a plain number under `policy`, else None."""
    t = text.strip().strip("$").strip()
    t = t.replace("\\!", "").replace("{,}", ",").replace("\\,", "")
    m = re.fullmatch(r"\\(?:d|t)?frac\{(-?\d+)\}\{(\d+)\}", t)
    if m:
        return Fraction(int(m.group(1)), int(m.group(2))) if int(m.group(2)) else None
    percent = False
    if t.endswith("\\%") or t.endswith("%"):
        t = t[:-2] if t.endswith("\\%") else t[:-1]
        percent = True
    if policy.strip_units and not _PLAIN.match(t) and not _THOUSANDS.match(t):
        m = _UNITS.match(t)
        if m:
            t = m.group(1).strip()
    if policy.thousands_separators and _THOUSANDS.match(t):
        t = t.replace(",", "")
    t = t.rstrip(".") if t.endswith(".") and t.count(".") == 1 else t
    if not _PLAIN.match(t):
        return None
    try:
        value = Fraction(t)
    except (ValueError, ZeroDivisionError):
        return None
    if percent and policy.percent_as_fraction:
        value /= 100
    return value


def numbers_equal(a: Fraction, b: Fraction, policy: VerifyPolicy) -> bool:
    """Exact equality, or within the relative tolerance of the policy."""
    if a == b:
        return True
    if policy.rel_tol == 0:
        return False
    return abs(a - b) <= Fraction(policy.rel_tol) * max(abs(a), abs(b))


@lru_cache(maxsize=8192)
def _parse_gold(gold: str) -> tuple:
    from math_verify import parse

    text = gold if "$" in gold or "\\boxed" in gold else f"${gold}$"
    return tuple(parse(text, parsing_timeout=None if threading.current_thread() is not threading.main_thread() else 5))


class MathEquivalence(Verifier):
    """Numeric fast path, then math-verify with sympy; gold first."""

    name = "math"
    kinds = ("math",)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        answer = extract_answer(prediction)
        if answer is None:
            return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
        g, p = plain_number(gold, policy), plain_number(answer, policy)
        if g is not None and p is not None:
            ok = numbers_equal(g, p, policy)
            return self.verdict(ok, Reason.MISMATCH, "" if ok else f"{answer!r} != {gold!r}")
        return self._math_verify(gold, answer, policy)

    def _math_verify(self, gold: str, answer: str, policy: VerifyPolicy) -> Verdict:
        from math_verify import parse, verify

        on_main = threading.current_thread() is threading.main_thread()
        timeout = 5 if on_main else None
        try:
            parsed_gold = list(_parse_gold(gold))
        except Exception as exc:  # parse errors in the gold are "could not check"
            return self.verdict(False, Reason.UNVERIFIABLE, f"gold {gold!r} failed to parse: {exc}")
        if not parsed_gold:
            return self.verdict(False, Reason.UNVERIFIABLE, f"gold {gold!r} could not be parsed")
        text = answer if "$" in answer or "\\boxed" in answer else f"${answer}$"
        try:
            parsed = parse(text, parsing_timeout=timeout)
        except Exception as exc:
            return self.verdict(False, Reason.ERROR, f"prediction failed to parse: {exc}")
        if not parsed:
            return self.verdict(False, Reason.NO_ANSWER, f"could not parse {answer!r} as math")
        try:
            ok = verify(parsed_gold, parsed, float_rounding=policy.float_rounding, timeout_seconds=timeout)
        except Exception as exc:
            return self.verdict(False, Reason.ERROR, f"math-verify failed: {exc}")
        return self.verdict(bool(ok), Reason.MISMATCH, "" if ok else f"{answer!r} is not equivalent to {gold!r}")


VERIFIERS.register(MathEquivalence.name, MathEquivalence())
