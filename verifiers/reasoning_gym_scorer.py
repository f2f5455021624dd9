"""reasoning-gym answers, scored by the task's own `score_answer(answer, entry)`.

For items from the reasoning-gym adapter (answer kind "reasoning_gym"). The gold string is the
compact JSON {"task", "config", "entry"} the adapter wrote, because `check` sees only strings and
the scorer needs the whole entry (Countdown's numbers, a puzzle's metadata...). The answer is
extracted from the prediction as for every kind (boxed, <answer>, "Answer:"), and passes when
the task's score reaches `PASS_SCORE` (reasoning-gym gives partial credit, e.g. 0.01 for a
well-formed wrong answer; only full credit passes).

"Could not check" stays apart from "wrong": a gold that is not adapter JSON, a task unknown to
the installed reasoning-gym, or reasoning-gym not installed give `unverifiable`. reasoning-gym
is imported on first use only, so this module costs nothing when it is absent.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VERIFIERS, Verifier, VerifyPolicy
from reasonmill.verifiers.extract import extract_answer

PASS_SCORE = 1.0


@cache
def _scorer(task: str, config_json: str) -> Any:
    """The task's `score_answer`, from a dataset built with the item's config (cached per config)."""
    from reasoning_gym import factory

    return factory.create_dataset(task, seed=0, size=1, **json.loads(config_json)).score_answer


class ReasoningGymScorer(Verifier):
    """Full credit from the reasoning-gym task's scorer."""

    name = "reasoning_gym"
    kinds = ("reasoning_gym",)

    def check(self, gold: str, prediction: str | None, policy: VerifyPolicy) -> Verdict:
        """Verdict for the answer in `prediction` under the scorer of the task named in `gold`."""
        try:
            record = json.loads(gold)
            task, config, entry = record["task"], record["config"], record["entry"]
        except (ValueError, TypeError, KeyError) as exc:
            return self.verdict(False, Reason.UNVERIFIABLE, f"gold is not reasoning-gym adapter JSON: {exc}")
        answer = extract_answer(prediction)
        if answer is None:
            return self.verdict(False, Reason.NO_ANSWER, "no answer found in the prediction")
        try:
            score = _scorer(task, json.dumps(config, sort_keys=True))
        except ImportError:
            return self.verdict(
                False,
                Reason.UNVERIFIABLE,
                "reasoning-gym is not installed (pip install reasoning-gym==0.1.25)",
            )
        except (ValueError, TypeError, AssertionError) as exc:
            return self.verdict(
                False, Reason.UNVERIFIABLE, f"cannot build reasoning-gym task {task!r}: {exc}"
            )
        value = float(score(answer, entry))
        ok = value >= PASS_SCORE
        return self.verdict(
            ok, Reason.MISMATCH, "" if ok else f"{task} scored {value:.3f} for {answer[:80]!r}"
        )


VERIFIERS.register(ReasoningGymScorer.name, ReasoningGymScorer())
