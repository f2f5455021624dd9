"""Trace distillation: the configured teacher writes `samples` traces per record.

The programmatic teacher narrates the search it runs, its policy set by level
(`distill.backtracks_by_level`), and is wrong as often as its error model says
(`distill.errors`: uncaught slips, searches stopped at their budget, misread clues); every sample
is kept, correct or not, so verification rejects the wrong ones with reasons and they become the
rejected side of preference pairs.
A teacher failure on a record is a `teacher_error` rejection carrying the exception text.

`distill.backend: NAME` makes the LLM backend NAME the teacher
(`reasonmill.generators.llm_tasks.teacher.LLMTeacher`): one batched request per shard, `samples`
samples per record. Samples that parse become traces; the others are kept with their raw text in
`record.meta["llm_teacher"]["bad_samples"]`; a record none of whose samples parse is a rejection
(`truncated_reply`, `request_failed` or `malformed_reply`) with the raw texts. A sample whose
request failed or was cut off marks the shard for a retry on the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from reasonmill.config import BuildConfig
from reasonmill.errors import ConfigError
from reasonmill.generators import TEACHERS
from reasonmill.generators.errors_model import ErrorModel
from reasonmill.generators.llm_tasks.parsing import REQUEST_FAILED, TRUNCATED
from reasonmill.generators.llm_tasks.teacher import LLMTeacher, bad_samples_meta, render_teacher
from reasonmill.llm.types import SamplingParams
from reasonmill.pipelines.context import StageContext
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.pipelines.tally import RETRYABLE
from reasonmill.records import Record, Rejection


def backtracks_for(level: int, by_level: list[int]) -> int:
    """Backtracks to narrate at `level` (1-based; the last entry repeats for higher levels)."""
    return by_level[min(level, len(by_level)) - 1]


class DistillStage(Stage):
    """Records in, records with traces out."""

    name = "distill"
    version = "1"
    sections = ("distill",)

    def __init__(self, ctx: StageContext) -> None:
        super().__init__(ctx)
        cfg = ctx.config.distill
        if cfg.backend is None:
            if cfg.teacher not in TEACHERS:
                raise ConfigError(
                    "distill.teacher",
                    f"unknown teacher '{cfg.teacher}'; known: {', '.join(TEACHERS.names())}",
                )
            self.teacher = TEACHERS.get(cfg.teacher)
        self.errors = ErrorModel(rate_by_level=tuple(cfg.errors.rate_by_level), kinds=tuple(cfg.errors.kinds))

    @classmethod
    def backends(cls, config: BuildConfig) -> list[str]:
        return [config.distill.backend] if config.distill.backend else []

    @classmethod
    def prompts(cls, config: BuildConfig) -> list[Callable[..., Any]]:
        return [render_teacher]

    def run(self, records: list[Record], shard: int) -> Iterator[Output]:
        cfg = self.config.distill
        if cfg.backend is not None:
            yield from self._run_llm(records, cfg.backend)
            return
        for rec in records:
            try:
                rec.traces = self.teacher.traces(
                    rec,
                    cfg.samples,
                    backtracks_for(rec.level, cfg.backtracks_by_level),
                    self.config.seed,
                    errors=self.errors,
                )
            except Exception as exc:
                yield Rejection(rec, self.name, "teacher_error", f"{type(exc).__name__}: {exc}")
                continue
            yield rec

    def _run_llm(self, records: list[Record], backend: str) -> Iterator[Output]:
        cfg = self.config.distill
        if not records:
            return
        sampling = SamplingParams(
            temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens, seed=self.config.seed
        )
        outcomes = LLMTeacher(self.backend(backend), f"llm:{backend}", sampling).outcomes(
            records, cfg.samples
        )
        for rec, outcome in zip(records, outcomes, strict=True):
            if outcome.bad:
                rec.meta["llm_teacher"] = {"bad_samples": bad_samples_meta(outcome)}
                self.count("llm_bad_samples", len(outcome.bad))
                self.count(RETRYABLE, sum(b.reason in (REQUEST_FAILED, TRUNCATED) for b in outcome.bad))
            problem = outcome.record_problem()
            if problem is not None:
                yield Rejection(rec, self.name, problem.reason, problem.detail)
                continue
            rec.traces = outcome.traces
            yield rec


STAGES.register(DistillStage.name, DistillStage)
