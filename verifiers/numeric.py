"""Numeric answers: plain numbers only, compared under the policy's tolerance.

For answers that are numbers by contract (measurements, rates, procedural results), kind
"numeric". Unlike `math`, nothing symbolic is attempted: a gold that is not a plain number is
`unverifiable`, and an answer that is not one is a mismatch naming what was found.
"""

from __future__ import annotations

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy
from reasonmill.verifiers.extract import extract_answer
from reasonmill.verifiers.math_equivalence import prose_to_number
from reasonmill.verifiers.numbers import numbers_equal, read_number


class NumericMatch(Verifier):
    """|gold - answer| within max(abs_tol, rel_tol * max(|gold|, |answer|)), exact rationals."""

    name = "numeric"
    kinds = ("numeric",)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Verdict for the number extracted from `prediction` against the number `gold`."""
        g = read_number(gold, policy)
        if g is None:
            return self.verdict(False, Reason.UNVERIFIABLE, f"gold {gold[:80]!r} is not a plain number")
        answer = extract_answer(prediction)
        if answer is None:
            return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
        p = read_number(prose_to_number(answer), policy)
        if p is None:
            return self.verdict(False, Reason.MISMATCH, f"{answer[:80]!r} is not a number")
        ok = numbers_equal(g, p, policy)
        return self.verdict(ok, Reason.MISMATCH, "" if ok else f"{answer[:80]!r} != {gold[:80]!r}")


VERIFIERS.register(NumericMatch.name, NumericMatch())
