"""A process pool for checks that can hang, with a hard per-item deadline.

math-verify and sympy can run for minutes on a hostile answer, and math-verify's own timeout uses
`signal.alarm`, which only works on a process's main thread. So every check runs on the main
thread of a worker process. The parent hands each worker a chunk of items and hears back after
each item; if the item a worker is on outlives `timeout_s`, the parent kills that worker, records
a `timeout` verdict for the item, starts a fresh worker and hands it the rest of the chunk. A
worker that dies (segfault, OOM kill) gives an `error` verdict for its current item, the same way.
The pool is safe to call from several threads (calls are serialised) and from Prefect tasks.

Items with the same gold go to the same worker, so its cached gold parse is reused. Workers are
started from a forkserver that has imported the verifiers and warmed math-verify's parser
(`reasonmill.verifiers._warmup`), and never re-run the caller's `__main__`. The same machinery
runs `audit` items (every grader side by side) through `audit_many`.

Why not pebble (`pebble.ProcessPool`, per-task timeouts, dead workers replaced): measured in
tests/benchmarks/bench_verify.py in the same run, it sends every item as its own task, so its
throughput on cheap items is about 3x lower (last run, 2 workers: GSM8K solutions 1.0k/s against
3.0k/s, MATH-500 self-checks 2.4k/s against 7.8k/s; the equivalence set 164/s against 267/s),
its start-up is no faster (9.1 s against 8.8 s, forkserver and warm-up included), and it starts and
replaces workers from its own manager thread, where the guard that keeps workers from re-running
the caller's `__main__` cannot be applied. This pool keeps chunks and a per-item deadline.

Kind "code" runs candidate programs with their own per-test limits (`VerifyPolicy.sandbox`);
keep `timeout_s` above tests × `sandbox.wall_s` or a slow-but-passing program reads as a timeout.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing as mp
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from typing import Any

from reasonmill.records import Reason, Verdict
from reasonmill.verifiers.base import VerifyPolicy
from reasonmill.verifiers.checks import CheckItem, check_inline


def _verdict_tuple(v: Verdict) -> tuple:
    return (v.passed, v.verifier, v.reason, v.detail)


def _run_op(op: str, kind: str, gold: str, pred: str | None, policy: VerifyPolicy) -> Any:
    """What a worker computes for one item: a verdict tuple ("check") or an AuditRow ("audit")."""
    if op == "audit":
        from reasonmill.verifiers.audit import audit_item

        return audit_item(kind, gold, pred, policy)
    return _verdict_tuple(check_inline(CheckItem(kind, gold, pred), policy))


def _failure(op: str, kind: str, gold: str, reason: Reason, detail: str) -> Any:
    """The result recorded for an item whose worker timed out or died."""
    if op == "audit":
        from reasonmill.verifiers.audit import AuditRow

        return AuditRow(kind, gold, None, False, reason.value, notes={"pool": detail})
    return (False, "pool", reason.value, detail)


def _worker_main(conn: Connection, policy_json: str) -> None:
    policy = VerifyPolicy.model_validate_json(policy_json)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        for pos, (op, kind, gold, pred) in msg:
            conn.send((pos, _run_op(op, kind, gold, pred, policy)))
        conn.send(("done", None))


_main_lock = threading.Lock()


@contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Start a worker without re-running the caller's `__main__`, also from a daemonic process.

    forkserver/spawn children normally re-import the parent's main script, which breaks (or
    re-runs the work of) any script that calls `check()` at top level without an
    `if __name__ == "__main__":` guard. Workers need nothing from `__main__`: their target lives
    in this module. So hide the main module's file and spec while the child's start-up data is
    taken (synchronously, inside `Process.start`).
    """
    main = sys.modules.get("__main__")
    config = mp.current_process()._config  # noqa: SLF001
    with _main_lock:
        saved = {a: getattr(main, a) for a in ("__file__", "__spec__") if hasattr(main, a)} if main else {}
        daemon = config.get("daemon")
        try:
            if main is not None:
                if "__file__" in saved:
                    del main.__file__
                main.__spec__ = None
            # A daemonic process (a Dask or multiprocessing worker running a stage) may not start
            # children through multiprocessing; ours are daemonic too and exit when their pipe
            # closes, so lift the check for the start.
            config["daemon"] = False
            yield
        finally:
            config["daemon"] = daemon
            for a, v in saved.items():
                setattr(main, a, v)
            if main is not None and "__spec__" not in saved:
                with contextlib.suppress(AttributeError):
                    del main.__spec__


class _Worker:
    def __init__(self, ctx: Any, policy_json: str) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, policy_json), daemon=True)
        with _main_not_reimported():
            self.proc.start()
        child.close()
        self.chunk: deque[tuple[int, tuple[str, str, str, str | None]]] = deque()
        self.since = 0.0

    def give(self, chunk: list[tuple[int, tuple[str, str, str, str | None]]]) -> None:
        self.chunk = deque(chunk)
        self.since = time.monotonic()
        self.conn.send(chunk)

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(timeout=5)
        finally:
            self.conn.close()


