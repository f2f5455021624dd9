"""Content-keyed request cache, so a rerun or resumed build reuses every answer it still can.

The key is the sha256 of (backend model, request kind, messages, prefix, banned words, sampling
params without `n`, cache tag). The cache tag is where a stage puts its name and version: bump
the version and its requests miss. Changing one sampling parameter changes the key of exactly the
requests that use it, so only those are regenerated.

Only complete replies (`finish_reason == "stop"`, no error) are stored. Each key holds a list of
samples; a request for n samples takes what is stored and asks the backend only for the
missing ones. So a truncated or failed sample is asked again on the next run, and its good
siblings are kept.

Storage is one SQLite file in WAL mode (put it under the build's output folder): one connection
per thread, a busy timeout for writers in other processes, and `INSERT OR IGNORE` on
(key, sample) so two workers racing on the same request cannot duplicate a sample.

>>> cache = RequestCache(tmp_path / "llm-cache.sqlite")            # doctest: +SKIP
>>> backend = CachedBackend(make_backend(cfg), cache, tag="distill:v3")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasonmill.llm.base import BackendStats, LLMBackend, derived_seed
from reasonmill.llm.types import Completion, MessageLike, SamplingParams, as_messages

SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT NOT NULL,
    sample INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (key, sample)
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
    """The content key of one request; `n` is left out (samples are stored one by one)."""
    payload = {
        "model": model,
        "kind": kind,
        "messages": [m.as_dict() for m in as_messages(messages)],
        "prefix": prefix,
        "banned": sorted(banned),
        "sampling": sampling.model_dump(exclude={"n"}, mode="json"),
        "tag": tag,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class RequestCache:
    """Samples stored by request key in a SQLite file; safe across threads and processes of one build."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn().execute(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get(self, key: str, limit: int | None = None) -> list[Completion]:
        """Stored samples for `key`, oldest first (at most `limit`)."""
        sql = "SELECT body FROM completions WHERE key = ? ORDER BY sample"
        rows = self._conn().execute(sql + (f" LIMIT {int(limit)}" if limit else ""), (key,)).fetchall()
        out = []
        for (body,) in rows:
            c = Completion.from_dict(json.loads(body))
            c.meta["cached"] = True
            out.append(c)
        return out

    def put(self, key: str, completions: Sequence[Completion]) -> int:
        """Append the complete ones among `completions`; returns how many were stored."""
        good = [c for c in completions if c.ok]
        if not good:
            return 0
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            (start,) = conn.execute(
                "SELECT COALESCE(MAX(sample) + 1, 0) FROM completions WHERE key = ?", (key,)
            ).fetchone()
            for i, c in enumerate(good):
                d = c.to_dict()
                d["meta"] = {k: v for k, v in d["meta"].items() if k != "cached"}
                conn.execute(
                    "INSERT OR IGNORE INTO completions (key, sample, body) VALUES (?, ?, ?)",
                    (key, start + i, json.dumps(d, ensure_ascii=False)),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(good)

    def __len__(self) -> int:
        (n,) = self._conn().execute("SELECT COUNT(*) FROM completions").fetchone()
        return int(n)

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _top_up(sampling: SamplingParams, missing: int) -> SamplingParams:
    """Params for asking `missing` of `sampling.n` samples again.

    With a seed, a top-up gets a derived seed: the same seed with a smaller n would, on servers
    that seed per request, draw again the samples that are already stored.
    """
    if missing == sampling.n or sampling.seed is None:
        return sampling.with_n(missing)
    return sampling.model_copy(
        update={"n": missing, "seed": derived_seed(sampling.seed, sampling.n - missing)}
    )


class CachedBackend:
    """Wraps any `LLMBackend`: answers from the cache what it can, asks the backend for the rest.

    `tag` names the calling stage and its version (e.g. "distill:v3"); per-call tags can be given
    with `with_tag`. Samples with a banned-word violation are not cached (their reply is not good).
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

        def call(idx: list[int], n: int) -> list[list[Completion]]:
            return self.backend.generate([conversations[i] for i in idx], _top_up(sampling, n))

        return self._run(keys, sampling.n, call)

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

        def call(idx: list[int], n: int) -> list[list[Completion]]:
            return self.backend.continue_prefix(
                [conversations[i] for i in idx], [prefixes[i] for i in idx], _top_up(sampling, n), banned
            )

        return self._run(keys, sampling.n, call)

    def _run(self, keys: list[str], n: int, call: Any) -> list[list[Completion]]:
        have = [self.cache.get(k, limit=n) for k in keys]
        self.backend.stats.cache_hits += sum(len(h) for h in have)
        # Group the misses by how many samples they lack, so each group is one batched call.
        by_missing: dict[int, list[int]] = {}
        for i, h in enumerate(have):
            if len(h) < n:
                by_missing.setdefault(n - len(h), []).append(i)
        for missing, idx in by_missing.items():
            for i, fresh in zip(idx, call(idx, missing), strict=True):
                self.cache.put(keys[i], [c for c in fresh if "banned_violation" not in c.meta])
                have[i] = have[i] + fresh
        return have

    def close(self) -> None:
        """Close the wrapped backend and this thread's cache connection."""
        self.backend.close()
        self.cache.close()
