"""The LLM backends of a build: each named backend opened once, shared by every stage and shard.

`BackendHub` opens a backend of `config.llm.backends` the first time a stage asks for it and
keeps it for the whole build (one connection pool, one concurrency limit, one circuit breaker
per replica — not one per shard). A `vllm_server` backend's servers are started once per build
by `start_managed` in the process that drives the build, and every stage talks to them through an
"openai" client; shard tasks in other processes (Dask workers) get the servers' URLs
(`endpoints`) and never start a server of their own. `close` stops what the hub started.

Requests go through the content-keyed `RequestCache` in `OUT/llm_cache.sqlite` (unless
`llm.cache: false`), tagged with the calling stage's name and version, so a resumed or rerun
build asks the model again only for what it has not answered completely before.

What a shard's calls cost is counted per backend while the runner collects (`collect_llm_stats`),
whichever threads share the backend, and lands in the shard's marker and the manifest.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonmill.config import BuildConfig
from reasonmill.errors import LLMCapabilityError
from reasonmill.llm import BackendStats, LLMBackend, RequestCache, make_backend, meter
from reasonmill.llm.cache import CachedBackend
from reasonmill.llm.registry import parse_backend_config
from reasonmill.llm.types import Completion, MessageLike, SamplingParams
from reasonmill.llm.vllm_server import ManagedServer, VllmServerConfig, start_servers
from reasonmill.shards import atomic_write_json

CACHE_FILE = "llm_cache.sqlite"
CAPABILITIES_FILE = ".state/llm_capabilities.json"
"""What the start-up probe found per backend (keyed by what identifies the server), so other
processes of the build and reruns adopt it instead of probing again."""


@dataclass
class BackendUse:
    """What one backend's calls in a shard cost, and what the server was seen to support."""

    stats: BackendStats = field(default_factory=BackendStats)
    capabilities: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the shard's marker: the counters plus `capabilities`."""
        return {**self.stats.as_dict(), "capabilities": dict(self.capabilities)}


_COLLECTOR: ContextVar[dict[str, BackendUse] | None] = ContextVar("reasonmill_shard_llm", default=None)


def cache_path(out: Path) -> Path:
    """Where a build keeps its LLM request cache."""
    return Path(out) / CACHE_FILE


def capabilities_of(backend: Any) -> dict[str, Any]:
    """The capabilities a backend (or the backend inside a cache wrapper) reports; {} if none."""
    inner = getattr(backend, "backend", backend)
    caps = getattr(inner, "capabilities", None)
    return {k: v for k, v in caps(probe=False).items() if v is not None} if callable(caps) else {}


@contextmanager
def collect_llm_stats() -> Iterator[dict[str, BackendUse]]:
    """Collect, per backend name, what the backend calls made in this block cost."""
    stats: dict[str, BackendUse] = {}
    token = _COLLECTOR.set(stats)
    try:
        yield stats
    finally:
        _COLLECTOR.reset(token)


class MeteredBackend:
    """A view of a shared backend that counts its calls into the collecting shard's stats."""

    def __init__(self, inner: LLMBackend, name: str) -> None:
        self.inner, self.name = inner, name
        self.model_id = inner.model_id

    @property
    def stats(self) -> BackendStats:
        """The shared backend's stats (all stages and shards together)."""
        return self.inner.stats

    def _record(self, m: BackendStats) -> None:
        sink = _COLLECTOR.get()
        if sink is not None:
            use = sink.setdefault(self.name, BackendUse())
            use.stats.merge(m)
            use.capabilities.update(capabilities_of(self.inner))

    def generate(
        self, conversations: Sequence[Sequence[MessageLike]], sampling: SamplingParams
    ) -> list[list[Completion]]:
        """See `LLMBackend.generate`."""
        with meter() as m:
            try:
                return self.inner.generate(conversations, sampling)
            finally:
                self._record(m)

    def continue_prefix(
        self,
        conversations: Sequence[Sequence[MessageLike]],
        prefixes: Sequence[str],
        sampling: SamplingParams,
        banned_prefix_words: Sequence[str] = (),
    ) -> list[list[Completion]]:
        """See `LLMBackend.continue_prefix`."""
        with meter() as m:
            try:
                return self.inner.continue_prefix(conversations, prefixes, sampling, banned_prefix_words)
            except LLMCapabilityError as exc:
                raise LLMCapabilityError(f"backend '{self.name}' ({exc})") from None
            finally:
                self._record(m)

    def close(self) -> None:
        """Nothing: the hub closes the shared backend when the build ends."""


