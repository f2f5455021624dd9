"""Curation in the build: the same code `reasonmill curate` runs, over the records that reach the corpus.

A cross-shard stage (`cross_shard`): `prepare` reads every scored record, builds the curation
table the corpus export would give for them (`reasonmill.pipelines.curation.records_table`) and
plans curation once over all of it — exact, near-duplicate and semantic dedup, decontamination
against the benchmark registry (exact, n-gram, embedding retrieval with the number-aware check,
optional LLM-judge confirmation), then the selectors the `curate` section names — and stores the
plan beside the stage's markers and its report (JSON, Markdown, HTML, plots) in `OUT/curation/`. Each shard's `run`
then applies the plan: a kept record gets the selectors' `curation_*` scores, a dropped one is a
`Rejection` with the plan's reason (`duplicate`, `near_duplicate`, `semantic_duplicate`,
`contaminated`, `not_selected`, ...) and detail. A record with no verified trace (which the
corpus would not export) passes through untouched. So a build and `reasonmill curate` on the same
rows decide alike.

The `curate` section of the build config is a `CurationConfig` (validated here, errors naming
`curate.<field>`); `curate: null` turns the stage into a pass-through. Judge backends it names are
the build's `llm.backends`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reasonmill.config import BuildConfig
from reasonmill.pipelines.context import StageContext
from reasonmill.pipelines.curation import CurationPlan, load_curation_config, plan_curation, records_table
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.records import Record, Rejection
from reasonmill.shards import StageDir, iter_records

PLAN_STATE = "plan"
REPORT_DIR = "curation"


def curation_config(config: BuildConfig) -> Any:
    """The build's `CurationConfig`, or None when curation is off."""
    return None if config.curate is None else load_curation_config(config.curate, prefix="curate")


class CurateStage(Stage):
    """Scored records in; the records curation keeps out, the rest as rejections with reasons."""

    name = "curate"
    version = "1"
    sections = ("curate",)
    cross_shard = True

    def __init__(self, ctx: StageContext) -> None:
        super().__init__(ctx)
        self.curation = curation_config(ctx.config)
        self._state = StageDir(ctx.out, self.name).state(PLAN_STATE)
        self._plan: CurationPlan | None = None

    @classmethod
    def backends(cls, config: BuildConfig) -> list[str]:
        cc = curation_config(config)
        return sorted(cc.backend_names()) if cc is not None else []

    def prepare(self, inputs: list[Path]) -> None:
        if self.curation is None:
            return
        table = records_table(iter_records(inputs))
        backends = {name: self.backend(name) for name in self.curation.backend_names()}
        plan = plan_curation(
            table, self.curation, cache_dir=self.ctx.out / self.name / ".cache", backends=backends
        )
        plan.save(self._state)
        plan.report.write(self.ctx.out / REPORT_DIR)
        self._plan = plan

    def plan(self) -> CurationPlan | None:
        """The stored plan (computed by `prepare`, maybe in another process)."""
        if self.curation is None:
            return None
        if self._plan is None:
            if not (self._state / "decisions.parquet").exists():
                raise RuntimeError("curate stage: no curation plan; run prepare() first")
            self._plan = CurationPlan.load(self._state)
        return self._plan

    def run(self, records: list[Record], shard: int) -> Iterator[Output]:
        plan = self.plan()
        for rec in records:
            if plan is None or rec.id not in plan:
                yield rec
                continue
            rec.scores.update(plan.scores(rec.id))
            d = plan.decision(rec.id)
            yield rec if d.kept else Rejection(rec, self.name, str(d.reason), d.detail)


STAGES.register(CurateStage.name, CurateStage)
