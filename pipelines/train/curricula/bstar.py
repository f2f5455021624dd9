"""B-STaR (Zeng et al., 2024): monitor exploration and exploitation in self-improvement, and balance them.

Per iteration, over queries each with k sampled answers, a correctness label (the verifier) and a
reward (what selects samples for training; with a reward threshold):
  - exploration: pass@k (share of queries with a correct sample) and diversity (distinct correct
    final answers per query);
  - exploitation: reward precision (share of selected samples, reward ≥ threshold, that are correct);
  - balance score per query: min(n_unique_correct_selected / n_star, 1) · (n_correct_selected / n_selected)
    (0 when nothing is selected), averaged over queries.
`choose_config` picks the (temperature, threshold) with the highest balance score: B-STaR's per-
iteration configuration choice. `BStarCallback` computes the monitor on the GRPO trainer's own
rollouts every logging step (so the balance is visible in the logs while training).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reasonmill.pipelines.train.curricula import CURRICULA, CurriculumEntry


class BStarParams(BaseModel):
    """B-STaR's knobs."""

    model_config = ConfigDict(extra="forbid")
    n_star: int = Field(4, ge=1, description="wanted distinct correct answers per query")
    threshold: float = Field(0.5, description="reward a sample needs to be selected")
    temperatures: tuple[float, ...] = (0.5, 0.7, 0.9, 1.1)
    thresholds: tuple[float, ...] = (0.0, 0.5, 1.0)


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled answer: its final answer string, verifier correctness, and selecting reward."""

    answer: str | None
    correct: bool
    reward: float


@dataclass(frozen=True, slots=True)
class BalanceReport:
    """Exploration, exploitation and balance over one iteration's queries."""

    pass_at_k: float
    distinct_correct: float
    reward_precision: float
    balance: float
    queries: int


def balance_report(queries: Sequence[Sequence[Sample]], threshold: float, n_star: int = 4) -> BalanceReport:
    """The B-STaR monitor for queries (each a list of k samples) at a reward threshold."""
    if not queries:
        return BalanceReport(0.0, 0.0, 0.0, 0.0, 0)
    passk = distinct = 0.0
    sel_total = sel_correct = 0
    balance = 0.0
    for samples in queries:
        correct = [s for s in samples if s.correct]
        passk += 1.0 if correct else 0.0
        distinct += len({s.answer for s in correct})
        selected = [s for s in samples if s.reward >= threshold]
        good = [s for s in selected if s.correct]
        sel_total += len(selected)
        sel_correct += len(good)
        if selected:
            balance += min(len({s.answer for s in good}) / n_star, 1.0) * (len(good) / len(selected))
    n = len(queries)
    return BalanceReport(
        passk / n, distinct / n, sel_correct / sel_total if sel_total else 0.0, balance / n, n
    )


def choose_config(
    samples_by_temperature: dict[float, Sequence[Sequence[Sample]]],
    thresholds: Iterable[float],
    n_star: int = 4,
) -> tuple[float, float, BalanceReport]:
    """(temperature, threshold, report) with the highest balance score (ties: lower temperature, lower threshold)."""
    best: tuple[float, float, BalanceReport] | None = None
    for t in sorted(samples_by_temperature):
        for th in sorted(thresholds):
            rep = balance_report(samples_by_temperature[t], th, n_star)
            if best is None or rep.balance > best[2].balance:
                best = (t, th, rep)
    if best is None:
        raise ValueError("choose_config needs at least one temperature and one threshold")
    return best


def group_samples(
    answers: Sequence[str | None], correct: Sequence[float | None], rewards: Sequence[float], group: int
) -> list[list[Sample]]:
    """Consecutive groups of `group` completions (one query each) as `Sample`s."""
    out = []
    for s in range(0, len(answers), group):
        out.append(
            [
                Sample(a, c is not None and c > 0, float(r))
                for a, c, r in zip(
                    answers[s : s + group], correct[s : s + group], rewards[s : s + group], strict=True
                )
            ]
        )
    return out


def bstar_callback(monitor: Any) -> Any:
    """A TrainerCallback adding the monitor's last report to the trainer's logs."""
    from transformers import TrainerCallback

    class _BStar(TrainerCallback):
        """Logs B-STaR exploration/exploitation/balance from the latest rollouts."""

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any
        ) -> None:
            rep = monitor.last
            if logs is not None and rep is not None and "loss" in logs:
                logs.update(
                    {
                        "bstar/pass_at_k": rep.pass_at_k,
                        "bstar/distinct_correct": rep.distinct_correct,
                        "bstar/reward_precision": rep.reward_precision,
                        "bstar/balance": rep.balance,
                    }
                )

    return _BStar()


class BStarMonitor:
    """Accumulates the B-STaR report of each rollout batch the trainer observes."""

    def __init__(self, params: BStarParams | None = None) -> None:
        self.params = params or BStarParams()
        self.last: BalanceReport | None = None
        self.history: list[BalanceReport] = []

    def observe_groups(self, groups: list[list[Sample]]) -> BalanceReport:
        """Compute and keep the report of one batch."""
        self.last = balance_report(groups, self.params.threshold, self.params.n_star)
        self.history.append(self.last)
        return self.last


CURRICULA.register(
    "bstar",
    CurriculumEntry(
        "B-STaR monitor: pass@k, distinct correct answers, reward precision, balance score",
        BStarParams,
        ("grpo",),
    ),
)
