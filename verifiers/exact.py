"""String matching for answers that are not math (grids, names, paths): normalised and strict.

`exact` (kinds "exact", "free_form_exact") compares after normalisation — NFKC, `\\text{}`
unwrapped, whitespace collapsed, final period dropped, case folded unless the policy says
`case_sensitive`. A gold that assigns roles ("Ada=knave, Ben=knight", knights and knaves) is
compared as a mapping read from any wording, tags or none (`reasonmill.verifiers.assignments`). `exact_strict` (kind "exact_strict") compares the extracted answer byte for
byte after stripping surrounding whitespace, for answers where spacing or case carries meaning.
"""

from __future__ import annotations

import re
import unicodedata

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.assignments import final_assignments, gold_assignments
from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy
from reasonmill.verifiers.extract import extract, extract_answer, visible_part


def normalise(text: str, case_sensitive: bool = False) -> str:
    """NFKC, \\text{} unwrapped, whitespace collapsed, trailing period dropped, case folded.

    >>> normalise("  \\\\text{Paris}. ")
    'paris'
    """
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"\\(?:text|textbf|mathrm)\{([^}]*)\}", r"\1", t).strip().strip("$").strip().rstrip(".")
    t = " ".join(t.split())
    return t if case_sensitive else t.casefold()


class ExactMatch(Verifier):
    """Equal after normalisation (whitespace, case under the policy, \\text{}, final period)."""

    name = "exact"
    kinds = ("exact", "free_form_exact")

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Verdict for the answer extracted from `prediction` against `gold`."""
        roles = gold_assignments(gold)
        if roles is not None and prediction is not None:
            return self._assignments(roles, prediction)
        answer = extract_answer(prediction)
        if answer is None:
            return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
        ok = normalise(answer, policy.case_sensitive) == normalise(gold, policy.case_sensitive)
        return self.verdict(ok, Reason.MISMATCH, "" if ok else f"{answer[:80]!r} != {gold[:80]!r}")

    def _assignments(self, gold: dict[str, str], prediction: str) -> Verdict:
        found = extract(prediction, last_number=False)
        visible = visible_part(prediction)
        got = final_assignments(found.answer if found else None, visible, gold)
        if got is None:
            return self.verdict(False, Reason.NO_ANSWER, f"no role stated for each of {', '.join(gold)}")
        wrong = sorted(n for n in gold if got.get(n) != gold[n])
        if wrong:
            return self.verdict(False, Reason.MISMATCH, f"wrong role for {', '.join(wrong)}")
        return self.verdict(True)


class StrictMatch(Verifier):
    """Equal byte for byte after stripping surrounding whitespace; no case folding."""

    name = "exact_strict"
    kinds = ("exact_strict",)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Verdict for the answer extracted from `prediction` against `gold`."""
        answer = extract_answer(prediction)
        if answer is None:
            return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
        ok = answer.strip() == gold.strip()
        return self.verdict(ok, Reason.MISMATCH, "" if ok else f"{answer[:80]!r} != {gold[:80]!r}")


VERIFIERS.register(ExactMatch.name, ExactMatch())
VERIFIERS.register(StrictMatch.name, StrictMatch())