class VerifierPool:
    """Worker processes running checks under a hard per-item timeout; reused across calls."""

    def __init__(
        self,
        workers: int = 2,
        timeout_s: float = 10.0,
        policy: VerifyPolicy | None = None,
        chunk_size: int = 64,
    ) -> None:
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self.policy = policy or VerifyPolicy()
        self.chunk_size = chunk_size
        self._ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        if self._ctx.get_start_method() == "forkserver":
            self._ctx.set_forkserver_preload(["reasonmill.verifiers", "reasonmill.verifiers._warmup"])
        self._pool: list[_Worker] = []
        self._lock = threading.Lock()
        self.restarts = 0
        self._pid = os.getpid()

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self.policy.model_dump_json())

    def check_many(self, items: list[CheckItem]) -> list[Verdict]:
        """Verdicts for `items`, in order. Timeouts and crashes are verdicts, never exceptions."""
        if not items:
            return []
        with self._lock:
            return [Verdict(*r) for r in self._run(items, "check")]

    def audit_many(self, items: list[CheckItem]) -> list[Any]:
        """`AuditRow`s for `items` (every grader side by side), in order."""
        if not items:
            return []
        with self._lock:
            return self._run(items, "audit")

    def _run(self, items: list[CheckItem], op: str) -> list[Any]:
        results: list[Any] = [None] * len(items)
        # Items with the same gold go to the same chunk, so a worker parses each gold once.
        order = sorted(range(len(items)), key=lambda i: (items[i].kind, items[i].gold))
        payload = [(i, (op, items[i].kind, items[i].gold, items[i].prediction)) for i in order]
        per_worker = max(1, min(self.chunk_size, -(-len(payload) // self.workers)))
        todo = deque(payload[i : i + per_worker] for i in range(0, len(payload), per_worker))
        while len(self._pool) < min(self.workers, len(todo)):
            self._pool.append(self._spawn())
        busy: dict[Connection, _Worker] = {}
        idle = list(self._pool)
        while todo or busy:
            while todo and idle:
                w = idle.pop()
                busy[w.conn] = w
                try:
                    w.give(todo.popleft())
                except OSError:  # it died before taking work; its first item is charged
                    self._replace(w, busy, idle, todo, results, Reason.ERROR, "worker process died")
            if not busy:
                continue
            now = time.monotonic()
            deadline = min(w.since for w in busy.values()) + self.timeout_s
            ready = wait(list(busy), timeout=max(0.0, deadline - now))
            for conn in ready:
                w = busy[conn]
                try:
                    pos, v = conn.recv()
                except (EOFError, OSError):
                    self._replace(w, busy, idle, todo, results, Reason.ERROR, "worker process died")
                    continue
                if pos == "done":
                    del busy[conn]
                    idle.append(w)
                    continue
                results[pos] = v
                if w.chunk and w.chunk[0][0] == pos:
                    w.chunk.popleft()
                w.since = time.monotonic()
            now = time.monotonic()
            for w in [w for w in busy.values() if now - w.since > self.timeout_s]:
                self._replace(
                    w, busy, idle, todo, results, Reason.TIMEOUT, f"check exceeded {self.timeout_s:g}s"
                )
        return [
            r if r is not None else _failure(op, items[i].kind, items[i].gold, Reason.ERROR, "lost result")
            for i, r in enumerate(results)
        ]

    def _replace(
        self, w: _Worker, busy: dict, idle: list, todo: deque, results: list, reason: Reason, detail: str
    ) -> None:
        del busy[w.conn]
        self._pool.remove(w)
        rest = list(w.chunk)
        w.kill()
        self.restarts += 1
        if rest:
            pos, (op, kind, gold, _) = rest[0]
            results[pos] = _failure(op, kind, gold, reason, detail)
            if rest[1:]:
                todo.appendleft(rest[1:])
        fresh = self._spawn()
        self._pool.append(fresh)
        idle.append(fresh)

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            for w in self._pool:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
                w.kill()
            self._pool.clear()


_shared: dict[tuple, VerifierPool] = {}
_shared_lock = threading.Lock()


def shared_pool(
    workers: int = 2, timeout_s: float = 10.0, policy: VerifyPolicy | None = None
) -> VerifierPool:
    """A process-wide pool per (workers, timeout, policy), so stages reuse warm workers."""
    policy = policy or VerifyPolicy()
    key = (os.getpid(), workers, timeout_s, policy.model_dump_json())
    with _shared_lock:
        if key not in _shared:
            _shared[key] = VerifierPool(workers, timeout_s, policy)
        return _shared[key]


@atexit.register
def _close_shared() -> None:
    for pool in _shared.values():
        if pool._pid == os.getpid():
            pool.close()
