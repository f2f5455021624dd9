"""SEC — Self-Evolving Curriculum (Chen et al., 2025): curriculum selection as a non-stationary bandit.

Arms are problem categories: difficulty bins (quantiles of `difficulty`), `level`, or `source`.
For every prompt of a batch an arm is drawn from softmax(Q/τ) and a problem drawn uniformly from it.
After the rollouts, each arm that appeared gets reward r = mean |advantage| of its rollouts (the
absolute advantage is the policy-gradient proxy for immediate learning gain) and a TD(0) update
Q ← α·r + (1 − α)·Q. Defaults from the paper: α = 0.5, τ in [0.4, 1.0] (1.0 here), Q starts at 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reasonmill.pipelines.train.curricula import CURRICULA, CurriculumEntry
from reasonmill.pipelines.train.curricula.base import PromptScheduler


class SECParams(BaseModel):
    """SEC's knobs."""

    model_config = ConfigDict(extra="forbid")
    arms: Literal["difficulty", "level", "source"] = "difficulty"
    bins: int = Field(3, ge=2, description="difficulty bins (arms = 'difficulty')")
    temperature: float = Field(1.0, ge=0.4, le=1.0, description="τ of softmax(Q/τ)")
    alpha: float = Field(0.5, gt=0.0, le=1.0, description="TD(0) step size")


def arm_labels(rows: Sequence[dict], params: SECParams) -> list[str]:
    """The arm of each dataset row: a difficulty quantile bin, its level, or its source."""
    if params.arms == "level":
        return [f"level={r['level']}" for r in rows]
    if params.arms == "source":
        return [str(r["source"]) for r in rows]
    ds = sorted(float(r["difficulty"]) for r in rows)
    cuts = [ds[min(len(ds) - 1, (len(ds) * b) // params.bins)] for b in range(1, params.bins)]
    return [f"bin{sum(float(r['difficulty']) >= c for c in cuts)}" for r in rows]


class SECScheduler(PromptScheduler):
    """The SEC bandit over arms; `arm_of[i]` is the arm of dataset row i."""

    def __init__(self, arm_of: Sequence[str], params: SECParams | None = None, seed: int = 0) -> None:
        super().__init__(len(arm_of), seed)
        self.params = params or SECParams()
        self.arm_of = list(arm_of)
        self.members: dict[str, list[int]] = defaultdict(list)
        for i, a in enumerate(self.arm_of):
            self.members[a].append(i)
        self.arms = sorted(self.members)
        self.q: dict[str, float] = {a: 0.0 for a in self.arms}
        self.history: list[dict[str, float]] = []

    def probabilities(self) -> dict[str, float]:
        """softmax(Q/τ) over the arms."""
        t = self.params.temperature
        m = max(self.q.values())
        w = {a: math.exp((q - m) / t) for a, q in self.q.items()}
        z = sum(w.values())
        return {a: v / z for a, v in w.items()}

    def next_prompts(self, k: int) -> list[int]:
        """Draw an arm per prompt from softmax(Q/τ), then a problem uniformly from that arm."""
        p = self.probabilities()
        arms = self.rng.choices(self.arms, weights=[p[a] for a in self.arms], k=k)
        return [self.rng.choice(self.members[a]) for a in arms]

    def observe(
        self,
        indices: Sequence[int],
        rewards: Sequence[float],
        advantages: Sequence[float],
        correct: Sequence[float | None],
    ) -> None:
        """r_arm = mean |advantage| over the arm's rollouts in the batch; Q ← α·r + (1 − α)·Q."""
        by_arm: dict[str, list[float]] = defaultdict(list)
        for i, adv in zip(indices, advantages, strict=True):
            by_arm[self.arm_of[i]].append(abs(float(adv)))
        a = self.params.alpha
        for arm, vals in by_arm.items():
            r = sum(vals) / len(vals)
            self.q[arm] = a * r + (1 - a) * self.q[arm]
        self.history.append(dict(self.q))

    def state_dict(self) -> dict:
        """Q values and the rng state."""
        return {"q": dict(self.q), "rng": self.rng.getstate()}

    def load_state_dict(self, state: dict) -> None:
        """Restore Q and the rng."""
        self.q.update(state.get("q", {}))
        if "rng" in state:
            rng = state["rng"]
            self.rng.setstate((rng[0], tuple(rng[1]), rng[2]))


def make_sec(rows: Sequence[dict], params: SECParams, seed: int = 0) -> SECScheduler:
    """An SEC scheduler over dataset rows (dicts with difficulty, level, source)."""
    return SECScheduler(arm_labels(rows, params), params, seed)


CURRICULA.register(
    "sec",
    CurriculumEntry(
        "Self-Evolving Curriculum: bandit over difficulty bins/levels/sources, reward mean |advantage|",
        SECParams,
        ("grpo",),
    ),
)
