"""What a stage is: one class whose generator method turns records into records or rejections.

A stage never knows how it is executed (datatrove's habit): the runner hands it the records of one
input shard and a `ShardCounts` to update, and writes what it yields. Every record it reads must
end as an output or a `Rejection` with a reason; the runner checks the counts balance before it
commits the shard. A stage's outputs depend only on its input shard, the config sections it
names, and its version, which together form the key that decides whether a rerun can skip it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from reasonmill.config import BuildConfig
from reasonmill.records import Record, Rejection
from reasonmill.registry import Registry
from reasonmill.shards import ShardCounts

Output = Record | Rejection


class Stage(ABC):
    """One step of a build over shards. Subclasses set `name`, `version`, `sections`."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    # Config sections whose values change this stage's output (besides `seed` and `shard_rows`).
    sections: ClassVar[tuple[str, ...]] = ()
    # The build folder, set by the runner (`make_stage`); stages that call an LLM keep their
    # request cache there. None when a stage is built on its own (tests, shard planning).
    out: Path | None = None

    def __init__(self, config: BuildConfig) -> None:
        self.config = config

    @property
    def llm_tag(self) -> str:
        """The request-cache tag of this stage: its name and version (a new version misses)."""
        return f"{self.name}:{self.version}"

    def prepare(self, out: Path, input_shards: list[Path]) -> None:
        """Compute state that spans shards (e.g. dedup tables) before shards run. Default: none."""
        return None

    @abstractmethod
    def run(self, records: Iterable[Record], shard: int, counts: ShardCounts) -> Iterator[Output]:
        """Yield an output or a rejection for every record read; count reads, writes, drops."""

    @classmethod
    def key_part(cls, config: BuildConfig) -> str:
        """This stage's part of the resume key: its version and the hash of its config sections."""
        return f"{cls.name}@{cls.version}:{config.section_hash(*cls.sections)}"


class SourceStage(Stage):
    """A stage that creates records from nothing (seed synthesis): it plans shards itself."""

    @abstractmethod
    def num_shards(self) -> int:
        """How many shards this stage writes."""

    @abstractmethod
    def create(self, shard: int, counts: ShardCounts) -> Iterator[Output]:
        """Yield the records (or rejections) of shard `shard`, counting them as created."""

    def run(self, records: Iterable[Record], shard: int, counts: ShardCounts) -> Iterator[Output]:
        return self.create(shard, counts)


def _load_stages() -> None:
    import importlib
    import pkgutil

    import reasonmill.pipelines.stages as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name != "base":
            importlib.import_module(f"reasonmill.pipelines.stages.{info.name}")


STAGES: Registry[Any] = Registry("stage", loader=_load_stages)
