"""What a finished build did, read back from its files: the numbers behind the dataset card.

Every function reads the build folder (the manifest and the stage shards it lists) and returns
plain dicts; none writes. They are apart from the card's Markdown so tests check numbers, not text,
and so any other view of a build (`reasonmill inspect`, a notebook) can reuse them.

- `verification_summary`: per verifier, the teacher traces by verdict (passed, mismatch, no_answer,
  timeout, error, unverifiable), from the verify stage's kept and rejected shards.
- `teacher_accuracy`: per source (family or composition principle) and level, the share of teacher
  traces that passed, from the same shards. Records rejected as `unverifiable_gold` are left out:
  against a gold the verifier cannot read, a trace is neither right nor wrong.
- `retro_search_records`: per corpus record, the tokens of its trace before Retro-Search (the
  shortest verified teacher trace) and after (the shortest verified trace once revisions are
  added), from the retro_search stage's per-trace log; `retro_search_summary` sums them.
- `decontamination_report`: the manifest's or a curation's report when there is one, else what the
  score stage's decontamination did, else None ("not run").

A stage whose shards are not in the build folder (pruned to save space) gives None: the card then
says "no data" instead of showing numbers it cannot back.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reasonmill.pipelines import corpus as corpus_subsets

PLOTS = {
    "difficulty": "report/difficulty.png",
    "lengths": "report/lengths.png",
    "retro_search": "report/retro_search.png",
    "rejections": "report/rejections.png",
}
"""Plot name → path under the build folder (the card embeds those that exist)."""

PROMPTS_FILE = "report/prompt_templates.json"
"""Where `write_report` records the prompt template hashes of the code that ran the build."""

_ANALYSIS_COLUMNS = (
    "id",
    "source",
    "level",
    "kind",
    "principle",
    "difficulty",
    "trace_tokens",
    "tokens",
    "scores",
    "trace_id",
    "parent_trace_id",
)


def corpus_records(out: Path) -> pa.Table | None:
    """The corpus's flat analysis rows (one per kept record), or None when the corpus is empty.

    New layout: `OUT/corpus/records/` through `corpus.read_subset(out, "records")`. Old layout:
    `OUT/corpus/*.parquet` (analysis columns only).
    """
    out = Path(out)
    if (out / "corpus" / "records").is_dir():
        table = corpus_subsets.read_subset(out, "records")
        return table if table.num_rows else None
    files = sorted((out / "corpus").glob("*.parquet"))
    tables = []
    for f in files:
        names = pq.read_schema(f).names
        tables.append(pq.read_table(f, columns=[c for c in _ANALYSIS_COLUMNS if c in names]))
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    return table if table.num_rows else None


def score_map(value: Any) -> dict[str, float]:
    """A row's scores as one dict, whichever form they were stored in (nulls dropped)."""
    # JSON text (old export), a struct (dict), a map (list of pairs) or a list of {"name", "value"}
    # structs (stage shards): one dict, nulls dropped.
    if value is None:
        return {}
    if isinstance(value, str):
        return json.loads(value) if value else {}
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None}
    pairs = (
        (p.get("name"), p.get("value")) if isinstance(p, dict) else tuple(p) for p in value
    )  # (name, value) list
    return {k: v for k, v in pairs if v is not None}


def record_rows(out: Path) -> list[dict[str, Any]]:
    """Corpus records as {"id", "source", "level", "difficulty", "tokens", "scores"} dicts.

    Tolerant of column names across layouts: tokens from `trace_tokens` or `tokens`, difficulty
    from a `difficulty` column or the scores (`difficulty`, else `difficulty_intrinsic`).
    """
    table = corpus_records(out)
    if table is None:
        return []
    rows = []
    for r in table.to_pylist():
        scores = score_map(r.get("scores"))
        difficulty = r.get("difficulty")
        if difficulty is None:
            difficulty = scores.get("difficulty", scores.get("difficulty_intrinsic", 0.0))
        tokens = r.get("trace_tokens", r.get("tokens"))
        rows.append(
            {
                "id": r.get("id"),
                "source": r.get("source") or "(unknown)",
                "level": r.get("level") or 0,
                "difficulty": float(difficulty),
                "tokens": int(tokens) if tokens is not None else None,
                "scores": scores,
            }
        )
    return rows


