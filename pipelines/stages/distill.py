"""Trace distillation: the configured teacher writes `samples` traces per record.

The programmatic teacher narrates backtracks by level (`distill.backtracks_by_level`); every
sample is kept, correct or not, so later stages can use wrong ones for analysis and preferences.
A teacher failure on a record is a `teacher_error` rejection carrying the exception text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from reasonmill.config import BuildConfig
from reasonmill.errors import ConfigError
from reasonmill.generators import TEACHERS
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.records import Record, Rejection
from reasonmill.shards import ShardCounts


def backtracks_for(level: int, by_level: list[int]) -> int:
    """Backtracks to narrate at `level` (1-based; the last entry repeats for higher levels)."""
    return by_level[min(level, len(by_level)) - 1]


class DistillStage(Stage):
    """Records in, records with traces out."""

    name = "distill"
    version = "1"
    sections = ("seeds", "compose", "distill")

    def __init__(self, config: BuildConfig) -> None:
        super().__init__(config)
        if config.distill.teacher not in TEACHERS:
            raise ConfigError("distill.teacher", f"unknown teacher '{config.distill.teacher}'; known: {', '.join(TEACHERS.names())}")
        self.teacher = TEACHERS.get(config.distill.teacher)

    def run(self, records: Iterable[Record], shard: int, counts: ShardCounts) -> Iterator[Output]:
        cfg = self.config.distill
        for rec in records:
            counts.read += 1
            try:
                rec.traces = self.teacher.traces(rec, cfg.samples, backtracks_for(rec.level, cfg.backtracks_by_level), self.config.seed)
            except Exception as exc:
                counts.reject("teacher_error")
                yield Rejection(rec, self.name, "teacher_error", f"{type(exc).__name__}: {exc}")
                continue
            counts.written += 1
            yield rec


STAGES.register(DistillStage.name, DistillStage)
