"""Multiple choice: the gold is a letter; the prediction names one ("(B)", "answer is B", \\boxed{B}).

The letters allowed come from the policy (`choice_letters`, A–J by default). A gold that is not
one of them is `unverifiable`; an output that commits to no letter is `no_answer`.
"""

from __future__ import annotations

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy
from reasonmill.verifiers.extract import extract_choice


class MultipleChoice(Verifier):
    """The letter the prediction commits to equals the gold letter (case-insensitive)."""

    name = "choice"
    kinds = ("choice", "multiple_choice")

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Verdict for the letter in `prediction` against the gold letter."""
        letters = policy.choice_letters.upper()
        g = gold.strip().strip("()").strip().upper()
        if len(g) != 1 or g not in letters:
            return self.verdict(
                False, Reason.UNVERIFIABLE, f"gold {gold[:40]!r} is not one of the letters {letters}"
            )
        letter = extract_choice(prediction, letters)
        if letter is None:
            return self.verdict(False, Reason.NO_ANSWER, "no choice letter found in the prediction")
        ok = letter == g
        return self.verdict(ok, Reason.MISMATCH, "" if ok else f"chose {letter}, gold {g}")


VERIFIERS.register(MultipleChoice.name, MultipleChoice())
