"""Seed synthesis: draw procedural problems from the registered families, then LLM seeds.

The shard plan (`reasonmill.pipelines.plan`) lays the items out: sources interleaved in
proportion to their counts, so every shard mixes families. Item `t` of a source draws from
`item_rng(stream, seed, t)` at level `levels[t % len(levels)]`.

With a `synthesis` section, MindGYM samples (`reasonmill.generators.llm_tasks.mindgym`) follow as
extra shards after the procedural ones, `samples_per_shard` samples each: sample t's sub-question
j is the record of index `5 t + j` (source "mindgym", question = background + sub-question, kind
inferred from the answer), so every sub-question of one background lands in one shard for LLM
composition. A sample that fails (failed, truncated or malformed reply; a background still too
similar to an earlier one after the retries) is one rejection with the raw replies kept in
`record.meta["llm"]`. Dedup compares backgrounds within a shard, so a shard depends only on the
config and its index (exact resume); the request cache makes a rerun free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from reasonmill.config import BuildConfig
from reasonmill.errors import ConfigError
from reasonmill.generators import FAMILIES
from reasonmill.generators.llm_tasks.mindgym import (
    AREAS,
    SynthesisSettings,
    SynthSample,
    render_background,
    render_subquestions,
    synthesize,
)
from reasonmill.generators.llm_tasks.parsing import infer_kind
from reasonmill.pipelines.context import StageContext
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.records import AnswerKind, Problem, Record, Rejection
from reasonmill.rng import item_rng

SUB_STRIDE = 5
"""Record index of sub-question j of MindGYM sample t: SUB_STRIDE * t + j (at most 5 per sample)."""


class SeedStage(Stage):
    """Procedural seeds from `config.seeds`, then MindGYM seeds from `config.synthesis`."""

    name = "seeds"
    version = "1"
    sections = ("seeds", "synthesis")
    source = True

    def __init__(self, ctx: StageContext) -> None:
        super().__init__(ctx)
        config = ctx.config
        self.families = []
        for i, src in enumerate(config.seeds):
            if src.generator not in FAMILIES:
                raise ConfigError(
                    f"seeds[{i}].generator",
                    f"unknown generator '{src.generator}'; known: {', '.join(FAMILIES.names())}",
                )
            fam = FAMILIES.get(src.generator)
            fam.params(src.params, field_prefix=f"seeds[{i}].params")
            for j, lv in enumerate(src.levels):
                try:
                    fam.params({**src.params, "level": lv})
                except ConfigError as exc:
                    raise ConfigError(f"seeds[{i}].levels[{j}]", str(exc).split(": ", 1)[-1]) from None
            self.families.append(fam)
        syn = config.synthesis
        self.areas = list(AREAS)
        if syn is not None:
            for i, area in enumerate(syn.areas):
                if area not in AREAS:
                    raise ConfigError(
                        f"synthesis.areas[{i}]", f"unknown area '{area}'; known: {', '.join(AREAS)}"
                    )
            self.areas = list(syn.areas) or list(AREAS)

    @classmethod
    def backends(cls, config: BuildConfig) -> list[str]:
        return [config.synthesis.backend] if config.synthesis else []

    @classmethod
    def prompts(cls, config: BuildConfig) -> list[Callable[..., Any]]:
        return [render_background, render_subquestions]

    def run(self, records: list[Record], shard: int) -> Iterator[Output]:
        plan, seed = self.ctx.plan, self.config.seed
        if shard >= plan.procedural_shards and self.config.synthesis is not None:
            yield from self._synthesize(shard)
            return
        for item in plan.items(shard):
            src, fam = self.config.seeds[item.source], self.families[item.source]
            level = src.levels[item.index % len(src.levels)]
            try:
                problem = fam.generate(
                    item_rng(item.stream, seed, item.index), fam.params({**src.params, "level": level})
                )
            except Exception as exc:  # a generator bug must not lose the slot silently
                empty = Problem(question="", answer="", kind=fam.answer_kind)
                rec = Record(
                    Record.make_id(item.stream, seed, item.index, empty),
                    src.generator,
                    seed,
                    item.index,
                    level,
                    empty,
                )
                yield Rejection(rec, self.name, "generator_error", f"{type(exc).__name__}: {exc}")
                continue
            problem.kind = problem.kind or fam.answer_kind
            yield Record(
                id=Record.make_id(item.stream, seed, item.index, problem),
                source=src.generator,
                seed=seed,
                index=item.index,
                level=level,
                problem=problem,
            )

    def _synthesize(self, shard: int) -> Iterator[Output]:
        syn = self.config.synthesis
        assert syn is not None
        settings = SynthesisSettings(
            subquestions=syn.subquestions,
            threshold=syn.dedup_threshold,
            max_retries=syn.max_retries,
            temperature=syn.temperature,
            top_p=syn.top_p,
            max_tokens=syn.max_tokens,
            seed=self.config.seed,
        )
        indices = self.ctx.plan.synthesis_samples(shard, syn.count)
        samples = synthesize(self.backend(syn.backend), self.areas, indices, self.config.seed, settings)
        for smp in samples:
            self.count("mindgym_regenerations", max(0, smp.attempts - 1))
            yield from self._sample_outputs(smp)

    def _sample_outputs(self, smp: SynthSample) -> Iterator[Output]:
        seed = self.config.seed
        info = {
            "sample": smp.index,
            "area": smp.area,
            "background": smp.background,
            "attempts": smp.attempts,
            "similarity": round(smp.similarity, 4),
        }
        if smp.problem is not None:
            empty = Problem(
                question=smp.background, answer="", kind=AnswerKind.FREE_FORM.value, meta={"mindgym": info}
            )
            index = SUB_STRIDE * smp.index
            rec = Record(
                id=Record.make_id("mindgym", seed, index, empty),
                source="mindgym",
                seed=seed,
                index=index,
                level=1,
                problem=empty,
                meta={"llm": {**smp.problem.as_meta(), "replies": smp.raw}},
            )
            yield Rejection(
                rec, self.name, smp.problem.reason, f"{smp.problem.detail}; raw: {smp.problem.raw[:1000]!r}"
            )
            return
        for k, sq in enumerate(smp.subquestions):
            problem = Problem(
                question=f"{smp.background}\n\n{sq.question}",
                answer=sq.answer,
                kind=infer_kind(sq.answer),
                meta={
                    "mindgym": {**info, "sub": k, "subs": len(smp.subquestions), "sub_question": sq.question}
                },
            )
            index = SUB_STRIDE * smp.index + k
            yield Record(
                id=Record.make_id("mindgym", seed, index, problem),
                source="mindgym",
                seed=seed,
                index=index,
                level=1,
                problem=problem,
                meta={"llm": {"notes": smp.notes}} if smp.notes else {},
            )


STAGES.register(SeedStage.name, SeedStage)
