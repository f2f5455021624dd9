"""Stage tallies that are not rows (composition redraws, judge errors, ...), counted per shard.

The runner opens a tally for each shard it runs (`shard_tally`); anything running inside that
shard — the stage, the answer checker — adds to it with `count(name, n)` (datatrove's
`stat_update`). Tallies land in the shard's marker under `counts.extra` and are summed into the
manifest. A context variable, not an attribute, holds the open tally, so shards of one stage
running in parallel threads never mix their counts.

`RETRYABLE` is the tally a stage adds to when some row of the shard holds a failure a rerun can
cure (a request that failed or was cut off): the shard is then redone on the next run, asking the
model again only for what failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

RETRYABLE = "retryable"

_TALLY: ContextVar[dict[str, int] | None] = ContextVar("reasonmill_shard_tally", default=None)


def count(name: str, n: int = 1) -> None:
    """Add `n` to tally `name` of the shard being run (nothing when no shard is open or n is 0)."""
    tally = _TALLY.get()
    if tally is not None and n:
        tally[name] = tally.get(name, 0) + n


@contextmanager
def shard_tally() -> Iterator[dict[str, int]]:
    """Open a fresh tally for one shard; yields the dict it fills."""
    tally: dict[str, int] = {}
    token = _TALLY.set(tally)
    try:
        yield tally
    finally:
        _TALLY.reset(token)
