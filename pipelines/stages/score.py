"""Difficulty scoring and selection: intrinsic difficulty, exact dedup, decontamination.

Intrinsic difficulty comes from the solver effort of the record's passing traces (nodes expanded,
backtracks): `difficulty_intrinsic = nodes / (nodes + 10)`, in (0, 1) and monotone in effort.
Dedup keeps the first record (in shard order) of each normalised question and rejects the rest as
`duplicate`; decontamination rejects questions that match a public benchmark question exactly or
share a word 13-gram with one (`contaminated`), using only the hashed fingerprints shipped in
`data/`. The dedup table spans all shards, so it is computed once by `prepare` and stored beside
the stage's shards, not recomputed per shard.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow.parquet as pq

from reasonmill.ids import text_fingerprint
from reasonmill.pipelines.decontam import contaminated, load_fingerprints
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
        first = self._dedup_table()
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
            counts.written += 1
            yield rec


STAGES.register(ScoreStage.name, ScoreStage)
