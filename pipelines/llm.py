"""LLM backends for stages: open one named backend for one shard, cached in the build folder.

A stage opens the backend it needs at the start of a shard and closes it at the end
(`open_backend` is a context manager). Why per shard rather than per process: shards run in
Prefect worker threads, and an HTTP backend owns an event-loop thread and a connection pool; one
per shard keeps them out of each other's way at the cost of a few milliseconds per shard.

Requests go through the content-keyed `RequestCache` in `OUT/llm_cache.sqlite` (unless
`llm.cache: false`), tagged with the stage's name and version, so a resumed or rerun build asks
the model again only for what it has not answered completely before; bumping a stage's version
makes its requests miss. The backend's counters land in the shard's `counts.extra` as
`llm_<counter>` (requests, retries, failures, rate_limited, cache_hits, tokens).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reasonmill.config import BuildConfig
from reasonmill.llm import LLMBackend, make_backend
from reasonmill.shards import ShardCounts

CACHE_FILE = "llm_cache.sqlite"


def cache_path(out: Path) -> Path:
    """Where a build keeps its LLM request cache."""
    return Path(out) / CACHE_FILE


@contextmanager
def open_backend(config: BuildConfig, name: str, out: Path | None, tag: str, counts: ShardCounts | None = None) -> Iterator[LLMBackend]:
    """The backend `name` of `config.llm.backends`, cached under `tag` when the build has a folder
    and `llm.cache` is on; closed on exit, its counters added to `counts.extra`."""
    cache = cache_path(out) if config.llm.cache and out is not None else None
    backend = make_backend(config.llm.backends[name], cache=cache, tag=tag)
    try:
        yield backend
    finally:
        try:
            if counts is not None:
                for k, v in backend.stats.as_dict().items():
                    if v:
                        counts.extra[f"llm_{k}"] = counts.extra.get(f"llm_{k}", 0) + v
        finally:
            backend.close()
