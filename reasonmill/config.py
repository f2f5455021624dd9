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
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reasonmill.errors import ConfigError
from reasonmill.text import TRANSITION_KEYWORDS

# The default offline build: every procedural family (reasoning-gym is an optional extra), more
# items where the family has more variety, and every composition principle.
DEFAULT_SEEDS: tuple[tuple[str, int], ...] = (
    ("arithmetic_chain", 150),
    ("arithmetic_expression", 100),
    ("linear_equation", 150),
    ("quadratic_equation", 100),
    ("linear_system", 100),
    ("polynomial_roots", 80),
    ("gcd_lcm", 100),
    ("modular_power", 100),
    ("prime_factors", 80),
    ("counting", 100),
    ("countdown", 100),
    ("sudoku", 60),
    ("knights_knaves", 100),
    ("zebra", 60),
    ("shortest_path", 100),
)
DEFAULT_COMPOSE: tuple[tuple[str, int, int], ...] = (
    ("bridging", 80, 2),
    ("chaining", 40, 3),
    ("comparison", 40, 2),
    ("conjunction", 40, 2),
)


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors.

    `operational` names the fields that change how a stage runs but not what it writes (worker
    counts); resume keys leave them out (`output_dump`).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    operational: ClassVar[frozenset[str]] = frozenset()

    def output_dump(self) -> dict[str, Any]:
        """This section as JSON data without its operational fields, nested sections included."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            if name in self.operational:
                continue
            value = getattr(self, name)
            out[name] = _output_value(value)
        return out


def _output_value(value: Any) -> Any:
    if isinstance(value, Strict):
        return value.output_dump()
    if isinstance(value, list | tuple):
        return [_output_value(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


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


class LLMComposeConfig(Strict):
    """LLM multi-hop composition of synthesized seeds (`synthesis`): per background sample,
    `per_sample` questions, each under a different principle drawn from `principles`."""

    backend: str
    principles: list[str] = Field(
        default_factory=lambda: ["bridging", "comparison", "temporal"], min_length=1
    )
    per_sample: int = Field(default=1, ge=1)
    temperature: float = Field(default=0.7, ge=0)
    top_p: float = Field(default=0.95, gt=0, le=1)
    max_tokens: int = Field(default=1024, ge=1)


class ComposeConfig(Strict):
    """Multi-hop composition: which principles, how many items, and whether seeds pass through.

    `rules` compose procedural seeds programmatically; `llm` (optional) composes LLM seeds.
    """

    rules: list[ComposeRule] = Field(
        default_factory=lambda: [ComposeRule(principle=p, count=c, hops=h) for p, c, h in DEFAULT_COMPOSE]
    )
    keep_seeds: bool = True
    llm: LLMComposeConfig | None = None


def _no_prefixed_backend(section: str, field: str, value: str) -> str:
    # Earlier configs named a backend as "llm:NAME" in a registry field; say what to write now.
    if value.startswith("llm:"):
        raise ValueError(
            f"name an LLM backend with `{section}.backend: {value[4:]}` (not `{field}: {value}`)"
        )
    return value


ERROR_KINDS = ("slip", "budget", "misread")


class TeacherErrorsConfig(Strict):
    """The programmatic teacher's error model: the share of samples that end wrong at each level
    (index = level - 1; the last value repeats) and the kinds of mistake it may make ("slip": an
    uncaught arithmetic slip; "budget": a search that stops at its node budget and commits to its
    best guess; "misread": a clue or number read wrongly). All zeros: an infallible teacher."""

    rate_by_level: list[Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: [0.03, 0.06, 0.09, 0.12, 0.15], min_length=1
    )
    kinds: list[str] = Field(default_factory=lambda: list(ERROR_KINDS))

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, v: list[str]) -> list[str]:
        for i, k in enumerate(v):
            if k not in ERROR_KINDS:
                raise ValueError(f"kinds[{i}]: unknown error kind {k!r}; known: {', '.join(ERROR_KINDS)}")
        return v


class DistillConfig(Strict):
    """Trace distillation: the teacher, samples per question and backtracking per level.

    `teacher` is a registered (offline) teacher, "programmatic" by default; `backend: NAME` makes
    the LLM backend NAME under `llm.backends` the teacher instead. The sampling knobs apply to the
    LLM teacher only.
    """

    teacher: str = "programmatic"
    backend: str | None = None
    samples: int = Field(default=2, ge=1, le=64)
    # Backtracks the programmatic teacher narrates at each level (index = level - 1; the last value
    # repeats for higher levels): harder items get more dead ends, as in the backtracking study.
    backtracks_by_level: list[Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: [0, 1, 1, 3, 5], min_length=1
    )
    # How often, and how, the programmatic teacher is wrong (wrong traces feed verification's
    # rejections and preference pairs).
    errors: TeacherErrorsConfig = Field(default_factory=TeacherErrorsConfig)
    temperature: float = Field(default=0.6, ge=0)
    top_p: float = Field(default=0.95, gt=0, le=1)
    max_tokens: int = Field(default=4096, ge=1)

    @field_validator("teacher")
    @classmethod
    def _teacher_name(cls, v: str) -> str:
        return _no_prefixed_backend("distill", "distill.teacher", v)

    @model_validator(mode="after")
    def _one_teacher(self) -> DistillConfig:
        if self.backend is not None and "teacher" in self.model_fields_set and self.teacher != "programmatic":
            raise ValueError(
                "set either distill.teacher (an offline teacher) or distill.backend (an LLM teacher)"
            )
        return self


class RetroSearchConfig(Strict):
    """Retro-Search revision of verified traces (the stage that shortens them), and the knobs of
    `reasonmill.generators.retro_search.revise`, which takes this model as it is.

    `max_boundaries` caps the boundaries tried per trace (partial Retro-Search); `token_budget` caps
    the rollout tokens spent per trace; `max_new_tokens` caps one rollout. Sampling defaults follow
    the paper (temperature 0.6, top_p 0.95); the programmatic reviser ignores them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # The offline reviser: "programmatic" (continues the programmatic teacher's own line of search).
    reviser: str = "programmatic"
    # An LLM backend under `llm.backends` as the reviser instead (self mode: the teacher's backend;
    # weak-to-strong: a smaller one).
    backend: str | None = None
    # Boundaries tried per trace; None = every switch (full Retro-Search), k = partial.
    max_boundaries: int | None = Field(default=None, ge=1)
    rollouts_per_boundary: int = Field(default=1, ge=1)
    gamma: float = Field(default=0.9, gt=0, le=1)
    # Rollout tokens one trace may spend; None = unbounded.
    token_budget: int | None = Field(default=None, ge=1)
    max_new_tokens: int = Field(default=4096, ge=1)
    temperature: float = Field(default=0.6, ge=0)
    top_p: float = Field(default=0.95, gt=0, le=1)
    # Paragraph openings that mark a switch of thought.
    keywords: tuple[str, ...] = TRANSITION_KEYWORDS
    # Seed of LLM rollouts; None = the build's seed.
    seed: int | None = None

    @field_validator("reviser")
    @classmethod
    def _reviser_name(cls, v: str) -> str:
        v = _no_prefixed_backend("retro_search", "retro_search.reviser", v)
        if v != "programmatic":
            raise ValueError(
                f"unknown reviser '{v}'; known: programmatic (an LLM reviser: retro_search.backend: NAME)"
            )
        return v


