"""Trace distillation: the configured teacher writes `samples` traces per record.

The programmatic teacher narrates backtracks by level (`distill.backtracks_by_level`); every
sample is kept, correct or not, so later stages can use wrong ones for analysis and preferences.
A teacher failure on a record is a `teacher_error` rejection carrying the exception text.

`distill.teacher: "llm:NAME"` makes the LLM backend NAME the teacher
(`reasonmill.generators.llm.teacher.LLMTeacher`): one batched request per shard, `samples`
samples per record. Samples that parse become traces; the others are kept with their raw text in
`record.meta["llm_teacher"]["bad_samples"]`; a record none of whose samples parse is a rejection
(`truncated_reply`, `request_failed` or `malformed_reply`) with the raw texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from reasonmill.config import BuildConfig
from reasonmill.errors import ConfigError
from reasonmill.generators import TEACHERS
from reasonmill.generators.llm.teacher import LLMTeacher, bad_samples_meta
from reasonmill.llm.types import SamplingParams
from reasonmill.pipelines.llm import open_backend
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
        self.llm_backend = config.distill.llm_backend()
        if self.llm_backend is not None:
            return
        if config.distill.teacher not in TEACHERS:
            raise ConfigError("distill.teacher", f"unknown teacher '{config.distill.teacher}'; known: {', '.join(TEACHERS.names())}")
        self.teacher = TEACHERS.get(config.distill.teacher)

    def run(self, records: Iterable[Record], shard: int, counts: ShardCounts) -> Iterator[Output]:
        if self.llm_backend is not None:
            yield from self._run_llm(list(records), counts)
            return
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


    def _run_llm(self, records: list[Record], counts: ShardCounts) -> Iterator[Output]:
        cfg = self.config.distill
        assert self.llm_backend is not None
        sampling = SamplingParams(temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens, seed=self.config.seed)
        if records:
            with open_backend(self.config, self.llm_backend, self.out, self.llm_tag, counts) as backend:
                outcomes = LLMTeacher(backend, cfg.teacher, sampling).outcomes(records, cfg.samples)
        else:
            outcomes = []
        for rec, outcome in zip(records, outcomes, strict=True):
            counts.read += 1
            if outcome.bad:
                rec.meta["llm_teacher"] = {"bad_samples": bad_samples_meta(outcome)}
                counts.extra["llm_bad_samples"] = counts.extra.get("llm_bad_samples", 0) + len(outcome.bad)
            problem = outcome.record_problem()
            if problem is not None:
                counts.reject(problem.reason)
                yield Rejection(rec, self.name, problem.reason, problem.detail)
                continue
            rec.traces = outcome.traces
            counts.written += 1
            yield rec


STAGES.register(DistillStage.name, DistillStage)
