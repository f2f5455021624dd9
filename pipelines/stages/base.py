"""What a stage is: one class whose `run` turns one shard's records into records and rejections.

A stage never knows how it is executed and never counts rows (datatrove's habit): the runner
hands it the records of one input shard, writes what it yields — a `Record` kept or a `Rejection`
with a reason, nothing else — counts them, checks every input row came out exactly once, and
commits the shard. Tallies that are not rows go through `self.count(name, n)`.

Every stage is built the same way, `Stage(ctx)` from the build's `StageContext`, and validates the
registry names of its config section there (a bad name is a `ConfigError` naming the field).

A stage's resume key (`key_part`) covers exactly what its outputs depend on: its name and
version, the build seed and shard size, its own config sections (less their operational fields,
e.g. `verify.workers`), and for every LLM backend it names, the backend's output-changing fields
(model, sampling-relevant options — not URLs, keys, timeouts, retries or concurrency) and the
source of the prompt renderers it uses. The runner chains the parts in pipeline order, so a change
reruns a stage and everything after it, never what comes before.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from reasonmill.config import BuildConfig, Strict
from reasonmill.llm import LLMBackend
from reasonmill.llm.registry import output_fields
from reasonmill.pipelines import tally
from reasonmill.records import Record, Rejection
from reasonmill.registry import Registry

if TYPE_CHECKING:
    from reasonmill.pipelines.context import StageContext

Output = Record | Rejection


def source_hash(*renderers: Callable[..., Any]) -> str:
    """Hash of the source code of prompt renderers: a reworded prompt changes the stage key."""
    h = hashlib.sha256()
    for fn in renderers:
        h.update(inspect.getsource(fn).encode())
    return h.hexdigest()[:16]


class Stage(ABC):
    """One step of a build over shards. Subclasses set `name`, `version`, `sections`."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    # This stage's own config sections (keys chain, so upstream sections need not be repeated).
    sections: ClassVar[tuple[str, ...]] = ()
    # True for a stage that creates records from nothing (it reads no input shard).
    source: ClassVar[bool] = False
    # True for a stage that needs every input shard before any shard runs (`prepare`).
    cross_shard: ClassVar[bool] = False

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.config = ctx.config

    @classmethod
    def backends(cls, config: BuildConfig) -> list[str]:
        """Names of the LLM backends this stage calls under `config` (default: none)."""
        return []

    @classmethod
    def prompts(cls, config: BuildConfig) -> list[Callable[..., Any]]:
        """The prompt renderers this stage sends to its backends (default: none)."""
        return []

    @property
    def tag(self) -> str:
        """The request-cache tag of this stage: its name and version (a new version misses)."""
        return f"{self.name}:{self.version}"

    def backend(self, name: str) -> LLMBackend:
        """The build's shared backend `name`, its requests cached under this stage's tag."""
        return self.ctx.backends.open(name, self.tag)

    def count(self, name: str, n: int = 1) -> None:
        """Add `n` to this shard's tally `name` (a stage statistic that is not a row)."""
        tally.count(name, n)

    def prepare(self, inputs: list[Path]) -> None:  # noqa: B027 - most stages need no cross-shard state
        """Compute state that spans shards (e.g. dedup tables) from every input shard. Default: none."""

    @abstractmethod
    def run(self, records: list[Record], shard: int) -> Iterator[Output]:
        """Yield a `Record` or a `Rejection` for every record read (and for any record created)."""

    @classmethod
    def key_part(cls, config: BuildConfig) -> str:
        """This stage's part of the resume key (see the module docstring)."""
        sections = {}
        for s in cls.sections:
            value = getattr(config, s)
            sections[s] = value.output_dump() if isinstance(value, Strict) else value
        names = sorted(set(cls.backends(config)))
        payload = {
            "seed": config.seed,
            "shard_rows": config.shard_rows,
            "sections": sections,
            "backends": {n: output_fields(config.llm.backends[n]) for n in names},
            "prompts": source_hash(*cls.prompts(config)) if names else None,
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return f"{cls.name}@{cls.version}:{digest}"


def _load_stages() -> None:
    import importlib
    import pkgutil

    import reasonmill.pipelines.stages as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name != "base":
            importlib.import_module(f"reasonmill.pipelines.stages.{info.name}")


STAGES: Registry[Any] = Registry("stage", loader=_load_stages)
