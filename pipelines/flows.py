"""The Prefect layer: one task per (stage, shard), one `build` flow that reads like a script.

Tasks pass paths, shard numbers and the config as JSON, never rows: a Prefect task run costs
milliseconds, so a task handles a whole shard. Shards flow through stages without a barrier:
the flow body submits shard k of a stage the moment shard k of the stage before is committed, so
it runs beside the stages still working on other shards (an LLM stage's server never waits for
the CPU stages behind it); a cross-shard stage (`Stage.cross_shard`, curate's dedup) waits
explicitly for every shard before it, through its `prepare` task. The corpus is the same as a stage-by-stage run's, since every
shard's inputs are the same files.

Nothing that holds a lock, a console or a progress bar is referenced by a task (Dask pickles what
tasks reference): progress is reported by the flow body, in the process that drives the build,
as task futures complete. Retries are on the decorators and apply only to errors a retry can cure
(`transient`): a bad config, a corrupt shard, a full disk or a server that fails to start fails
at once, with the same one-line error as the plain runner.

The flow runs in Prefect's ephemeral mode with no server to start; the same flow can be served on
a schedule against a real Prefect server (`reasonmill.pipelines.schedule`), or given a Dask task
runner (a local cluster of N workers, or a scheduler address; needs the `scale` extra).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from reasonmill.config import BuildConfig, validate_config
from reasonmill.errors import ReasonmillError
from reasonmill.lock import BuildLock
from reasonmill.pipelines import progress_hooks, runner, shard_work
from reasonmill.pipelines.backends import BackendHub
from reasonmill.pipelines.stages import STAGE_ORDER
from reasonmill.pipelines.stages.base import STAGES

LOG_FILE = "logs/prefect.log"

_DETERMINISTIC_ERRNO = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT}


def transient(exc: BaseException) -> bool:
    """Is `exc` worth a task retry? Only I/O hiccups and timeouts; never a reasonmill error (bad
    input or state), a full or read-only disk, or a bug (lost rows, wrong types)."""
    if isinstance(exc, ReasonmillError):
        return False
    if isinstance(exc, OSError):
        code = exc.errno
        return code not in _DETERMINISTIC_ERRNO and "No space left" not in str(exc)
    return isinstance(exc, TimeoutError | ConnectionError)


def _retry_condition(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except BaseException as exc:  # noqa: BLE001 - the state holds the task's own exception
        return transient(exc)
    return False


# The task bodies live in `shard_work`: a task function references only that module, so Dask
# pickles nothing of this process (locks, consoles, open backends) with it.


@task(
    retries=2,
    retry_delay_seconds=1,
    retry_condition_fn=_retry_condition,
    task_run_name="prepare-{stage_name}",
)
def prepare_task(
    out: str, config_json: dict[str, Any], stage_name: str, endpoints: dict[str, list[str]] | None = None
) -> None:
    """Cross-shard preparation of one stage (e.g. the dedup table), once per stage."""
    shard_work.prepare(out, config_json, stage_name, endpoints)


@task(
    retries=2,
    retry_delay_seconds=1,
    retry_condition_fn=_retry_condition,
    task_run_name="{stage_name}-{shard}",
)
def shard_task(
    out: str,
    config_json: dict[str, Any],
    stage_name: str,
    shard: int,
    endpoints: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Run one stage on one shard (skips it when already complete); returns the marker info."""
    return shard_work.run(out, config_json, stage_name, shard, endpoints)


