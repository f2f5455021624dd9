"""Difficulty scoring and selection: intrinsic difficulty, exact dedup, decontamination.

Intrinsic difficulty comes from the solver effort of the record's passing traces (nodes expanded,
backtracks): `difficulty_intrinsic = nodes / (nodes + 10)`, in (0, 1) and monotone in effort.
Dedup keeps the first record (in shard order) of each normalised question and rejects the rest as
`duplicate`; decontamination rejects questions that match a public benchmark question exactly or
share a word 13-gram with one (`contaminated`), using only the hashed fingerprints shipped in
`data/`. The dedup table spans all shards, so it is computed once by `prepare` and stored beside
the stage's shards, not recomputed per shard.

Empirical difficulty (`score.student`): each surviving record gets `k` samples from the student
backend in one batched call per shard, checked like traces (pool, or the judge for free-form).
`scores["pass_rate"]` = passed / usable samples, where a sample is usable when its request
completed and its check reached a decision (a timeout or a judge error is neither right nor
wrong); `scores["difficulty"] = 1 - pass_rate`. With `filter`, a pass rate below the band is
`too_hard`, above it `too_easy`, and a record with no usable sample `unscored`; without it such a
record is kept without a pass rate (the counts go to `record.meta["student"]`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow.parquet as pq

from reasonmill.generators.llm.student import sample_students
from reasonmill.ids import text_fingerprint
from reasonmill.llm.types import SamplingParams
from reasonmill.pipelines.checking import check_texts
from reasonmill.pipelines.decontam import contaminated, load_fingerprints
from reasonmill.pipelines.llm import open_backend
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.records import Record, Rejection
from reasonmill.shards import ShardCounts, atomic_write_json


def first_occurrences(input_shards: list[Path]) -> dict[str, str]:
    """Normalised-question hash → id of its first record, scanning shards in order."""
    first: dict[str, str] = {}
    for path in input_shards:
        table = pq.read_table(path, columns=["id", "problem"])
        for rid, prob in zip(table.column("id").to_pylist(), table.column("problem").to_pylist(), strict=True):
            first.setdefault(text_fingerprint(prob["question"]), rid)
    return first


class ScoreStage(Stage):
    """Verified records in, scored, deduplicated and decontaminated records out."""

    name = "score"
    version = "1"
    sections = ("seeds", "compose", "distill", "verify", "retro_search", "score")

    def __init__(self, config, state_dir: Path | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config)
        self.state_dir = state_dir
        self._first: dict[str, str] | None = None
        self._table = load_fingerprints() if config.score.decontaminate else None

    def _state_path(self) -> Path | None:
        return None if self.state_dir is None else self.state_dir / "_state" / "first_occurrence.json"

    def prepare(self, out: Path, input_shards: list[Path]) -> None:
        if not self.config.score.dedup:
            return
        self._first = first_occurrences(input_shards)
        path = self._state_path()
        if path is not None:
            atomic_write_json(path, {"key": self.key_part(self.config), "shards": [p.name for p in input_shards], "first": self._first})

    def _dedup_table(self) -> dict[str, str] | None:
        if not self.config.score.dedup:
            return None
        if self._first is None:
            path = self._state_path()
            if path is None or not path.exists():
                raise RuntimeError("score stage: dedup table missing; run prepare() first")
            self._first = json.loads(path.read_text())["first"]
        return self._first

    def run(self, records: Iterable[Record], shard: int, counts: ShardCounts) -> Iterator[Output]:
        if self.config.score.student is None:
            yield from self._score(records, counts)
            return
        outputs = list(self._score(records, counts))
        kept = [o for o in outputs if isinstance(o, Record)]
        verdicts = self._student_pass(kept, counts)
        for o in outputs:
            if isinstance(o, Record):
                rejection = self._band(o, verdicts[o.id], counts)
                if rejection is not None:
                    yield rejection
                    continue
            yield o

    def _student_pass(self, records: list[Record], counts: ShardCounts) -> dict[str, dict[str, int]]:
        """Sample the student k times per record and check each sample; tallies per record id."""
        st = self.config.score.student
        assert st is not None
        sampling = SamplingParams(temperature=st.temperature, top_p=st.top_p, max_tokens=st.max_tokens, seed=self.config.seed)
        samples = []
        if records:
            with open_backend(self.config, st.backend, self.out, self.llm_tag, counts) as backend:
                samples = sample_students(backend, [r.problem.question for r in records], st.k, sampling)
        pairs = [(rec, smp.text) for rec, row in zip(records, samples, strict=True) for smp in row if smp.unusable is None]
        verdicts = iter(check_texts(self.config, self.out, pairs, counts, f"{self.llm_tag}:student"))
        tallies = {}
        for rec, row in zip(records, samples, strict=True):
            t = {"k": len(row), "passed": 0, "failed": 0, "unusable": 0}
            for smp in row:
                v = next(verdicts) if smp.unusable is None else None
                if v is None or not v.checked:
                    t["unusable"] += 1
                else:
                    t["passed" if v.passed else "failed"] += 1
            tallies[rec.id] = t
        return tallies

    def _band(self, rec: Record, tally: dict[str, int], counts: ShardCounts) -> Rejection | None:
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
            counts.written += 1
            return None
        counts.reject(reason)
        detail = f"pass rate {rec.scores['pass_rate']:.3f} outside {list(st.band)}" if usable else f"no usable student sample of {tally['k']}"
        return Rejection(rec, self.name, reason, detail)

    def _score(self, records: Iterable[Record], counts: ShardCounts) -> Iterator[Output]:
        """Dedup, decontamination and intrinsic difficulty; kept records are counted as written
        only when no student pass follows (the band decides then)."""
        first = self._dedup_table()
        student = self.config.score.student is not None
        for rec in records:
            counts.read += 1
            if first is not None and first.get(text_fingerprint(rec.problem.question), rec.id) != rec.id:
                counts.reject("duplicate")
                yield Rejection(rec, self.name, "duplicate", f"same question as {first[text_fingerprint(rec.problem.question)]}")
                continue
            if self._table is not None and contaminated(rec.problem.question, self._table):
                counts.reject("contaminated")
                yield Rejection(rec, self.name, "contaminated", "matches a benchmark question (exact or 13-gram)")
                continue
            passing = [t for t in rec.traces if t.verdict is not None and t.verdict.passed]
            efforts = [t.meta.get("solver", {}) for t in passing]
            nodes = min((e.get("nodes", 0) for e in efforts), default=0)
            rec.scores["effort_nodes"] = float(nodes)
            rec.scores["effort_backtracks"] = float(min((e.get("backtracks", 0) for e in efforts), default=0))
            rec.scores["difficulty_intrinsic"] = nodes / (nodes + 10) if nodes else 0.0
            rec.scores["trace_tokens_min"] = float(min((t.tokens for t in passing), default=0))
            if not student:
                counts.written += 1
            yield rec


STAGES.register(ScoreStage.name, ScoreStage)
