"""Exact and normalised string matching, for answers that are not math (grids, names, paths)."""

from __future__ import annotations

import re
import unicodedata

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy
from reasonmill.verifiers.extract import extract_answer


def normalise(text: str, case_sensitive: bool = False) -> str:
    """NFKC, \\text{} unwrapped, whitespace collapsed, trailing period dropped, case folded."""
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"\\text\{([^}]*)\}", r"\1", t).strip().strip("$").strip().rstrip(".")
    t = " ".join(t.split())
    return t if case_sensitive else t.casefold()


class ExactMatch(Verifier):
    """Equal after normalisation (whitespace, case under the policy, \\text{}, final period)."""

    name = "exact"
    kinds = ("exact", "free_form_exact")

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        answer = extract_answer(prediction)
        if answer is None:
            return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
        ok = normalise(answer, policy.case_sensitive) == normalise(gold, policy.case_sensitive)
        return self.verdict(ok, Reason.MISMATCH, "" if ok else f"{answer!r} != {gold!r}")


VERIFIERS.register(ExactMatch.name, ExactMatch())
