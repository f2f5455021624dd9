"""Difficulty scoring and selection: intrinsic difficulty, exact dedup, decontamination.

Intrinsic difficulty comes from the solver effort of the record's passing traces (nodes expanded,
backtracks): `difficulty_intrinsic = nodes / (nodes + 10)`, in (0, 1) and monotone in effort.
Dedup keeps the first record (in shard order) of each normalised question and rejects the rest as
`duplicate`; decontamination rejects questions that match a public benchmark question exactly or
share a word 13-gram with one (`contaminated`), using only the hashed fingerprints shipped in
`data/`. The dedup table spans all shards (`cross_shard`), so `prepare` computes it once from
every input shard and stores it beside the stage's markers.

Empirical difficulty (`score.student`, on by default): each surviving record gets `k` samples
from the student — the offline student (the families' bounded solvers, `reasonmill.generators.
student`) or, with `backend`, an LLM in one batched call per shard — checked through the build's
one checking path (pool, or the judge for free-form). A record the offline student has no solver
for (reasoning-gym items) is "unscored". `scores["pass_rate"]` = passed / usable samples, where a sample is
usable when its request completed and its check reached a decision (a timeout or a judge error is
neither right nor wrong); `scores["difficulty"] = 1 - pass_rate`. With `filter`, a pass rate
below the band is `too_hard`, above it `too_easy`, and a record with no usable sample `unscored`;
without it such a record is kept without a pass rate (the counts go to `record.meta["student"]`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from reasonmill.config import BuildConfig
from reasonmill.generators.llm_tasks.parsing import REQUEST_FAILED, TRUNCATED
from reasonmill.generators.llm_tasks.student import StudentSample, render_student, sample_students
from reasonmill.generators.student import student_answers
from reasonmill.ids import text_fingerprint
from reasonmill.llm.types import SamplingParams
from reasonmill.pipelines.context import StageContext
from reasonmill.pipelines.decontam import contaminated, load_fingerprints
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.pipelines.tally import RETRYABLE
from reasonmill.records import Record, Rejection
from reasonmill.shards import StageDir, atomic_write_json

DEDUP_STATE = "first_occurrence.json"


def first_occurrences(input_shards: list[Path]) -> dict[str, str]:
    """Normalised-question hash → id of its first record, scanning shards in order."""
    first: dict[str, str] = {}
    for path in input_shards:
        table = pq.read_table(path, columns=["id", "problem"])
        for rid, prob in zip(
            table.column("id").to_pylist(), table.column("problem").to_pylist(), strict=True
        ):
            first.setdefault(text_fingerprint(prob["question"]), rid)
    return first


class ScoreStage(Stage):
    """Verified records in, scored, deduplicated and decontaminated records out."""

    name = "score"
    version = "1"
    sections = ("score",)
    cross_shard = True

    def __init__(self, ctx: StageContext) -> None:
        super().__init__(ctx)
        self._first: dict[str, str] | None = None
        self._table = load_fingerprints() if ctx.config.score.decontaminate else None
        self._state = StageDir(ctx.out, self.name).state(DEDUP_STATE)

    @classmethod
    def backends(cls, config: BuildConfig) -> list[str]:
        st = config.score.student
        return [st.backend] if st is not None and st.backend else []

    @classmethod
    def prompts(cls, config: BuildConfig) -> list[Callable[..., Any]]:
        return [render_student]

    def prepare(self, inputs: list[Path]) -> None:
        if not self.config.score.dedup:
            return
        self._first = first_occurrences(inputs)
        atomic_write_json(
            self._state,
            {"key": self.key_part(self.config), "shards": [p.name for p in inputs], "first": self._first},
        )

    def _dedup_table(self) -> dict[str, str] | None:
        if not self.config.score.dedup:
            return None
        if self._first is None:
            if not self._state.exists():
                raise RuntimeError("score stage: dedup table missing; run prepare() first")
            self._first = json.loads(self._state.read_text())["first"]
        return self._first

    def run(self, records: list[Record], shard: int) -> Iterator[Output]:
        scored = list(self._score(records))
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
                sample_students(self.backend(st.backend), [r.problem.question for r in records], st.k, sampling)
                if records
                else []
            )
        else:  # the offline student: the families' bounded solvers, k samples each
            samples = [[StudentSample(t) for t in student_answers(r, st.k, self.config.seed)] for r in records]
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

    def _score(self, records: list[Record]) -> Iterator[Output]:
        """Dedup, decontamination and intrinsic difficulty."""
        first = self._dedup_table()
        for rec in records:
            fp = text_fingerprint(rec.problem.question)
            if first is not None and first.get(fp, rec.id) != rec.id:
                yield Rejection(rec, self.name, "duplicate", f"same question as {first[fp]}")
                continue
            if self._table is not None and contaminated(rec.problem.question, self._table):
                yield Rejection(
                    rec, self.name, "contaminated", "matches a benchmark question (exact or 13-gram)"
                )
                continue
            passing = [t for t in rec.traces if t.verdict is not None and t.verdict.passed]
            efforts = [t.meta.get("solver", {}) for t in passing]
            nodes = min((e.get("nodes", 0) for e in efforts), default=0)
            rec.scores["effort_nodes"] = float(nodes)
            rec.scores["effort_backtracks"] = float(min((e.get("backtracks", 0) for e in efforts), default=0))
            rec.scores["difficulty_intrinsic"] = nodes / (nodes + 10) if nodes else 0.0
            rec.scores["trace_tokens_min"] = float(min((t.tokens for t in passing), default=0))
            yield rec


STAGES.register(ScoreStage.name, ScoreStage)
