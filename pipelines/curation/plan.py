"""`plan_curation`: decide, for every row of a table, kept or (reason, detail); and a report.

Order of the steps (a row gets the reason of the first step that drops it):

1. decontamination → `contaminated` (a benchmark question in the data is contaminated however
   many copies there are, so this runs before dedup);
2. exact dedup → `duplicate`;
3. near-duplicate dedup (MinHash LSH) → `near_duplicate`;
4. semantic dedup (embeddings, same numbers) → `semantic_duplicate`;
5. the configured selectors, in order, each on the rows still kept → `not_selected`,
   `unscored`, `low_quality`.

The plan is a pure function of the rows (in their order), the config and the embedding model, so
a build's `curate` stage (whose cross-shard `prepare` plans over every row of every shard, then
applies `plan.decision(id)` per shard) and `reasonmill curate` on the same rows agree.

Decisions (`CurationPlan.decisions`, a DataFrame, one row per input row, same order):
`row` (position), `id`, `kept` (bool), `reason` (None when kept), `detail` ("" when kept),
`duplicate_of` (id of the kept row a duplicate points at, else None), plus `curation_<score>`
columns the selectors computed (NaN where not computed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from reasonmill.errors import ConfigError
from reasonmill.llm.base import LLMBackend
from reasonmill.pipelines.curation.config import CurationConfig
from reasonmill.pipelines.curation.decontam import Decontaminator
from reasonmill.pipelines.curation.dedup import exact_duplicates, near_duplicates, semantic_duplicates
from reasonmill.pipelines.curation.embed import Embedder
from reasonmill.pipelines.curation.report import CurationReport
from reasonmill.pipelines.curation.selectors import SELECTORS, SelectionContext, trace_lengths
from reasonmill.pipelines.curation.table import curation_table
from reasonmill.pipelines.curation.text import content_key, normalise

Progress = Callable[[str, int, int], None]
"""Called as `progress(step, done, total)` during long steps (embedding, hashing, dedup)."""

REASONS = (
    "contaminated",
    "duplicate",
    "near_duplicate",
    "semantic_duplicate",
    "not_selected",
    "unscored",
    "low_quality",
)


class Decision(NamedTuple):
    """One row's outcome: kept, or the reason and detail of its rejection."""

    kept: bool
    reason: str | None
    detail: str


@dataclass(slots=True)
class CurationPlan:
    """The decisions for every row, the report, and the config they came from."""

    decisions: pd.DataFrame
    report: CurationReport
    config: CurationConfig

    def decision(self, row_id: str) -> Decision:
        """The decision for the row with id `row_id` (KeyError when the plan has no such row)."""
        lookup = self._lookup()
        i = lookup[row_id]
        d = self.decisions
        return Decision(bool(d["kept"].iat[i]), d["reason"].iat[i], d["detail"].iat[i])

    def scores(self, row_id: str) -> dict[str, float]:
        """The `curation_*` scores the selectors computed for row `row_id` (NaN ones left out)."""
        i = self._lookup()[row_id]
        cols = [c for c in self.decisions.columns if c.startswith("curation_")]
        return {
            c: float(self.decisions[c].iat[i])
            for c in cols
            if self.decisions[c].iat[i] == self.decisions[c].iat[i]
        }

    def __contains__(self, row_id: object) -> bool:
        return row_id in self._lookup()

    def _lookup(self) -> dict[str, int]:
        cache = self.decisions.attrs.get("_lookup")
        if cache is None:
            cache = {rid: i for i, rid in enumerate(self.decisions["id"].tolist())}
            self.decisions.attrs["_lookup"] = cache
        return cache

    def kept_ids(self) -> list[str]:
        """Ids of the kept rows, in input order."""
        return self.decisions.loc[self.decisions["kept"], "id"].tolist()

    def counts(self) -> dict[str, int]:
        """Rows per outcome: "kept" and each rejection reason."""
        c = {"kept": int(self.decisions["kept"].sum())}
        c.update(
            {str(k): int(v) for k, v in self.decisions["reason"].dropna().value_counts().sort_index().items()}
        )
        return c

    def save(self, folder: Path) -> None:
        """Write `decisions.parquet` and `report.json` into `folder` (for a stage's `run` to load)."""
        from reasonmill.shards import atomic_write_json, atomic_write_table

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        import pyarrow as pa

        frame = self.decisions.copy()
        frame.attrs = {}
        atomic_write_table(folder / "decisions.parquet", pa.Table.from_pandas(frame, preserve_index=False))
        atomic_write_json(
            folder / "plan.json",
            {"config": self.config.model_dump(mode="json"), "report": self.report.to_dict()},
        )

    @classmethod
    def load(cls, folder: Path) -> CurationPlan:
        """Read a plan written by `save`."""
        import json

        import pyarrow.parquet as pq

        folder = Path(folder)
        frame = pq.read_table(folder / "decisions.parquet").to_pandas()
        for col in ("id", "reason", "detail", "duplicate_of"):
            values = frame[col].astype(object)
            frame[col] = pd.Series([None if v is None or v != v else v for v in values], dtype=object)
        meta = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
        return cls(
            frame, CurationReport.from_dict(meta["report"]), CurationConfig.model_validate(meta["config"])
        )