class JudgeConfig(Strict):
    """The LLM judge of kind "free_form" answers: the backend (a name under `llm.backends`) and the
    score at which a candidate passes."""

    backend: str
    threshold: float = Field(default=0.5, ge=0, le=1)


class VerifyConfig(Strict):
    """Answer verification: worker processes and a hard per-item timeout.

    `judge` (optional) grades kind "free_form"; without it free-form answers are unverifiable.
    """

    operational: ClassVar[frozenset[str]] = frozenset({"workers"})

    workers: int = Field(default=2, ge=1)
    timeout_s: float = Field(default=10.0, gt=0)
    # What a record needs to be kept: at least one trace whose answer verified.
    require_passing_trace: bool = True
    judge: JudgeConfig | None = None

    @field_validator("judge", mode="before")
    @classmethod
    def _judge_shape(cls, v: Any) -> Any:
        if isinstance(v, str):
            raise ValueError(f"write the judge as a section: `verify.judge: {{backend: {v}}}`")
        return v


class StudentConfig(Strict):
    """Empirical difficulty: `k` student samples per record, pass rate and difficulty = 1 - rate.

    The student is the LLM backend named by `backend`, or, without one, the offline student: the
    families' bounded solvers (a node budget, a random move order, slips by hand), sampled k times.
    With `filter`, records whose pass rate falls outside `band` (inclusive) are rejected as
    `too_easy` / `too_hard` (balanced online filtering keeps [0.2, 0.8] for RL).
    """

    backend: str | None = None
    k: int = Field(default=8, ge=1, le=256)
    band: tuple[float, float] = (0.2, 0.8)
    filter: bool = False
    temperature: float = Field(default=1.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_tokens: int = Field(default=2048, ge=1)

    @field_validator("band")
    @classmethod
    def _band(cls, v: tuple[float, float]) -> tuple[float, float]:
        lo, hi = v
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"needs 0 <= low <= high <= 1, got {list(v)}")
        return v


class ScoreConfig(Strict):
    """Difficulty scoring: intrinsic effort and the student's pass rate (dedup, decontamination
    and selection are the `curate` section's)."""

    # The student that measures pass rates: the offline one by default; null turns it off.
    student: StudentConfig | None = Field(default_factory=StudentConfig)


class CorpusConfig(Strict):
    """The corpus step (the build's last): rows per corpus file."""

    rows_per_file: int = Field(default=50_000, ge=1)


