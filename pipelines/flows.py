"""The Prefect layer: one task per (stage, shard), one `build` flow that reads like a script.

Tasks pass paths and shard numbers, never rows: a Prefect task run costs milliseconds, so a task
handles a whole shard. Retries are on the decorator; a retried shard task is safe because shard
writes are atomic and finished shards are skipped. The flow runs in Prefect's ephemeral mode with
no server to start; the same flow can be deployed on a schedule against a real Prefect server, or
given a Dask task runner pointed at a cluster (`task_runner="dask"`, needs the `scale` extra).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from reasonmill.config import BuildConfig, validate_config
from reasonmill.pipelines import runner
from reasonmill.pipelines.stages import STAGE_ORDER
from reasonmill.pipelines.stages.base import Stage

# Progress callback for the CLI; tasks run in this process's threads, so a plain hook works.
PROGRESS_HOOK: list[Any] = []

# Each worker thread keeps its validated config and stage instances across tasks, as the plain
# runner keeps one stage per stage: building a stage can cost more than a shard's Prefect overhead
# (the seed plan, the score stage's dedup table). Per thread, because a stage may hold per-shard
# state (an LLM backend) and shard tasks of one stage can run in parallel threads.
_local = threading.local()


def _config(config_json: dict[str, Any]) -> BuildConfig:
    key = json.dumps(config_json, sort_keys=True)
    cache = _local.__dict__.setdefault("configs", {})
    if key not in cache:
        cache[key] = validate_config(config_json)
    return cache[key]


def _stage(out: str, config: BuildConfig, stage_name: str, fresh: bool = False) -> Stage:
    key = (out, config.config_hash(), stage_name)
    cache = _local.__dict__.setdefault("stages", {})
    if fresh or key not in cache:
        cache[key] = runner.make_stage(stage_name, config, Path(out))
    return cache[key]


@task(retries=2, retry_delay_seconds=1, task_run_name="prepare-{stage_name}")
def prepare_task(out: str, config_json: dict[str, Any], stage_name: str) -> None:
    """Cross-shard preparation of one stage (e.g. the dedup table), once per stage."""
    config = _config(config_json)
    if runner.stage_needs_work(Path(out), config, stage_name):
        runner.prepare_stage(Path(out), config, stage_name, stage=_stage(out, config, stage_name, fresh=True))


@task(retries=2, retry_delay_seconds=1, task_run_name="{stage_name}-{shard}")
def shard_task(out: str, config_json: dict[str, Any], stage_name: str, shard: int) -> dict[str, Any]:
    """Run one stage on one shard (skips it when already complete); returns the marker info."""
    config = _config(config_json)
    info = runner.run_shard(Path(out), config, stage_name, shard, stage=_stage(out, config, stage_name))
    for hook in PROGRESS_HOOK:
        hook(stage_name, shard, info)
    return info


@task(retries=1, task_run_name="export")
def finish_task(out: str, config_json: dict[str, Any]) -> dict[str, Any]:
    """Export the corpus and write the manifest."""
    return runner.finish(Path(out), validate_config(config_json))


def _task_runner(kind: str, workers: int, address: str | None) -> Any:
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=address) if address else DaskTaskRunner(cluster_kwargs={"n_workers": workers})
    return ThreadPoolTaskRunner(max_workers=workers)


@flow(name="reasonmill-build", log_prints=False)
def build_flow(config_json: dict[str, Any], out: str) -> dict[str, Any]:
    """Seeds → compose → distill → verify → retro_search → score → corpus, shard by shard."""
    config = validate_config(config_json)
    n = runner.num_shards(config)
    Path(out).mkdir(parents=True, exist_ok=True)
    for stage_name in STAGE_ORDER:
        prepare_task(out, config_json, stage_name)
        futures = [shard_task.submit(out, config_json, stage_name, k) for k in range(n)]
        wait(futures)
        for f in futures:
            f.result()  # re-raise a shard's failure after its retries
    return finish_task(out, config_json)


def run_build(config: BuildConfig, out: Path, workers: int = 1, task_runner: str = "threads", address: str | None = None) -> dict[str, Any]:
    """Run the build flow in Prefect (ephemeral mode unless PREFECT_API_URL points at a server)."""
    f = build_flow.with_options(task_runner=_task_runner(task_runner, workers, address))
    try:
        return f(config.model_dump(mode="json"), str(out))
    finally:
        # When the process exits, the ephemeral server is cancelled while its recorder may still be
        # flushing Prefect's own UI events; it then logs a CancelledError traceback. Our data are
        # all on disk by then, so that noise is silenced.
        logging.getLogger("prefect.server").setLevel(logging.CRITICAL)