def _open_backends(
    config: CurationConfig, given: Mapping[str, LLMBackend] | None, cache_dir: Path | None
) -> tuple[dict[str, LLMBackend], list[LLMBackend]]:
    """(backends by name, the ones opened here): `given` ones first, else built from
    `config.backends`, behind the request cache in `cache_dir` (a rerun asks only what failed)."""
    backends = dict(given or {})
    opened: list[LLMBackend] = []
    for name in sorted(config.backend_names()):
        if name in backends:
            continue
        if name not in config.backends:
            known = ", ".join(sorted(set(config.backends) | set(backends))) or "(none)"
            raise ConfigError("backends", f"LLM backend {name!r} is named but not defined; defined: {known}")
        from reasonmill.llm.registry import make_backend

        backend = make_backend(config.backends[name])
        opened.append(backend)
        if cache_dir is not None:
            from reasonmill.llm.cache import CachedBackend, RequestCache

            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            backend = CachedBackend(
                backend, RequestCache(Path(cache_dir) / "llm-cache.sqlite"), tag="curate:1"
            )
        backends[name] = backend
    return backends, opened


def plan_curation(
    table: pd.DataFrame | Any,
    config: CurationConfig | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
    backends: Mapping[str, LLMBackend] | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> CurationPlan:
    """Plan curation over `table` (pandas DataFrame or pyarrow Table; see the module doc).

    `mapping` names the standard columns (`{"question": "problem"}`); `cache_dir` holds the
    embedding cache and indexes built at run time; `backends` are LLM backends by name for the
    judge steps (else built from `config.backends`); `embedder` may be shared between calls.
    """
    config = config or CurationConfig()
    if not isinstance(table, pd.DataFrame):
        table = table.to_pandas()
    t = curation_table(table, mapping)
    opened, to_close = _open_backends(config, backends, cache_dir)
    try:
        return _plan(t, config, opened, embedder, cache_dir, progress)
    finally:
        for backend in to_close:
            backend.close()


def _plan(
    t: pd.DataFrame,
    config: CurationConfig,
    opened: dict[str, LLMBackend],
    embedder: Embedder | None,
    cache_dir: Path | None,
    progress: Progress | None,
) -> CurationPlan:
    """The steps of `plan_curation` over the standard table `t`."""
    n = len(t)
    ids = t["id"].tolist()
    questions = t["question"].tolist()
    timings: dict[str, float] = {}
    reason = np.array([None] * n, dtype=object)
    detail = np.array([""] * n, dtype=object)
    dup_of = np.array([None] * n, dtype=object)
    alive = np.ones(n, dtype=bool)
    needs_emb = config.needs_embeddings() and n > 0
    embedder = embedder or (Embedder(config.embedding, cache_dir) if needs_emb else None)

    def report_progress(step: str) -> Callable[[int, int], None] | None:
        return None if progress is None else (lambda done, total: progress(step, done, total))

    # Embeddings of every distinct normalised question, computed once and shared by the steps.
    emb_rows: np.ndarray | None = None
    if needs_emb:
        start = time.perf_counter()
        first: dict[str, int] = {}
        owner = np.empty(n, dtype=np.int64)
        uniq: list[str] = []
        for i, q in enumerate(questions):
            key = normalise(q)
            j = first.get(key)
            if j is None:
                j = first[key] = len(uniq)
                uniq.append(q)
            owner[i] = j
        assert embedder is not None
        emb_unique = embedder.encode(uniq, report_progress("embed")).astype(np.float16)
        emb_rows = owner  # row -> unique position
        timings["embed"] = time.perf_counter() - start

    def embeddings_of(rows: np.ndarray) -> np.ndarray:
        assert emb_rows is not None
        return emb_unique[emb_rows[rows]].astype(np.float32)

    contamination: list[dict[str, Any]] = []
    templates: list[dict[str, Any]] = []
    judge_rejected: list[dict[str, Any]] = []
    if config.decontam.enabled and n:
        start = time.perf_counter()
        deco = Decontaminator(
            config.decontam, embedder if config.decontam.embeddings else None, cache_dir, opened
        )
        # one check per distinct normalised question
        first_row: dict[str, int] = {}
        for i, q in enumerate(questions):
            first_row.setdefault(normalise(q), i)
        reps = np.array(sorted(first_row.values()), dtype=np.int64)
        emb = embeddings_of(reps) if (emb_rows is not None and config.decontam.embeddings) else None
        results = deco.check([questions[i] for i in reps], emb, report_progress("decontaminate"))
        by_key = {normalise(questions[i]): r for i, r in zip(reps.tolist(), results, strict=True)}
        for i in range(n):
            res = by_key[normalise(questions[i])]
            if res.match is not None:
                alive[i] = False
                reason[i] = "contaminated"
                detail[i] = f"same problem as {res.match.describe()}"
                contamination.append({"id": ids[i], "row": i, **res.match.as_dict()})
                continue  # a contaminated row's other (template) neighbours are not news
            for m in res.templates:
                templates.append({"id": ids[i], "row": i, **m.as_dict()})
            for m in res.judge_rejected:
                judge_rejected.append({"id": ids[i], "row": i, **m.as_dict()})
        timings["decontaminate"] = time.perf_counter() - start

    if config.exact.enabled:
        start = time.perf_counter()
        rows = np.flatnonzero(alive)
        d = exact_duplicates([questions[i] for i in rows])
        for pos in np.flatnonzero(d >= 0).tolist():
            i, j = rows[pos], rows[d[pos]]
            alive[i], reason[i], dup_of[i] = False, "duplicate", ids[j]
            detail[i] = f"same normalised question as {ids[j]}"
        timings["exact_dedup"] = time.perf_counter() - start

    if config.near.enabled and n:
        start = time.perf_counter()
        rows = np.flatnonzero(alive)
        d, jac = near_duplicates([questions[i] for i in rows], config.near, report_progress("near_dedup"))
        for pos in np.flatnonzero(d >= 0).tolist():
            i, j = rows[pos], rows[d[pos]]
            alive[i], reason[i], dup_of[i] = False, "near_duplicate", ids[j]
            detail[i] = f"MinHash Jaccard {jac[pos]:.3f} with {ids[j]} (threshold {config.near.threshold})"
        timings["near_dedup"] = time.perf_counter() - start

    if config.semantic.enabled and n:
        start = time.perf_counter()
        rows = np.flatnonzero(alive)
        nums = [content_key(questions[i]) for i in rows] if config.semantic.same_numbers else None
        d, cos = semantic_duplicates(
            embeddings_of(rows), config.semantic, nums, report_progress("semantic_dedup")
        )
        for pos in np.flatnonzero(d >= 0).tolist():
            i, j = rows[pos], rows[d[pos]]
            alive[i], reason[i], dup_of[i] = False, "semantic_duplicate", ids[j]
            same = ", same numbers" if config.semantic.same_numbers else ""
            detail[i] = f"cosine {cos[pos]:.3f} with {ids[j]}{same} (threshold {config.semantic.threshold})"
        timings["semantic_dedup"] = time.perf_counter() - start

    lengths_all = trace_lengths(t)
    difficulty_all = (
        pd.to_numeric(t["difficulty"], errors="coerce").to_numpy(float)
        if "difficulty" in t
        else np.full(n, np.nan)
    )
    before = np.flatnonzero(alive)
    scores: dict[str, np.ndarray] = {}
    steps: list[dict[str, Any]] = []
    for spec in config.selectors:
        start = time.perf_counter()
        cls = SELECTORS.get(spec.name)
        params = cls.validate_params(spec.params, f"selectors.{spec.name}.params")
        rows = np.flatnonzero(alive)
        sub = t.iloc[rows].reset_index(drop=True)
        ctx = SelectionContext(
            embeddings=lambda rows=rows: embeddings_of(rows),
            backends=opened,
            progress=report_progress(spec.name),
        )
        sel = cls().select(sub, params, ctx)
        counts: dict[str, int] = {}
        for pos in np.flatnonzero(~sel.keep).tolist():
            i = rows[pos]
            alive[i], reason[i], detail[i] = False, sel.reasons[pos] or "not_selected", sel.details[pos]
            counts[reason[i]] = counts.get(reason[i], 0) + 1
        for name, values in sel.scores.items():
            col = scores.setdefault(f"curation_{name}", np.full(n, np.nan))
            col[rows] = values
        steps.append({"selector": spec.name, "rows in": len(rows), "kept": int(sel.keep.sum()), **counts})
        timings[spec.name] = time.perf_counter() - start

    decisions = pd.DataFrame({"row": np.arange(n), "id": pd.Series(ids, dtype=object), "kept": alive})
    # object columns: None (not NaN) where a row is kept, whatever pandas would infer
    decisions["reason"] = pd.Series(reason, dtype=object)
    decisions["detail"] = pd.Series(detail, dtype=object)
    decisions["duplicate_of"] = pd.Series(dup_of, dtype=object)
    for name, values in scores.items():
        decisions[name] = values
    kept_rows = np.flatnonzero(alive)
    counts = {str(k): int(v) for k, v in pd.Series(reason).dropna().value_counts().sort_index().items()}
    report = CurationReport(
        rows=n,
        kept=int(alive.sum()),
        reasons=counts,
        contamination=contamination,
        templates=templates,
        judge_rejected=judge_rejected,
        selection=steps,
        difficulty_before=[float(x) for x in difficulty_all[before]],
        difficulty_after=[float(x) for x in difficulty_all[kept_rows]],
        length_before=[float(x) for x in lengths_all[before]],
        length_after=[float(x) for x in lengths_all[kept_rows]],
        timings={k: round(v, 4) for k, v in timings.items()},
        config=config.model_dump(mode="json"),
    )
    if embedder is not None:
        embedder.close()
    return CurationPlan(decisions, report, config)
