"""What a Prefect task of the build does, in the process that runs it: plain functions over shards.

Kept apart from the task definitions (`reasonmill.pipelines.flows`) on purpose: Dask pickles a
task's function by value with the module globals it references, so those functions reference only
this module, which pickles by name; the per-process state that must never travel (locks, open
backends, stage instances) lives here and is rebuilt in each worker process.

Per process: one `StageContext` per (build folder, config, endpoints) — the backends and the
answer checker are shared by every task of the build in that process; per thread: the stage
instances, as the plain runner keeps one stage per stage.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from reasonmill.config import validate_config
from reasonmill.pipelines import runner
from reasonmill.pipelines.context import StageContext, make_context
from reasonmill.pipelines.stages.base import Stage

_contexts: dict[tuple[str, str, str], StageContext] = {}
_contexts_lock = threading.Lock()
_local = threading.local()


def context(out: str, config_json: dict[str, Any], endpoints: dict[str, list[str]] | None) -> StageContext:
    """This process's context for the build of `config_json` into `out`."""
    config = validate_config(config_json)
    key = (out, config.config_hash(), repr(sorted((endpoints or {}).items())))
    with _contexts_lock:
        if key not in _contexts:
            _contexts[key] = make_context(config, Path(out), endpoints)
        return _contexts[key]


def stage(ctx: StageContext, stage_name: str, fresh: bool = False) -> Stage:
    """This thread's instance of `stage_name` for `ctx`."""
    cache = _local.__dict__.setdefault("stages", {})
    key = (id(ctx), stage_name)
    if fresh or key not in cache:
        cache[key] = runner.make_stage(stage_name, ctx)
    return cache[key]


def prepare(
    out: str, config_json: dict[str, Any], stage_name: str, endpoints: dict[str, list[str]] | None
) -> None:
    """Cross-shard preparation of one stage, when some shard of it needs work."""
    ctx = context(out, config_json, endpoints)
    if runner.stage_needs_work(ctx, stage_name):
        runner.prepare_stage(ctx, stage(ctx, stage_name, fresh=True))


def run(
    out: str, config_json: dict[str, Any], stage_name: str, shard: int, endpoints: dict[str, list[str]] | None
) -> dict[str, Any]:
    """Run one stage on one shard (skipped when complete); the marker info, tagged with the stage."""
    ctx = context(out, config_json, endpoints)
    info = runner.run_shard(ctx, stage(ctx, stage_name), shard)
    info["stage"] = stage_name
    return info


def corpus(out: str, config_json: dict[str, Any], endpoints: dict[str, list[str]] | None) -> dict[str, Any]:
    """The corpus step of the build."""
    return runner.write_corpus(context(out, config_json, endpoints))


def close_contexts(out: str) -> None:
    """Close the contexts (backends) this process opened for build folder `out`."""
    with _contexts_lock:
        keys = [k for k in _contexts if k[0] == out]
        ctxs = [_contexts.pop(k) for k in keys]
    for ctx in ctxs:
        ctx.close()
