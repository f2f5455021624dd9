"""Build configuration: one pydantic model, validated once at the edge, errors naming the field.

A config is YAML (or a dict). Unknown keys are errors (`extra="forbid"`), so a typo never silently
falls back to a default. Registry names (generators, principles, verifiers, teachers) are checked
by the pipeline against the live registries when a build starts, since core imports no stage.

The defaults reproduce `reasonmill build` with no options: an offline build of procedural seeds,
symbolic composition, the programmatic teacher with backtracking, Retro-Search, math-verify
verification and intrinsic difficulty, about 1,600 records on two cores in a few minutes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reasonmill.errors import ConfigError


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SeedSource(Strict):
    """`count` items from the generator registered as `generator`, spread over `levels`."""

    generator: str
    count: int = Field(ge=0)
    levels: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _levels_positive(self) -> SeedSource:
        for i, lv in enumerate(self.levels):
            if lv < 1:
                raise ValueError(f"levels[{i}] must be >= 1, got {lv}")
        return self


class ComposeRule(Strict):
    """`count` composed items per seed shard by principle `principle`, `hops` seeds each."""

    principle: str
    count: int = Field(ge=0)
    hops: int = Field(default=2, ge=2, le=6)


class ComposeConfig(Strict):
    """Multi-hop composition: which principles, how many items, and whether seeds pass through."""

    rules: list[ComposeRule] = Field(
        default_factory=lambda: [ComposeRule(principle="bridging", count=100, hops=2)]
    )
    keep_seeds: bool = True


class DistillConfig(Strict):
    """Trace distillation: the teacher, samples per question and backtracking per level."""

    teacher: str = "programmatic"
    samples: int = Field(default=2, ge=1, le=64)
    # Backtracks the programmatic teacher narrates at each level (index = level - 1; the last value
    # repeats for higher levels): harder items get more dead ends, as in the backtracking study.
    backtracks_by_level: list[int] = Field(default_factory=lambda: [0, 1, 1, 3, 5], min_length=1)


class RetroSearchConfig(Strict):
    """Retro-Search revision of verified traces (the stage that shortens them)."""

    enabled: bool = True
    # "programmatic" (continues the programmatic teacher's own line of search), or the name of an
    # LLM backend under `llm.backends` (self mode: the teacher's; weak-to-strong: a smaller one).
    reviser: str = "programmatic"
    # Boundaries tried per trace; None = every switch (full Retro-Search), k = partial.
    max_boundaries: int | None = Field(default=None, ge=1)
    rollouts_per_boundary: int = Field(default=1, ge=1)
    gamma: float = Field(default=0.9, gt=0, le=1)
    # Rollout tokens one trace may spend; None = unbounded.
    token_budget: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.6, ge=0)
    top_p: float = Field(default=0.95, gt=0, le=1)


class VerifyConfig(Strict):
    """Answer verification: worker processes and a hard per-item timeout."""

    workers: int = Field(default=2, ge=1)
    timeout_s: float = Field(default=10.0, gt=0)
    # What a record needs to be kept: at least one trace whose answer verified.
    require_passing_trace: bool = True


class ScoreConfig(Strict):
    """Difficulty scoring and selection."""

    dedup: bool = True
    decontaminate: bool = True
    ngram: int = Field(default=13, ge=4)


class ExportConfig(Strict):
    """Corpus export: rows per corpus file."""

    rows_per_file: int = Field(default=50_000, ge=1)


class BuildConfig(Strict):
    """A whole build: seed, shard size and one section per stage."""

    name: str = "reasonmill-default"
    seed: int = 0
    shard_rows: int = Field(default=500, ge=1)
    seeds: list[SeedSource] = Field(
        default_factory=lambda: [
            SeedSource(generator="arithmetic_chain", count=750),
            SeedSource(generator="linear_equation", count=750),
        ],
        min_length=1,
    )
    compose: ComposeConfig = Field(default_factory=ComposeConfig)
    distill: DistillConfig = Field(default_factory=DistillConfig)
    retro_search: RetroSearchConfig = Field(default_factory=RetroSearchConfig)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    score: ScoreConfig = Field(default_factory=ScoreConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)

    def config_hash(self) -> str:
        """Hash of the canonical JSON of this config: equal configs, equal hashes."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def section_hash(self, *sections: str) -> str:
        """Hash of only some sections (plus seed): a stage's outputs change only when these do."""
        dump = self.model_dump(mode="json")
        blob = json.dumps({k: dump[k] for k in ("seed", "shard_rows", *sections)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "(root)"


def validate_config(data: dict[str, Any] | None, source: str = "config") -> BuildConfig:
    """Validate a config dict; raise `ConfigError` naming the first offending field (all are listed)."""
    try:
        return BuildConfig.model_validate(data or {})
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        lines = [f"{_field_path(e['loc'])}: {e['msg']}" for e in errors]
        more = f" (and {len(errors) - 1} more: {'; '.join(lines[1:])})" if len(errors) > 1 else ""
        raise ConfigError(_field_path(first["loc"]), f"{first['msg']} in {source}{more}") from None


def load_config(path: str | Path | None) -> BuildConfig:
    """Load a YAML build config, or the defaults when `path` is None."""
    if path is None:
        return BuildConfig()
    p = Path(path)
    if not p.exists():
        raise ConfigError("(file)", f"config file {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError("(file)", f"{p} is not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError("(root)", f"{p} must hold a mapping, got {type(data).__name__}")
    return validate_config(data, source=str(p))
