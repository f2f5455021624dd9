"""Balanced online difficulty filtering: train only on prompts the model sometimes solves.

After the rollouts of a batch, a prompt's pass rate is the share of its completions the verifier
accepts. Prompts with a pass rate outside [low, high] ([0.2, 0.8] by default) carry little signal
(all-correct or all-wrong groups have zero advantage), so they are dropped and the batch is refilled
with fresh prompts (rolled out the same way) until it is full again, up to `max_rounds` extra rounds;
if it is still short, the best-ranked dropped prompts (closest to the band) fill the rest, so every
optimisation step sees a full batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reasonmill.pipelines.train.curricula import CURRICULA, CurriculumEntry


class FilterParams(BaseModel):
    """The pass-rate band and how hard to try to refill."""

    model_config = ConfigDict(extra="forbid")
    low: float = Field(0.2, ge=0.0, le=1.0)
    high: float = Field(0.8, ge=0.0, le=1.0)
    max_rounds: int = Field(4, ge=0, description="extra rollout rounds to refill a batch")

    @model_validator(mode="after")
    def _band(self) -> FilterParams:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


def pass_rates(correct: Sequence[float | None], group: int) -> list[float | None]:
    """Pass rate per consecutive group of `group` completions (None when nothing was checkable)."""
    out: list[float | None] = []
    for s in range(0, len(correct), group):
        vals = [c for c in correct[s : s + group] if c is not None]
        out.append(sum(1.0 for c in vals if c > 0) / len(vals) if vals else None)
    return out


def in_band(rate: float | None, params: FilterParams) -> bool:
    """True when a pass rate is known and inside [low, high]."""
    return rate is not None and params.low <= rate <= params.high


def distance(rate: float | None, params: FilterParams) -> float:
    """How far a pass rate is from the band (0 inside; 2 for unknown)."""
    if rate is None:
        return 2.0
    return max(params.low - rate, rate - params.high, 0.0)


class BatchFiller:
    """Collects rollout groups round by round until `size` in-band groups are kept.

    `offer(groups, rates)` takes one round's groups (any objects) with their pass rates; `full`
    says whether to stop; `result()` gives exactly `size` groups: kept ones first, then the
    closest-to-band rejects when the rounds ran out.
    """

    def __init__(self, size: int, params: FilterParams | None = None) -> None:
        self.size = size
        self.params = params or FilterParams()
        self.kept: list[object] = []
        self.dropped: list[tuple[float, int, object]] = []
        self.rounds = 0
        self.offered = 0

    def offer(self, groups: Sequence[object], rates: Sequence[float | None]) -> None:
        """Add one round of groups."""
        self.rounds += 1
        for g, r in zip(groups, rates, strict=True):
            self.offered += 1
            if in_band(r, self.params) and len(self.kept) < self.size:
                self.kept.append(g)
            else:
                self.dropped.append((distance(r, self.params), self.offered, g))

    @property
    def full(self) -> bool:
        """Enough in-band groups, or no rounds left."""
        return len(self.kept) >= self.size or self.rounds > self.params.max_rounds

    @property
    def missing(self) -> int:
        """In-band groups still wanted."""
        return max(0, self.size - len(self.kept))

    def result(self) -> list[object]:
        """Exactly `size` groups (fewer only when fewer were ever offered)."""
        fill = [g for _, _, g in sorted(self.dropped, key=lambda t: (t[0], t[1]))][: self.missing]
        return (self.kept + fill)[: self.size]


CURRICULA.register(
    "online_filter",
    CurriculumEntry(
        "Balanced online filtering: keep prompts with pass rate in [0.2, 0.8], refill the batch",
        FilterParams,
        ("grpo",),
    ),
)