def ordered_stages(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's stages in pipeline order (the manifest's JSON keys are sorted by name)."""
    from reasonmill.pipelines.stages import STAGE_ORDER

    stages = manifest.get("stages") or {}
    rank = {name: i for i, name in enumerate(manifest.get("stage_order") or STAGE_ORDER)}
    return {k: stages[k] for k in sorted(stages, key=lambda k: (rank.get(k, len(rank)), k))}


VERDICT_ORDER = ("passed", "mismatch", "no_answer", "timeout", "error", "unverifiable", "unverified")
"""Verdict columns of the verification table, in this order (reasons the records module defines)."""

DECONTAM_BENCHMARKS = (
    "MATH test (5,000)",
    "GSM8K test (1,319)",
    "OlympiadBench (675)",
    "MATH-500",
    "Minerva math (272)",
    "AMC23",
    "AIME24",
    "AIME25",
)
"""Question sets behind `data/decontam_fingerprints.bin` (7,866 questions, hashed; no text shipped)."""

CURATION_FOLDERS = ("curated",)
"""Folders of a build that a curation run (`reasonmill curate`) may write, each with its own manifest
(`curate/` is the build's own curate stage; its report is `curation/`)."""


_SHA256 = re.compile(r"[0-9a-f]{64}")
_BASE_KEYS = ("dir", "folder", "root")
_CORPUS_HINTS = {"files": "corpus", "preference_files": "preference"}  # the old layout's bare file names


def _listed(node: Any, base: str, hints: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    """(name as listed, sha256, folder it is relative to) for every `files` / `*_files` mapping
    of name → sha256 anywhere under `node`; a sibling "dir"/"folder"/"root" sets the folder."""
    if isinstance(node, list):
        for item in node:
            yield from _listed(item, base, {})
        return
    if not isinstance(node, dict):
        return
    for key in _BASE_KEYS:
        if isinstance(node.get(key), str):
            base = node[key].strip("/")
            break
    for key, value in node.items():
        is_files = (key == "files" or key.endswith("_files")) and isinstance(value, dict) and value
        if is_files and all(isinstance(v, str) and _SHA256.fullmatch(v) for v in value.values()):
            for name, digest in value.items():
                # relative to the hinted folder (corpus "files" are corpus-relative, with or
                # without a subset folder in the name) or the base; `_resolve` falls back to
                # build-relative when only that reading exists on disk
                yield name, digest, hints.get(key, base)
        else:
            yield from _listed(value, base, {})


def _resolve(out: Path, name: str, folder: str) -> str:
    # A name relative to its folder, unless only the build-relative reading exists on disk.
    inside = f"{folder}/{name}" if folder else name
    if folder and not (out / inside).exists() and (out / name).exists():
        return name
    return inside


def data_files(out: Path, manifest: dict[str, Any]) -> dict[str, str]:
    """Every data file a build publishes, path relative to OUT → the sha256 its manifest lists.

    Generic over layouts: the file lists anywhere under the manifest's "corpus" section (old
    layout: bare names under `files` → corpus/, `preference_files` → preference/; new layout:
    `subsets.NAME.files` with build-relative paths, plus the same files corpus-relative under
    `files`), under its "curation" section, and in the
    manifest.json of a curation folder (`curate/`, `curated/`), whose names are relative to it.
    """
    out = Path(out)
    found: dict[str, str] = {}
    sources: list[tuple[Any, str, dict[str, str]]] = [
        (manifest.get("corpus") or {}, "", _CORPUS_HINTS),
        (manifest.get("curation") or {}, "", {}),
    ]
    for folder in CURATION_FOLDERS:
        sub = out / folder / "manifest.json"
        if sub.is_file():
            try:
                sources.append((json.loads(sub.read_text()), folder, {}))
            except ValueError:
                continue
    for node, base, hints in sources:
        for name, digest, folder in _listed(node, base, hints):
            found[_resolve(out, name, folder)] = digest
    return dict(sorted(found.items()))


def stage_shards(out: Path, manifest: dict[str, Any], stage: str) -> tuple[list[Path], list[Path]] | None:
    """(kept shards, rejected shards) of `stage` as the manifest lists them, or None when the stage
    is absent or any listed file is missing."""
    files = (manifest.get("stages", {}).get(stage) or {}).get("files") or {}
    kept: list[Path] = []
    rejected: list[Path] = []
    for rel in sorted(files):
        if not rel.endswith(".parquet"):
            continue
        # OUT/<stage>/rejected/shard-… or OUT/rejected/<stage>/shard-…, whichever the build has
        (rejected if "rejected" in rel.split("/")[:-1] else kept).append(Path(out) / rel)
    if not kept and not rejected:
        return None
    if not all(p.exists() for p in kept + rejected):
        return None
    return kept, rejected


def _column(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _trace_rows(out: Path, manifest: dict[str, Any]) -> list[tuple[str, int, str | None, str, str]] | None:
    """One row per teacher trace of the verify stage: (source, level, record's rejection reason or
    None, verifier, verdict) where verdict is "passed" or the reason it did not pass."""
    shards = stage_shards(out, manifest, "verify")
    if shards is None:
        return None
    kept, rejected = shards
    rows: list[tuple[str, int, str | None, str, str]] = []

    def add(sources: list[str], levels: list[int], why: list[str | None], traces: pa.Array) -> None:
        if len(traces) == 0:
            return
        parents = pc.list_parent_indices(traces).to_pylist()
        verdict = pc.struct_field(pc.list_flatten(traces), "verdict")
        passed = pc.struct_field(verdict, "passed").to_pylist()
        verifier = pc.struct_field(verdict, "verifier").to_pylist()
        reason = pc.struct_field(verdict, "reason").to_pylist()
        for i, p, v, r in zip(parents, passed, verifier, reason, strict=True):
            state = "unverified" if p is None else "passed" if p else (r or "error")
            rows.append((sources[i], levels[i], why[i], v or "(none)", state))

    for path in kept:
        t = pq.read_table(path, columns=["source", "level", "traces"])
        add(
            t.column("source").to_pylist(),
            t.column("level").to_pylist(),
            [None] * t.num_rows,
            _column(t.column("traces")),
        )
    for path in rejected:
        t = pq.read_table(path, columns=["reason", "record"])
        rec = _column(t.column("record"))
        if len(rec) == 0:
            continue
        add(
            pc.struct_field(rec, "source").to_pylist(),
            pc.struct_field(rec, "level").to_pylist(),
            t.column("reason").to_pylist(),
            pc.struct_field(rec, "traces"),
        )
    return rows


def verification_summary(out: Path, manifest: dict[str, Any]) -> dict[str, dict[str, int]] | None:
    """Verifier name → {"traces": n, "passed": k, "mismatch": …, …} over every teacher trace the
    verify stage checked (kept and rejected records), or None without verify shards."""
    rows = _trace_rows(Path(out), manifest)
    if rows is None:
        return None
    by: dict[str, Counter] = defaultdict(Counter)
    for _src, _lvl, _why, verifier, state in rows:
        by[verifier]["traces"] += 1
        by[verifier][state] += 1
    return {v: dict(c) for v, c in sorted(by.items())}


def teacher_accuracy(out: Path, manifest: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Rows {source, level, records, traces, passed, accuracy} sorted by source and level, or None.

    `accuracy` = passed / traces: the share of the teacher's samples whose answer verified.
    """
    rows = _trace_rows(Path(out), manifest)
    if rows is None:
        return None
    traces: Counter = Counter()
    passed: Counter = Counter()
    for src, lvl, why, _verifier, state in rows:
        if why == "unverifiable_gold":
            continue
        traces[(src, lvl)] += 1
        passed[(src, lvl)] += state == "passed"
    records = records_per_group(Path(out), manifest)
    return [
        {
            "source": src,
            "level": lvl,
            "records": records.get((src, lvl), 0),
            "traces": n,
            "passed": passed[(src, lvl)],
            "accuracy": passed[(src, lvl)] / n if n else 0.0,
        }
        for (src, lvl), n in sorted(traces.items())
    ]


def records_per_group(out: Path, manifest: dict[str, Any]) -> dict[tuple[str, int], int]:
    """(source, level) → records the verify stage read, unverifiable golds left out."""
    shards = stage_shards(Path(out), manifest, "verify")
    counts: Counter = Counter()
    if shards is None:
        return {}
    kept, rejected = shards
    for path in kept:
        t = pq.read_table(path, columns=["source", "level"])
        counts.update(zip(t.column("source").to_pylist(), t.column("level").to_pylist(), strict=True))
    for path in rejected:
        t = pq.read_table(path, columns=["reason", "record"])
        rec = _column(t.column("record"))
        if len(rec) == 0:
            continue
        src = pc.struct_field(rec, "source").to_pylist()
        lvl = pc.struct_field(rec, "level").to_pylist()
        for s, lv, why in zip(src, lvl, t.column("reason").to_pylist(), strict=True):
            if why != "unverifiable_gold":
                counts[(s, lv)] += 1
    return dict(counts)


def retro_search_records(
    out: Path, manifest: dict[str, Any], ids: set[str] | None = None
) -> dict[str, dict[str, Any]] | None:
    """Record id → {"level", "before", "after", "revised"} from the retro_search stage's log.

    `before` is the shortest verified teacher trace (what the corpus would hold without
    Retro-Search), `after` the shortest verified trace once the accepted revisions are added (what
    it holds), both in `reasonmill.text.count_tokens` tokens. `ids` keeps only those records (the
    corpus's). None without retro_search shards.
    """
    shards = stage_shards(Path(out), manifest, "retro_search")
    if shards is None:
        return None
    result: dict[str, dict[str, Any]] = {}
    for path in shards[0]:
        t = pq.read_table(path, columns=["id", "level", "meta"])
        for rid, lvl, meta in zip(
            t.column("id").to_pylist(),
            t.column("level").to_pylist(),
            t.column("meta").to_pylist(),
            strict=True,
        ):
            if ids is not None and rid not in ids:
                continue
            log = (json.loads(meta) if meta else {}).get("retro_search") or {}
            verified = [e for e in log.get("traces", []) if e.get("reason") != "not_verified"]
            if not verified:
                continue
            result[rid] = {
                "level": lvl,
                "before": min(e["tokens_before"] for e in verified),
                "after": min(e["tokens_after"] for e in verified),
                "revised": sum(e.get("reason") == "revised" for e in verified),
                "traces": len(verified),
            }
    return result


def retro_search_summary(per_record: dict[str, dict[str, Any]] | None) -> dict[str, Any] | None:
    """Totals of `retro_search_records`: records, traces tried and revised, tokens before and after
    and the reduction (1 - after / before), overall and per level."""
    if per_record is None:
        return None
    levels: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in per_record.values():
        levels[r["level"]].append(r)

    def total(rs: list[dict[str, Any]]) -> dict[str, Any]:
        before, after = sum(r["before"] for r in rs), sum(r["after"] for r in rs)
        return {
            "records": len(rs),
            "records_shortened": sum(r["after"] < r["before"] for r in rs),
            "traces": sum(r["traces"] for r in rs),
            "traces_revised": sum(r["revised"] for r in rs),
            "tokens_before": before,
            "tokens_after": after,
            "reduction": 1 - after / before if before else 0.0,
        }

    return {
        **total(list(per_record.values())),
        "by_level": {lv: total(rs) for lv, rs in sorted(levels.items())},
    }


def _curation_reports(out: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for folder in CURATION_FOLDERS:
        for name in ("manifest.json", "report.json", "decontamination.json"):
            p = Path(out) / folder / name
            if p.is_file():
                try:
                    found.append((f"{folder}/{name}", json.loads(p.read_text())))
                except ValueError:
                    continue
    return found


def decontamination_report(out: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The build's decontamination report, or None when decontamination did not run.

    Looked up in order: `manifest["decontamination"]`, `manifest["curation"]["decontamination"]`,
    then a curation folder's manifest/report (its "decontamination" entry, or a
    decontamination.json). Every result has "source" (where it came from) next to the report's
    own fields.
    """
    if isinstance(manifest.get("decontamination"), dict):
        return {"source": "manifest.json", **manifest["decontamination"]}
    curation = manifest.get("curation")
    if isinstance(curation, dict) and isinstance(curation.get("decontamination"), dict):
        return {"source": "manifest.json (curation)", **curation["decontamination"]}
    for where, doc in _curation_reports(Path(out)):
        if where.endswith("decontamination.json") and isinstance(doc, dict):
            return {"source": where, **doc}
        if isinstance(doc, dict) and isinstance(doc.get("decontamination"), dict):
            return {"source": where, **doc["decontamination"]}
    return None


__all__ = [
    "CURATION_FOLDERS",
    "VERDICT_ORDER",
    "data_files",
    "decontamination_report",
    "records_per_group",
    "retro_search_records",
    "retro_search_summary",
    "stage_shards",
    "teacher_accuracy",
    "verification_summary",
]
