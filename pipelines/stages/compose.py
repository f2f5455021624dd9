"""Multi-hop composition: combine seeds of one shard into harder problems by named principles.

Each rule of `config.compose.rules` creates `count` items in total, spread evenly over the seed
shards. Item `j` of a rule draws its parents from its shard's seeds with
`item_rng("compose:<principle>", seed, j)`; a draw the principle cannot combine (e.g. a
non-integer answer to bridge) is redrawn up to `MAX_DRAWS` times, and the misses are counted.
Seeds pass through unchanged when `keep_seeds` is set, else they end as `composed_away`
rejections, so every seed read is accounted for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from reasonmill.config import BuildConfig
from reasonmill.errors import ConfigError
from reasonmill.generators import PRINCIPLES
from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.records import Record, Rejection
from reasonmill.rng import item_rng
from reasonmill.shards import ShardCounts

MAX_DRAWS = 20


class ComposeStage(Stage):
    """Seeds in, seeds plus composed items out."""

    name = "compose"
    version = "1"
    sections = ("seeds", "compose")

    def __init__(self, config: BuildConfig, num_input_shards: int = 1) -> None:
        super().__init__(config)
        for i, rule in enumerate(config.compose.rules):
            if rule.principle not in PRINCIPLES:
                raise ConfigError(f"compose.rules[{i}].principle", f"unknown principle '{rule.principle}'; known: {', '.join(PRINCIPLES.names())}")
            p = PRINCIPLES.get(rule.principle)
            if rule.hops < p.min_hops:
                raise ConfigError(f"compose.rules[{i}].hops", f"{rule.principle} needs at least {p.min_hops} hops")
        self.num_input_shards = num_input_shards

    def _share(self, total: int, shard: int) -> range:
        n = self.num_input_shards
        start = shard * total // n
        return range(start, (shard + 1) * total // n)

    def run(self, records: Iterable[Record], shard: int, counts: ShardCounts) -> Iterator[Output]:
        seeds = []
        for rec in records:
            counts.read += 1
            seeds.append(rec)
            if self.config.compose.keep_seeds:
                counts.written += 1
                yield rec
            else:
                counts.reject("composed_away")
                yield Rejection(rec, self.name, "composed_away", "compose.keep_seeds is false")
        for rule in self.config.compose.rules:
            principle = PRINCIPLES.get(rule.principle)
            if len(seeds) < rule.hops:
                continue
            for j in self._share(rule.count, shard):
                rng = item_rng(f"compose:{rule.principle}", self.config.seed, j)
                for _ in range(MAX_DRAWS):
                    parents = rng.sample(seeds, rule.hops)
                    problem = principle.compose(rng, parents)
                    if problem is not None:
                        break
                    counts.extra["compose_redraws"] = counts.extra.get("compose_redraws", 0) + 1
                else:
                    counts.extra["compose_failed"] = counts.extra.get("compose_failed", 0) + 1
                    continue
                ids = [p.id for p in parents]
                counts.created += 1
                counts.written += 1
                yield Record(
                    id=Record.make_id(rule.principle, self.config.seed, j, problem, ids),
                    source=rule.principle,
                    seed=self.config.seed,
                    index=j,
                    level=max(p.level for p in parents),
                    problem=problem,
                    parents=ids,
                    principle=rule.principle,
                    meta={"compose": {"hops": rule.hops}},
                )


STAGES.register(ComposeStage.name, ComposeStage)
