"""Retro-Search: revise verified traces into shorter ones that still reach the verified answer.

Until the revision algorithm is configured, this slot passes records through and records on each
one that it was not revised and why, so the stage exists in every build and its counts balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from reasonmill.pipelines.stages.base import STAGES, Output, Stage
from reasonmill.records import Record
from reasonmill.shards import ShardCounts


class RetroSearchStage(Stage):
    """Verified records in, records with revised traces (or a not-revised note) out."""

    name = "retro_search"
    version = "0"
    sections = ("seeds", "compose", "distill", "verify", "retro_search")

    def run(self, records: Iterable[Record], shard: int, counts: ShardCounts) -> Iterator[Output]:
        for rec in records:
            counts.read += 1
            rec.meta["retro_search"] = {"revised": False, "reason": "revision not available in this build"}
            counts.written += 1
            yield rec


STAGES.register(RetroSearchStage.name, RetroSearchStage)
