"""Difficulty scoring: intrinsic effort and the student's pass rate.

Intrinsic difficulty comes from the solver effort of the record's passing traces (nodes expanded,
backtracks): `difficulty_intrinsic = nodes / (nodes + 10)`, in (0, 1) and monotone in effort.

Empirical difficulty (`score.student`, on by default): each record gets `k` samples from the
student — the offline student (the families' bounded solvers, `reasonmill.generators.student`)
or, with `backend`, an LLM in one batched call per shard — checked through the build's one
checking path (pool, or the judge for free-form). A record the offline student has no solver for
(reasoning-gym items) is "unscored". `scores["pass_rate"]` = passed / usable samples, where a
sample is usable when its request completed and its check reached a decision (a timeout or a judge
error is neither right nor wrong); `scores["difficulty"] = 1 - pass_rate`. With `filter`, a pass
rate below the band is `too_hard`, above it `too_easy`, and a record with no usable sample
`unscored`; without it such a record is kept without a pass rate (the counts go to
`record.meta["student"]`). Dedup, decontamination and selection follow in the `curate` stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from reasonmill.config import BuildConfig
from reasonmill.generators.llm_tasks.parsing import REQUEST_FAILED, TRUNCATED
from reasonmill.generators.llm_tasks.student import StudentSample, render_student, sample_students
from reasonmill.generators.student import student_answers
from reasonmill.llm.types import SamplingParams
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.pipelines.tally import RETRYABLE
from reasonmill.records import Record, Rejection


class ScoreStage(Stage):
    """Verified records in, records with intrinsic and empirical difficulty out."""

    name = "score"
    version = "2"
    sections = ("score",)

    @classmethod
    def backends(cls, config: BuildConfig) -> list[str]:
        st = config.score.student
        return [st.backend] if st is not None and st.backend else []

    @classmethod
    def prompts(cls, config: BuildConfig) -> list[Callable[..., Any]]:
        return [render_student]

    def run(self, records: list[Record], shard: int) -> Iterator[Output]:
        scored = [self._intrinsic(rec) for rec in records]
        if self.config.score.student is None:
            yield from scored
            return
        kept = [o for o in scored if isinstance(o, Record)]
        tallies = self._student_pass(kept)
        for o in scored:
            if isinstance(o, Record):
                rejection = self._band(o, tallies[o.id])
                if rejection is not None:
                    yield rejection
                    continue
            yield o

    def _student_pass(self, records: list[Record]) -> dict[str, dict[str, int]]:
        """Sample the student k times per record and check each sample; tallies per record id."""
        st = self.config.score.student
        assert st is not None
        sampling = SamplingParams(
            temperature=st.temperature, top_p=st.top_p, max_tokens=st.max_tokens, seed=self.config.seed
        )
        if st.backend is not None:
            samples = (
                sample_students(
                    self.backend(st.backend), [r.problem.question for r in records], st.k, sampling
                )
                if records
                else []
            )
        else:  # the offline student: the families' bounded solvers, k samples each
            samples = [
                [StudentSample(t) for t in student_answers(r, st.k, self.config.seed)] for r in records
            ]
        pairs = [
            (rec, smp.text)
            for rec, row in zip(records, samples, strict=True)
            for smp in row
            if smp.unusable is None
        ]
        verdicts = iter(self.ctx.checker.check(pairs, f"{self.tag}:student"))
        tallies = {}
        for rec, row in zip(records, samples, strict=True):
            t = {"k": len(row), "passed": 0, "failed": 0, "unusable": 0}
            for smp in row:
                v = next(verdicts) if smp.unusable is None else None
                if v is None or not v.checked:
                    t["unusable"] += 1
                else:
                    t["passed" if v.passed else "failed"] += 1
            self.count(RETRYABLE, sum(smp.unusable in (REQUEST_FAILED, TRUNCATED) for smp in row))
            tallies[rec.id] = t
        return tallies

    def _band(self, rec: Record, tally: dict[str, int]) -> Rejection | None:
        """Set the pass rate and difficulty of `rec`; a rejection when the band filter drops it."""
        st = self.config.score.student
        assert st is not None
        rec.meta["student"] = tally
        usable = tally["passed"] + tally["failed"]
        reason = None
        if usable:
            rate = tally["passed"] / usable
            rec.scores["pass_rate"] = rate
            rec.scores["difficulty"] = 1.0 - rate
            lo, hi = st.band
            reason = "too_hard" if rate < lo else "too_easy" if rate > hi else None
        else:
            reason = "unscored"
        if not st.filter or reason is None:
            return None
        detail = (
            f"pass rate {rec.scores['pass_rate']:.3f} outside {list(st.band)}"
            if usable
            else f"no usable student sample of {tally['k']}"
        )
        return Rejection(rec, self.name, reason, detail)

    def _intrinsic(self, rec: Record) -> Record:
        """Intrinsic difficulty from the solver effort of the record's passing traces."""
        passing = [t for t in rec.traces if t.verdict is not None and t.verdict.passed]
        efforts = [t.meta.get("solver", {}) for t in passing]
        nodes = min((e.get("nodes", 0) for e in efforts), default=0)
        rec.scores["effort_nodes"] = float(nodes)
        rec.scores["effort_backtracks"] = float(min((e.get("backtracks", 0) for e in efforts), default=0))
        rec.scores["difficulty_intrinsic"] = nodes / (nodes + 10) if nodes else 0.0
        rec.scores["trace_tokens_min"] = float(min((t.tokens for t in passing), default=0))
        return rec


STAGES.register(ScoreStage.name, ScoreStage)
