"""The shard plan of a build: how many shards every stage has, and which seed items go where.

All seed sources of the config are interleaved in proportion to their counts, so every shard
mixes families (composition draws its parents from one shard). Item `t` of source `i` comes at
position `t / count_i` of the interleaving; ties keep source order. Procedural seed shards come
first (`shard_rows` items each), then, with a `synthesis` section, the MindGYM shards
(`samples_per_shard` background samples each). Every later stage writes shard k from shard k of
the stage before it, so the plan fixes the shard count of the whole build.

Computing the interleaving of a large build takes a moment, so plans are memoised per config.

>>> from reasonmill.config import validate_config
>>> plan = shard_plan(validate_config({"shard_rows": 50, "seeds": [{"generator": "countdown", "count": 120}]}))
>>> plan.procedural_shards, plan.num_shards, len(plan.items(2))
(3, 3, 20)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from reasonmill.config import BuildConfig, SeedSource


@dataclass(frozen=True, slots=True)
class SeedItem:
    """One procedural seed slot: the source's position in `config.seeds`, its random-stream name,
    and the item's index within that source."""

    source: int
    stream: str
    index: int


@dataclass(frozen=True)
class ShardPlan:
    """Shard counts and the procedural seed layout of one build (see the module docstring)."""

    shard_rows: int
    order: tuple[tuple[int, int], ...]  # (source position, item index) in interleaved order
    streams: tuple[str, ...]  # random-stream name per source position
    procedural_shards: int
    synthesis_shards: int
    samples_per_shard: int

    @property
    def num_shards(self) -> int:
        """Shards of every stage (at least one, even for an empty build)."""
        return max(1, self.procedural_shards + self.synthesis_shards)

    def items(self, shard: int) -> list[SeedItem]:
        """The procedural seed items of seed shard `shard` (none for a synthesis shard)."""
        rows = self.order[shard * self.shard_rows : (shard + 1) * self.shard_rows]
        return [SeedItem(i, self.streams[i], t) for i, t in rows]

    def synthesis_samples(self, shard: int, count: int) -> range:
        """Indices of the MindGYM samples of seed shard `shard` (empty for a procedural shard)."""
        j = shard - self.procedural_shards
        if j < 0:
            return range(0)
        return range(j * self.samples_per_shard, min(count, (j + 1) * self.samples_per_shard))


def stream_names(seeds: list[SeedSource]) -> tuple[str, ...]:
    """Random-stream name per seed source: the generator's name, or "name#i" when two sources use
    the same generator (so they draw distinct items)."""
    names = [s.generator for s in seeds]
    return tuple(n if names.count(n) == 1 else f"{n}#{i}" for i, n in enumerate(names))


def _make_plan(config: BuildConfig) -> ShardPlan:
    order = sorted((t / src.count, i, t) for i, src in enumerate(config.seeds) for t in range(src.count))
    flat = tuple((i, t) for _, i, t in order)
    procedural = -(-len(flat) // config.shard_rows)
    syn = config.synthesis
    per_shard, synthesis = 1, 0
    if syn is not None:
        per_shard = syn.samples_per_shard or max(1, config.shard_rows // syn.subquestions)
        synthesis = -(-syn.count // per_shard)
    return ShardPlan(config.shard_rows, flat, stream_names(config.seeds), procedural, synthesis, per_shard)


_PLANS: dict[str, ShardPlan] = {}
_lock = threading.Lock()


def shard_plan(config: BuildConfig) -> ShardPlan:
    """The plan of `config`, memoised by config hash."""
    key = config.config_hash()
    with _lock:
        if key not in _PLANS:
            _PLANS[key] = _make_plan(config)
        return _PLANS[key]
