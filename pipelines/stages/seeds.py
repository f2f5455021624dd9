"""Seed synthesis: draw procedural problems from the registered families, then LLM seeds.

All seed sources of the config are interleaved in proportion to their counts, so every shard
mixes families (composition draws its parents from one shard). Item `t` of a source draws from
`item_rng(source, seed, t)` at level `levels[t % len(levels)]`.

With a `synthesis` section, MindGYM samples (`reasonmill.generators.llm.mindgym`) follow as extra
shards after the procedural ones, `samples_per_shard` samples each: sample t's sub-question j is
the record of index `5 t + j` (source "mindgym", question = background + sub-question, kind
inferred from the answer), so every sub-question of one background lands in one shard for LLM
composition. A sample that fails (failed, truncated or malformed reply; a background still too
similar to an earlier one after the retries) is one rejection with the raw replies kept in
`record.meta["llm"]`. Dedup compares backgrounds within a shard, so a shard depends only on the
config and its index (exact resume); the request cache makes a rerun free.
"""

from __future__ import annotations

from collections.abc import Iterator

from reasonmill.config import BuildConfig
from reasonmill.errors import ConfigError
from reasonmill.generators import FAMILIES
from reasonmill.generators.llm.mindgym import AREAS, SynthesisSettings, SynthSample, synthesize
from reasonmill.generators.llm.parsing import infer_kind
from reasonmill.pipelines.llm import open_backend
from reasonmill.pipelines.stages.base import STAGES, Output, SourceStage
from reasonmill.records import AnswerKind, Problem, Record, Rejection
from reasonmill.rng import item_rng
from reasonmill.shards import ShardCounts

SUB_STRIDE = 5
"""Record index of sub-question j of MindGYM sample t: SUB_STRIDE * t + j (at most 5 per sample)."""


class SeedStage(SourceStage):
    """Procedural seeds from `config.seeds`."""

    name = "seeds"
    version = "1"
    sections = ("seeds", "synthesis", "llm")

    def __init__(self, config: BuildConfig) -> None:
        super().__init__(config)
        names = [s.generator for s in config.seeds]
        self.sources = []
        for i, src in enumerate(config.seeds):
            if src.generator not in FAMILIES:
                raise ConfigError(f"seeds[{i}].generator", f"unknown generator '{src.generator}'; known: {', '.join(FAMILIES.names())}")
            fam = FAMILIES.get(src.generator)
            for j, lv in enumerate(src.levels):
                fam.params({**src.params, "level": lv}, field_prefix=f"seeds[{i}].levels[{j}]")
            # Two sources with the same generator get distinct random streams.
            rng_name = src.generator if names.count(src.generator) == 1 else f"{src.generator}#{i}"
            self.sources.append((rng_name, fam, src))
        plan = [(t / src.count, i, t) for i, (_, _, src) in enumerate(self.sources) for t in range(src.count)]
        plan.sort()
        self.plan = [(i, t) for _, i, t in plan]
        self.procedural_shards = -(-len(self.plan) // config.shard_rows)
        syn = config.synthesis
        self.areas = list(AREAS)
        self.samples_per_shard = 1
        self.synthesis_shards = 0
        if syn is not None:
            for i, area in enumerate(syn.areas):
                if area not in AREAS:
                    raise ConfigError(f"synthesis.areas[{i}]", f"unknown area '{area}'; known: {', '.join(AREAS)}")
            self.areas = list(syn.areas) or list(AREAS)
            self.samples_per_shard = syn.samples_per_shard or max(1, config.shard_rows // syn.subquestions)
            self.synthesis_shards = -(-syn.count // self.samples_per_shard)

    def num_shards(self) -> int:
        return max(1, self.procedural_shards + self.synthesis_shards)

    def create(self, shard: int, counts: ShardCounts) -> Iterator[Output]:
        if shard >= self.procedural_shards and self.config.synthesis is not None:
            yield from self._synthesize(shard - self.procedural_shards, counts)
            return
        rows = self.config.shard_rows
        for i, t in self.plan[shard * rows : (shard + 1) * rows]:
            rng_name, fam, src = self.sources[i]
            level = src.levels[t % len(src.levels)]
            counts.created += 1
            try:
                problem = fam.generate(item_rng(rng_name, self.config.seed, t), fam.params({**src.params, "level": level}))
            except Exception as exc:  # a generator bug must not lose the slot silently
                empty = Problem(question="", answer="", kind=fam.answer_kind)
                rec = Record(id=Record.make_id(rng_name, self.config.seed, t, empty), source=src.generator, seed=self.config.seed, index=t, level=level, problem=empty)
                counts.reject("generator_error")
                yield Rejection(rec, self.name, "generator_error", f"{type(exc).__name__}: {exc}")
                continue
            problem.kind = problem.kind or fam.answer_kind
            rec = Record(
                id=Record.make_id(rng_name, self.config.seed, t, problem),
                source=src.generator,
                seed=self.config.seed,
                index=t,
                level=level,
                problem=problem,
            )
            counts.written += 1
            yield rec


    def _synthesize(self, j: int, counts: ShardCounts) -> Iterator[Output]:
        syn = self.config.synthesis
        assert syn is not None
        indices = range(j * self.samples_per_shard, min(syn.count, (j + 1) * self.samples_per_shard))
        settings = SynthesisSettings(
            subquestions=syn.subquestions, threshold=syn.dedup_threshold, max_retries=syn.max_retries,
            temperature=syn.temperature, top_p=syn.top_p, max_tokens=syn.max_tokens, seed=self.config.seed,
        )
        with open_backend(self.config, syn.backend, self.out, self.llm_tag, counts) as backend:
            samples = synthesize(backend, self.areas, indices, self.config.seed, settings)
        for smp in samples:
            counts.extra["mindgym_regenerations"] = counts.extra.get("mindgym_regenerations", 0) + max(0, smp.attempts - 1)
            yield from self._sample_outputs(smp, counts)

    def _sample_outputs(self, smp: SynthSample, counts: ShardCounts) -> Iterator[Output]:
        seed = self.config.seed
        info = {"sample": smp.index, "area": smp.area, "background": smp.background, "attempts": smp.attempts, "similarity": round(smp.similarity, 4)}
        if smp.problem is not None:
            empty = Problem(question=smp.background, answer="", kind=AnswerKind.FREE_FORM.value, meta={"mindgym": info})
            index = SUB_STRIDE * smp.index
            rec = Record(id=Record.make_id("mindgym", seed, index, empty), source="mindgym", seed=seed, index=index, level=1, problem=empty,
                         meta={"llm": {**smp.problem.as_meta(), "replies": smp.raw}})
            counts.created += 1
            counts.reject(smp.problem.reason)
            yield Rejection(rec, self.name, smp.problem.reason, f"{smp.problem.detail}; raw: {smp.problem.raw[:1000]!r}")
            return
        for k, sq in enumerate(smp.subquestions):
            problem = Problem(
                question=f"{smp.background}\n\n{sq.question}",
                answer=sq.answer,
                kind=infer_kind(sq.answer),
                meta={"mindgym": {**info, "sub": k, "subs": len(smp.subquestions), "sub_question": sq.question}},
            )
            index = SUB_STRIDE * smp.index + k
            counts.created += 1
            counts.written += 1
            yield Record(id=Record.make_id("mindgym", seed, index, problem), source="mindgym", seed=seed, index=index, level=1,
                         problem=problem, meta={"llm": {"notes": smp.notes}} if smp.notes else {})


STAGES.register(SeedStage.name, SeedStage)
