"""Seed synthesis: draw procedural problems from the registered families.

All seed sources of the config are interleaved in proportion to their counts, so every shard
mixes families (composition draws its parents from one shard). Item `t` of a source draws from
`item_rng(source, seed, t)` at level `levels[t % len(levels)]`.
"""

from __future__ import annotations

from collections.abc import Iterator

from reasonmill.config import BuildConfig
from reasonmill.errors import ConfigError
from reasonmill.generators import FAMILIES
from reasonmill.pipelines.stages.base import STAGES, Output, SourceStage
from reasonmill.records import Problem, Record, Rejection
from reasonmill.rng import item_rng
from reasonmill.shards import ShardCounts


class SeedStage(SourceStage):
    """Procedural seeds from `config.seeds`."""

    name = "seeds"
    version = "1"
    sections = ("seeds",)

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

    def num_shards(self) -> int:
        return max(1, -(-len(self.plan) // self.config.shard_rows))

    def create(self, shard: int, counts: ShardCounts) -> Iterator[Output]:
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


STAGES.register(SeedStage.name, SeedStage)