class BackendHub:
    """The named backends of one build folder (see the module docstring); safe across threads."""

    def __init__(
        self, config: BuildConfig, out: Path | None, endpoints: dict[str, list[str]] | None = None
    ) -> None:
        self.config = config
        self.out = Path(out) if out is not None else None
        self.endpoints: dict[str, list[str]] = dict(endpoints or {})
        self._backends: dict[str, LLMBackend] = {}
        self._servers: dict[str, list[ManagedServer]] = {}
        self._cache: RequestCache | None = None
        self._lock = threading.RLock()  # re-entered: opening a backend reads the stored probe results

    def _config(self, name: str) -> dict[str, Any]:
        return self.config.llm.backends[name]

    def start_managed(self) -> dict[str, list[str]]:
        """Start the servers of every managed (`vllm_server`) backend a stage of this build uses,
        once; returns name -> base URLs, for shard tasks in other processes."""
        used = {n for _, n in self.config.backend_refs() if n is not None}
        for name in sorted(used):
            if self._config(name).get("kind") == "vllm_server" and name not in self.endpoints:
                parsed = parse_backend_config(self._config(name), f"llm.backends.{name}")
                assert isinstance(parsed, VllmServerConfig)
                with self._lock:
                    servers = start_servers(parsed)
                    self._servers[name] = servers
                    self.endpoints[name] = [s.base_url for s in servers]
        return dict(self.endpoints)

    def _identity(self, name: str) -> str:
        parsed = parse_backend_config(self._config(name), f"llm.backends.{name}")
        urls = self.endpoints.get(name) or self._config(name).get("base_url")
        blob = json.dumps({"fields": parsed.output_fields(), "urls": urls}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def _stored_capabilities(self) -> dict[str, Any]:
        """name -> {"key", "capabilities"} of earlier probes: kept in the request cache when it
        is on (so a rebuild with the same cache does not probe), else in the build folder."""
        cache = self._request_cache()
        if cache is not None:
            return {n: e for n in self.used() if (e := cache.get_note(f"capabilities:{n}")) is not None}
        path = self.out / CAPABILITIES_FILE if self.out is not None else None
        if path is None or not path.exists():
            return {}
        try:
            return json.loads(path.read_text())
        except ValueError:
            return {}

    def _store_capabilities(self, found: dict[str, Any]) -> None:
        cache = self._request_cache()
        if cache is not None:
            for name, entry in found.items():
                cache.put_note(f"capabilities:{name}", entry)
        elif self.out is not None:
            atomic_write_json(self.out / CAPABILITIES_FILE, {**self._stored_capabilities(), **found})

    def used(self) -> list[str]:
        """The backends a stage of this build names (each once, sorted)."""
        return sorted({n for _, n in self.config.backend_refs() if n is not None})

    def start(self) -> dict[str, list[str]]:
        """What the process driving a build does first: start the managed servers, probe every
        backend the build uses, and refuse at once (one line naming the backend) when the
        Retro-Search reviser cannot continue a prefix — not hours later, after distillation.
        Returns the managed servers' URLs for shard tasks in other processes."""
        endpoints = self.start_managed()
        caps = self.probe_all()
        rs = self.config.retro_search
        if rs.enabled and rs.backend and caps.get(rs.backend, {}).get("prefix") == "unsupported":
            raise LLMCapabilityError(
                f"Retro-Search reviser backend '{rs.backend}': the server does not continue an assistant prefix "
                "(it ignores continue_final_message); set its `tokenizer:` to the model's tokenizer folder "
                "(prefix_mode: completions_template) or use another reviser"
            )
        return endpoints

    def probe_all(self) -> dict[str, dict[str, Any]]:
        """Probe every backend the build uses once, at start-up (or adopt what an earlier probe of
        the same server found, stored in the build folder); returns name -> capabilities."""
        stored = self._stored_capabilities()
        rs = self.config.retro_search
        reviser = rs.backend if rs.enabled else None
        found: dict[str, dict[str, Any]] = {}
        for name in self.used():
            inner = self._shared(name)
            key = self._identity(name)
            entry = stored.get(name) or {}
            if entry.get("key") == key and hasattr(inner, "adopt"):
                inner.adopt(entry.get("capabilities") or {})
            if hasattr(inner, "probe"):  # asks only what is still unknown; prefixes only for the reviser
                inner.probe(prefix=name == reviser)
            found[name] = {"key": key, "capabilities": capabilities_of(inner)}
        changed = {n: e for n, e in found.items() if stored.get(n) != e}
        if changed:
            self._store_capabilities(changed)
        return {n: e["capabilities"] for n, e in found.items()}

    def _shared(self, name: str) -> LLMBackend:
        with self._lock:
            if name not in self._backends:
                cfg = self._config(name)
                parsed = parse_backend_config(cfg, f"llm.backends.{name}")
                if isinstance(parsed, VllmServerConfig):
                    if name not in self.endpoints:
                        servers = start_servers(parsed)  # a hub used on its own (no driver started it)
                        self._servers[name] = servers
                        self.endpoints[name] = [s.base_url for s in servers]
                    self._backends[name] = make_backend(parsed.client_config(self.endpoints[name]))
                else:
                    self._backends[name] = make_backend(parsed)
                entry = self._stored_capabilities().get(name) or {}
                adopt = getattr(self._backends[name], "adopt", None)
                if adopt is not None and entry.get("key") == self._identity(name):
                    adopt(entry.get("capabilities") or {})
            return self._backends[name]

    def _request_cache(self) -> RequestCache | None:
        if not self.config.llm.cache or self.out is None:
            return None
        with self._lock:
            if self._cache is None:
                self._cache = RequestCache(cache_path(self.out))
            return self._cache

    def open(self, name: str, tag: str) -> LLMBackend:
        """Backend `name` for a stage whose requests are cached under `tag` (its name and version)."""
        backend = self._shared(name)
        cache = self._request_cache()
        if cache is not None:
            backend = CachedBackend(backend, cache, tag)
        return MeteredBackend(backend, name)

    def close(self) -> None:
        """Close every backend opened and stop every server this hub started; idempotent."""
        with self._lock:
            backends, self._backends = self._backends, {}
            servers, self._servers = self._servers, {}
            cache = self._cache
        try:
            for b in backends.values():
                b.close()
            if cache is not None:
                cache.checkpoint()
        finally:
            for group in servers.values():
                for s in group:
                    s.stop()