@task(retries=1, retry_condition_fn=_retry_condition, task_run_name="corpus")
def corpus_task(
    out: str, config_json: dict[str, Any], endpoints: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """The corpus step: export the corpus, write the manifest and the report."""
    return shard_work.corpus(out, config_json, endpoints)


@flow(name="reasonmill-build", log_prints=False)
def build_flow(
    config_json: dict[str, Any],
    out: str,
    endpoints: dict[str, list[str]] | None = None,
    barrier: bool = False,
    max_in_flight: int = 1,
) -> dict[str, Any]:
    """Seeds → compose → distill → verify → retro_search → score → curate → corpus, shard by shard.

    `barrier=True` makes every shard of a stage wait for every shard of the stage before (the
    stage-by-stage schedule; same corpus, kept for comparison — see bench_pipelining.py).
    """
    config = validate_config(config_json)
    n = runner.num_shards(config)
    Path(out).mkdir(parents=True, exist_ok=True)
    hook = progress_hooks.get(out)
    # The flow body schedules. A task is submitted when what it reads is committed, at most
    # `max_in_flight` at a time (the runner's workers), the most downstream ready task first:
    # verify of shard 0 runs as soon as distill of shard 0 is done, beside distill of shard 1,
    # instead of queueing behind every distill shard in the runner's FIFO (submitting everything
    # up front with `wait_for` would be a barrier in all but name).
    running: dict[PrefectFuture[Any], tuple[int, int | None]] = {}
    ready: list[tuple[int, int | None]] = [(0, k) for k in range(n)]
    finished = [0] * len(STAGE_ORDER)

    def submit_ready() -> None:
        ready.sort(key=lambda t: (-t[0], -1 if t[1] is None else t[1]))
        while ready and len(running) < max(1, max_in_flight):
            stage, shard = ready.pop(0)
            name = STAGE_ORDER[stage]
            if shard is None:
                running[prepare_task.submit(out, config_json, name, endpoints)] = (stage, None)
            else:
                running[shard_task.submit(out, config_json, name, shard, endpoints)] = (stage, shard)

    submit_ready()
    while running:
        fut = next(as_completed(list(running)))
        stage, shard = running.pop(fut)
        info = fut.result()  # re-raises a task's failure (after its retries)
        if shard is None:  # a cross-shard stage is prepared: all its shards may run
            ready.extend((stage, k) for k in range(n))
        else:
            if hook is not None and isinstance(info, dict):
                hook(STAGE_ORDER[stage], shard, info)
            finished[stage] += 1
            nxt = stage + 1
            if nxt < len(STAGE_ORDER):
                if STAGES.get(STAGE_ORDER[nxt]).cross_shard:  # needs every shard first, explicitly
                    if finished[stage] == n:
                        ready.append((nxt, None))
                elif barrier:
                    if finished[stage] == n:
                        ready.extend((nxt, k) for k in range(n))
                else:
                    ready.append((nxt, shard))
        submit_ready()
    return corpus_task(out, config_json, endpoints)


def task_runner(kind: str, workers: int, address: str | None) -> Any:
    """The Prefect task runner: "threads" (`workers` at once) or "dask" (a local cluster of
    `workers` processes, or the existing scheduler at `address`)."""
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ReasonmillError(
                "--task-runner dask needs the `scale` extra: pip install 'reasonmill[scale]'"
            ) from None
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True}
        )
    if kind != "threads":
        raise ReasonmillError(f"--task-runner must be 'threads' or 'dask', got {kind!r}")
    return ThreadPoolTaskRunner(max_workers=workers)


@contextmanager
def prefect_logs_to_file(out: Path) -> Iterator[Path]:
    """Send Prefect's own logs (task failures, retries, tracebacks) to `OUT/logs/prefect.log`
    instead of the console for the duration of a build; the user sees one line per error."""
    path = Path(out) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = []
    for name in (
        "prefect",
        "prefect.flow_runs",
        "prefect.task_runs",
        "prefect.task_engine",
        "prefect.flow_engine",
        "prefect.server",
    ):
        lg = logging.getLogger(name)
        saved.append((lg, list(lg.handlers), lg.propagate))
        lg.handlers = [handler]
        lg.propagate = False
    try:
        yield path
    finally:
        for lg, handlers, propagate in saved:
            lg.handlers, lg.propagate = handlers, propagate
        handler.close()


def run_build(
    config: BuildConfig,
    out: Path,
    workers: int = 1,
    task_runner_kind: str = "threads",
    address: str | None = None,
    progress: Callable[[str, int, dict[str, Any]], None] | None = None,
    barrier: bool = False,
) -> dict[str, Any]:
    """Run the build flow in Prefect (ephemeral mode unless PREFECT_API_URL points at a server).

    Holds the folder's lock, starts managed model servers once for the whole build (tasks in
    other processes get their URLs), and stops them at the end, however the build ends.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    key = str(out)
    with BuildLock(out), prefect_logs_to_file(out):
        hub = BackendHub(config, out)
        try:
            endpoints = hub.start() or None
            if progress is not None:
                progress_hooks.register(key, progress)
            f = build_flow.with_options(task_runner=task_runner(task_runner_kind, workers, address))
            # With a remote Dask cluster the flow cannot see how many workers it has: keep enough
            # tasks in flight for a cluster, and let Dask queue them.
            in_flight = workers if not address else max(workers, 64)
            return f(config.model_dump(mode="json"), key, endpoints, barrier, in_flight)
        finally:
            progress_hooks.unregister(key)
            shard_work.close_contexts(key)
            hub.close()
            # When the process exits, the ephemeral server is cancelled while its recorder may
            # still be flushing Prefect's own UI events; it then logs a CancelledError traceback.
            # Our data are all on disk by then, so that noise is silenced.
            logging.getLogger("prefect.server").setLevel(logging.CRITICAL)
