"""Content-keyed request cache, so a rerun or resumed build reuses every answer it still can.

The key is the sha256 of (backend model, request kind, messages, prefix, banned words, sampling
params without `n`, cache tag). The cache tag is where a stage puts its name and version: bump
the version and its requests miss. Changing one sampling parameter changes the key of exactly the
requests that use it, so only those are regenerated.

A request for n samples has n *slots*: slot j is the j-th sample of that request, the same slot
whatever happened before. Only complete replies (`finish_reason == "stop"`, no error) are stored,
each under its slot. A request whose slots are not all stored is asked again as a whole (same
params, same seed) and only the missing slots are taken from the answer, so on a deterministic
server a rebuild, a resume after an outage and an uninterrupted build give the same samples, and
a failed or truncated sample is asked again on the next run while its good siblings are kept.

Storage is one SQLite file in WAL mode (put it under the build's output folder): one connection
per thread, a busy timeout for writers in other processes, and `INSERT OR IGNORE` on
(key, slot) so two workers racing on the same request cannot disagree about a sample.

>>> cache = RequestCache(tmp_path / "llm-cache.sqlite")            # doctest: +SKIP
>>> backend = CachedBackend(make_backend(cfg), cache, tag="distill:v3")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reasonmill.llm.base import BackendStats, LLMBackend
from reasonmill.llm.types import Completion, MessageLike, SamplingParams, as_messages

SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT NOT NULL,
    sample INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (key, sample)
)
"""
NOTES = """
CREATE TABLE IF NOT EXISTS notes (
    key TEXT PRIMARY KEY,
    body TEXT NOT NULL
)
"""


def request_key(
    model: str,
    kind: str,
    messages: Sequence[MessageLike],
    sampling: SamplingParams,
    tag: str = "",
    prefix: str | None = None,
    banned: Sequence[str] = (),
) -> str:
    """The content key of one request; `n` is left out (samples are stored slot by slot)."""
    payload = {
        "model": model,
        "kind": kind,
        "messages": [m.as_dict() for m in as_messages(messages)],
        "prefix": prefix,
        "banned": sorted(banned),
        "sampling": sampling.model_dump(exclude={"n"}, exclude_defaults=True, mode="json"),
        "tag": tag,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class RequestCache:
    """Samples stored by (request key, slot) in a SQLite file; safe across threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn().execute(SCHEMA)
        self._conn().execute(NOTES)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get(self, key: str, n: int) -> dict[int, Completion]:
        """Stored samples of slots 0..n-1 of `key`, by slot."""
        rows = (
            self._conn()
            .execute("SELECT sample, body FROM completions WHERE key = ? AND sample < ?", (key, int(n)))
            .fetchall()
        )
        out = {}
        for slot, body in rows:
            c = Completion.from_dict(json.loads(body))
            c.meta["cached"] = True
            out[int(slot)] = c
        return out

    def put(self, key: str, slots: dict[int, Completion]) -> int:
        """Store the complete ones among `slots` (slot -> completion); returns how many were new."""
        good = {j: c for j, c in slots.items() if c.ok}
        if not good:
            return 0
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            added = 0
            for j, c in sorted(good.items()):
                d = c.to_dict()
                d["meta"] = {k: v for k, v in d["meta"].items() if k != "cached"}
                cur = conn.execute(
                    "INSERT OR IGNORE INTO completions (key, sample, body) VALUES (?, ?, ?)",
                    (key, j, json.dumps(d, ensure_ascii=False)),
                )
                added += cur.rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return added

    def __len__(self) -> int:
        (n,) = self._conn().execute("SELECT COUNT(*) FROM completions").fetchone()
        return int(n)

    def get_note(self, key: str) -> Any:
        """A JSON note stored beside the answers (e.g. what a server's probe found), or None."""
        row = self._conn().execute("SELECT body FROM notes WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put_note(self, key: str, value: Any) -> None:
        """Store (or replace) a JSON note under `key`."""
        self._conn().execute(
            "INSERT OR REPLACE INTO notes (key, body) VALUES (?, ?)", (key, json.dumps(value, sort_keys=True))
        )

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file, so the file alone holds every answer
        (a user may copy `llm_cache.sqlite` into another build folder)."""
        self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class CachedBackend:
    """Wraps any `LLMBackend`: answers from the cache what it can, asks the backend for the rest.

    `tag` names the calling stage and its version (e.g. "distill:v3"); `with_tag` gives the same
    backend and cache under another tag. Samples with a banned-word violation are not cached
    (their reply is not good).
    """

    def __init__(self, backend: LLMBackend, cache: RequestCache, tag: str = "") -> None:
        self.backend, self.cache, self.tag = backend, cache, tag
        self.model_id = backend.model_id

    @property
    def stats(self) -> BackendStats:
        """The wrapped backend's stats (cache hits are counted there too)."""
        return self.backend.stats

    def with_tag(self, tag: str) -> CachedBackend:
        """The same backend and cache under another stage tag."""
        return CachedBackend(self.backend, self.cache, tag)

    def generate(
        self, conversations: Sequence[Sequence[MessageLike]], sampling: SamplingParams
    ) -> list[list[Completion]]:
        """Like the backend's `generate`, served from the cache where possible."""
        keys = [request_key(self.model_id, "chat", c, sampling, self.tag) for c in conversations]
        return self._run(
            keys, sampling.n, lambda idx: self.backend.generate([conversations[i] for i in idx], sampling)
        )

    def continue_prefix(
        self,
        conversations: Sequence[Sequence[MessageLike]],
        prefixes: Sequence[str],
        sampling: SamplingParams,
        banned_prefix_words: Sequence[str] = (),
    ) -> list[list[Completion]]:
        """Like the backend's `continue_prefix`, served from the cache where possible."""
        banned = list(banned_prefix_words)
        keys = [
            request_key(self.model_id, "continue", c, sampling, self.tag, prefix=p, banned=banned)
            for c, p in zip(conversations, prefixes, strict=True)
        ]

        def call(idx: list[int]) -> list[list[Completion]]:
            return self.backend.continue_prefix(
                [conversations[i] for i in idx], [prefixes[i] for i in idx], sampling, banned
            )

        return self._run(keys, sampling.n, call)

    def _run(
        self, keys: list[str], n: int, call: Callable[[list[int]], list[list[Completion]]]
    ) -> list[list[Completion]]:
        have = [self.cache.get(k, n) for k in keys]
        self.backend.stats.add("cache_hits", sum(len(h) for h in have))
        missing = [i for i, h in enumerate(have) if len(h) < n]
        if missing:
            for i, fresh in zip(missing, call(missing), strict=True):
                slots = dict(enumerate(fresh))
                self.cache.put(
                    keys[i],
                    {j: c for j, c in slots.items() if j not in have[i] and "banned_violation" not in c.meta},
                )
                for j, c in slots.items():
                    have[i].setdefault(j, c)
        return [[h[j] for j in sorted(h) if j < n] for h in have]

    def close(self) -> None:
        """Close the wrapped backend and this thread's cache connection."""
        self.backend.close()
        self.cache.close()
