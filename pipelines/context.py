"""What every stage is built from: `StageContext` (the runner builds one per build and process).

The context carries the validated config, the build folder, the shard plan, the build's shared
LLM backends and the one answer-checking path. Every stage is constructed the same way,
`STAGES.get(name)(ctx)`; a stage never builds another stage or reaches for global state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reasonmill.config import BuildConfig
from reasonmill.pipelines.backends import BackendHub
from reasonmill.pipelines.checking import AnswerChecker
from reasonmill.pipelines.plan import ShardPlan, shard_plan


@dataclass
class StageContext:
    """The config, folder, shard plan, backends and answer checker shared by a build's stages."""

    config: BuildConfig
    out: Path
    plan: ShardPlan
    backends: BackendHub
    checker: AnswerChecker

    def close(self) -> None:
        """Close the backends (and stop managed servers) this context opened."""
        self.backends.close()


def make_context(
    config: BuildConfig, out: Path, endpoints: dict[str, list[str]] | None = None
) -> StageContext:
    """A context for building `config` into `out`; `endpoints` are the base URLs of managed
    servers started by the process driving the build (see `BackendHub.start_managed`)."""
    backends = BackendHub(config, Path(out), endpoints)
    return StageContext(config, Path(out), shard_plan(config), backends, AnswerChecker(config, backends))