class LLMConfig(Strict):
    """Named LLM backends (each validated by its kind's own config model in `reasonmill.llm`) and
    whether requests are cached in the build folder (`OUT/llm_cache.sqlite`)."""

    backends: dict[str, dict[str, Any]] = Field(default_factory=dict)
    cache: bool = True

    @field_validator("backends")
    @classmethod
    def _valid_backends(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from reasonmill.llm.registry import BACKENDS  # lazy: only builds that name a backend pay for it

        for name, cfg in v.items():
            where = f"llm.backends.{name}"
            kind = cfg.get("kind")
            if kind not in BACKENDS:
                raise ConfigError(
                    f"{where}.kind", f"unknown backend kind {kind!r}; known: {', '.join(BACKENDS.names())}"
                )
            try:
                BACKENDS.get(kind).config.model_validate(cfg)
            except ValidationError as exc:
                err = exc.errors()[0]
                raise ConfigError(f"{where}.{_field_path(err['loc'])}", err["msg"]) from None
        return v


class SynthesisConfig(Strict):
    """MindGYM seed synthesis: `count` background samples, each with up to `subquestions`
    single-hop questions, over `areas` (empty = all eight). Written as extra seed shards after the
    procedural ones, `samples_per_shard` samples each (None: shard_rows // subquestions)."""

    backend: str
    count: int = Field(ge=0)
    areas: list[str] = Field(default_factory=list)
    subquestions: int = Field(default=5, ge=1, le=5)
    samples_per_shard: int | None = Field(default=None, ge=1)
    dedup_threshold: float = Field(default=0.75, gt=0, le=1)
    max_retries: int = Field(default=5, ge=0)
    temperature: float = Field(default=0.9, ge=0)
    top_p: float = Field(default=0.95, gt=0, le=1)
    max_tokens: int = Field(default=1024, ge=1)


class BuildConfig(Strict):
    """A whole build: seed, shard size and one section per stage."""

    name: str = "reasonmill-default"
    seed: int = 0
    shard_rows: int = Field(default=500, ge=1)
    seeds: list[SeedSource] = Field(
        default_factory=lambda: [SeedSource(generator=name, count=count) for name, count in DEFAULT_SEEDS],
        min_length=1,
    )
    compose: ComposeConfig = Field(default_factory=ComposeConfig)
    distill: DistillConfig = Field(default_factory=DistillConfig)
    retro_search: RetroSearchConfig = Field(default_factory=RetroSearchConfig)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    score: ScoreConfig = Field(default_factory=ScoreConfig)
    # Curation (dedup, decontamination, selection): a `CurationConfig` of
    # reasonmill.pipelines.curation, validated by the curate stage (core imports no stage);
    # {} = its defaults, null = off.
    curate: dict[str, Any] | None = Field(default_factory=dict)
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    synthesis: SynthesisConfig | None = None

    @model_validator(mode="after")
    def _backend_names_exist(self) -> BuildConfig:
        known = self.llm.backends
        for where, name in self.backend_refs():
            if name is not None and name not in known:
                names = ", ".join(sorted(known)) or "(none: add them under llm.backends)"
                raise ConfigError(where, f"unknown LLM backend '{name}'; known: {names}")
        return self

    def backend_refs(self) -> list[tuple[str, str | None]]:
        """Every place the config names an LLM backend: (config path, backend name or None)."""
        return [
            ("synthesis.backend", self.synthesis.backend if self.synthesis else None),
            ("compose.llm.backend", self.compose.llm.backend if self.compose.llm else None),
            ("distill.backend", self.distill.backend),
            ("verify.judge.backend", self.verify.judge.backend if self.verify.judge else None),
            ("retro_search.backend", self.retro_search.backend),
            ("score.student.backend", self.score.student.backend if self.score.student else None),
        ]

    def config_hash(self) -> str:
        """Hash of the canonical JSON of this config: equal configs, equal hashes."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
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
        inner = (first.get("ctx") or {}).get("error")
        if isinstance(inner, ConfigError):  # raised by a validator that knows the exact field
            raise inner from None
        lines = [f"{_field_path(e['loc'])}: {e['msg']}" for e in errors]
        more = f" (and {len(errors) - 1} more: {'; '.join(lines[1:])})" if len(errors) > 1 else ""
        raise ConfigError(_field_path(first["loc"]), f"{first['msg']} in {source}{more}") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (YAML lets the last win)."""


def _construct_unique_mapping(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} appears twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def load_config(path: str | Path | None) -> BuildConfig:
    """Load a YAML build config, or the defaults when `path` is None.

    Every way a file can be wrong is one `ConfigError` naming the file: missing, a directory,
    not UTF-8, not YAML, a key given twice, empty (an empty file is refused rather than silently
    running the default build: omit the argument for that), or not a mapping.
    """
    if path is None:
        return BuildConfig()
    p = Path(path)
    if not p.exists():
        raise ConfigError("(file)", f"config file {p} does not exist")
    if p.is_dir():
        raise ConfigError("(file)", f"config {p} is a directory, not a YAML file")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("(file)", f"{p} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read {p}: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError("(file)", f"{p} is not valid YAML: {' '.join(str(exc).split())}") from None
    if data is None:
        raise ConfigError("(file)", f"{p} is empty; omit the config argument to run the default build")
    if not isinstance(data, dict):
        raise ConfigError("(root)", f"{p} must hold a mapping, got {type(data).__name__}")
    return validate_config(data, source=str(p))
