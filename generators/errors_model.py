"""The fallible teacher's error model: which share of traces ends wrong, and how.

A reasoning model's traces are not all right, and a corpus needs the wrong ones too: verification
rejects them with reasons, and they are the rejected side of preference pairs. The programmatic
teacher makes the mistakes a solver really makes, and does not notice them:

* "slip": an arithmetic slip in one step (a wrong sum, product, remainder or square) that no
  check catches, carried to the end (families without search, `reasonmill.generators.calc`);
* "budget": a search that stops at its node budget before it has found the solution and commits
  to its best guess (the closest value, the deepest consistent assignment, the best route so far);
* "misread": one clue, number or statement read wrongly, and the puzzle solved as read.

`rate_by_level[level - 1]` is the chance that a sample is drawn as an error sample (the last value
repeats for higher levels); the family then makes the first of `kinds` (in a per-sample random
order) that it can make on that problem and that really ends wrong (the answer is checked against
the problem before the trace is kept, so an error that lands on a right answer is not counted as
one). Families that can make none of them (the reasoning-gym adapter) stay correct.

Defaults: 3%, 6%, 9%, 12%, 15% by level. With the default build's two samples per question that
gives verify rejections and a correct/wrong pair for about 12–15% of questions (2·r·(1 − r)
averaged over levels), and loses about 1% of questions to two wrong samples.

>>> ErrorModel().rate(2), ErrorModel().rate(9)
(0.06, 0.15)
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field, field_validator

ERROR_KINDS = ("slip", "budget", "misread")


class ErrorModel(BaseModel):
    """Per-level error rates and the kinds of error the programmatic teacher may make."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_by_level: tuple[float, ...] = Field(default=(0.03, 0.06, 0.09, 0.12, 0.15), min_length=1)
    kinds: tuple[str, ...] = ERROR_KINDS

    @field_validator("rate_by_level")
    @classmethod
    def _rates(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        for i, r in enumerate(v):
            if not 0.0 <= r <= 1.0:
                raise ValueError(f"rate_by_level[{i}] must be in [0, 1], got {r}")
        return v

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for k in v:
            if k not in ERROR_KINDS:
                raise ValueError(f"unknown error kind {k!r}; known: {', '.join(ERROR_KINDS)}")
        return v

    def rate(self, level: int) -> float:
        """The error rate at `level` (1-based; the last entry repeats)."""
        return self.rate_by_level[min(max(level, 1), len(self.rate_by_level)) - 1]

    def draw(self, rng: random.Random, level: int) -> tuple[str, ...] | None:
        """The error kinds to try, in order, for one sample, or None for a correct sample."""
        if not self.kinds or rng.random() >= self.rate(level):
            return None
        kinds = list(self.kinds)
        rng.shuffle(kinds)
        return tuple(kinds)


NO_ERRORS = ErrorModel(rate_by_level=(0.0,))
"""An error model that never errs (the infallible teacher)."""
