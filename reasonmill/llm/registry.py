"""The registry of backend kinds, their config models, and `make_backend`.

A kind registers a `BackendKind` (its pydantic config model and a factory) at the bottom of its
own module; `BACKENDS` imports those modules the first time a kind is looked up, so heavy
dependencies (vllm, torch) load only for builds that use them.

Each config model says which of its fields are *operational* (`BackendConfig.operational`):
URLs, keys, timeouts, retries, concurrency — how a request is made, not what it answers. A build's
resume keys cover only the other fields (`output_fields`), so moving a server or raising a
timeout reuses every finished shard, while changing the model or its sampling reruns the stages
that use it.

>>> backend = make_backend({"kind": "openai", "model": "m", "base_url": "http://127.0.0.1:8000/v1"})
>>> backend.close()
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from reasonmill.errors import ConfigError
from reasonmill.llm.base import LLMBackend
from reasonmill.llm.cache import CachedBackend, RequestCache
from reasonmill.registry import Registry


class BackendConfig(BaseModel):
    """Base of every backend kind's config: `kind` picks the registry entry; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    # Fields that change how a request is made but not what the model answers (see module doc).
    operational: ClassVar[frozenset[str]] = frozenset()

    def output_fields(self) -> dict[str, Any]:
        """The fields that can change what this backend answers: what resume keys cover."""
        return self.model_dump(mode="json", exclude=set(self.operational))


@dataclass(frozen=True, slots=True)
class BackendKind:
    """A registry entry: the config model of a kind and the factory that builds the backend."""

    config: type[BackendConfig]
    factory: Callable[[Any], LLMBackend]


KIND_MODULES = (
    "reasonmill.llm.openai_compat",
    "reasonmill.llm.vllm_server",
    "reasonmill.llm.vllm_inprocess",
    "reasonmill.llm.transformers_backend",
)


def _load_kinds() -> None:
    # Importing the modules registers their kinds; heavy deps (vllm, torch) are imported lazily there.
    for name in KIND_MODULES:
        importlib.import_module(name)


BACKENDS: Registry[BackendKind] = Registry("llm backend", loader=_load_kinds)


def parse_backend_config(config: Mapping[str, Any], where: str = "llm") -> BackendConfig:
    """Validate a backend config dict with its kind's model; errors name the field under `where`."""
    if "kind" not in config:
        raise ConfigError(f"{where}.kind", f"missing; one of {', '.join(BACKENDS.names())}")
    entry = BACKENDS.get(str(config["kind"]))  # an unknown kind: RegistryError listing the known ones
    try:
        return entry.config.model_validate(dict(config))
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{where}.{loc}", err["msg"]) from None


def output_fields(config: Mapping[str, Any]) -> dict[str, Any]:
    """The output-changing fields of a backend config dict (see `BackendConfig.output_fields`)."""
    return parse_backend_config(config).output_fields()


def make_backend(
    config: Mapping[str, Any] | BackendConfig,
    *,
    cache: RequestCache | str | Path | None = None,
    tag: str = "",
) -> LLMBackend:
    """Build a backend from a config dict such as `{"kind": "openai", "model": ..., "base_url": ...}`.

    Validation happens here, once: an unknown kind lists the known ones; a bad field is a
    `ConfigError` naming it. With `cache` (a `RequestCache` or the path of its SQLite file, e.g.
    under the build's output folder) the backend is wrapped in a `CachedBackend` keyed with `tag`
    (the calling stage and its version).
    """
    parsed = config if isinstance(config, BackendConfig) else parse_backend_config(config)
    backend = BACKENDS.get(parsed.kind).factory(parsed)
    if cache is None:
        return backend
    return CachedBackend(backend, cache if isinstance(cache, RequestCache) else RequestCache(cache), tag)
