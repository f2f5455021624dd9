"""Run a build's stages over shards: plain functions, the same ones the Prefect flow calls.

Every stage writes shard k from the previous stage's shard k (seeds create them), so shards are
independent units of work; a `cross_shard` stage (score's dedup) reads every input shard in
`prepare` first. `run_shard` reads the input, runs the stage, and does the row accounting for
every stage in one place: it counts what the stage yields (`Record` kept, `Rejection` dropped,
nothing else), checks that every input row came out exactly once (rows with new ids are
"created"), and commits the shard atomically with a completion marker.

Resume: a shard is skipped when its marker matches the stage's resume key (the chain of the
stage parts up to this stage, `Stage.key_part`), the digest of its input files and the checksums
of its own files, and no row of it is waiting for a retry (a request that failed or was cut off:
the shard is redone on the next run, the request cache answering everything that succeeded).
So a build killed at any moment and rerun writes exactly the corpus an uninterrupted build
writes, and a changed input reruns exactly the shards downstream of it.

`build` runs everything in-process, in order; `reasonmill.pipelines.flows` runs the same calls as
Prefect tasks.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from reasonmill import __version__
from reasonmill.config import BuildConfig
from reasonmill.generators.llm_tasks.parsing import REQUEST_FAILED, TRUNCATED
from reasonmill.llm import BackendStats
from reasonmill.lock import BuildLock
from reasonmill.pipelines.backends import BackendHub, BackendUse, collect_llm_stats
from reasonmill.pipelines.context import StageContext, make_context
from reasonmill.pipelines.corpus import write_subsets
from reasonmill.pipelines.plan import shard_plan
from reasonmill.pipelines.report import write_report
from reasonmill.pipelines.stages import STAGE_ORDER
from reasonmill.pipelines.stages.base import STAGES, Stage
from reasonmill.pipelines.tally import RETRYABLE, shard_tally
from reasonmill.records import Record, Rejection
from reasonmill.schema import SCHEMA_VERSION
from reasonmill.shards import (
    REJECTED,
    ShardCounts,
    StageDir,
    atomic_write_json,
    file_sha256,
    inputs_digest,
    iter_records,
    read_records,
)

ProgressHook = Callable[[str, int, dict[str, Any]], None]

TRANSIENT_REASONS = frozenset({REQUEST_FAILED, TRUNCATED})
"""Rejection reasons a rerun may cure: the shard that has one is redone on the next run."""


def num_shards(config: BuildConfig) -> int:
    """Shards per stage, fixed by the seed plan."""
    return shard_plan(config).num_shards


def stage_keys(config: BuildConfig) -> dict[str, str]:
    """Resume key of each stage: its own part chained after every upstream stage's part."""
    keys, chain = {}, ""
    for name in STAGE_ORDER:
        chain = f"{chain}|{STAGES.get(name).key_part(config)}"
        keys[name] = chain
    return keys


def make_stage(name: str, ctx: StageContext) -> Stage:
    """Stage `name` of this build; every stage is built the same way, from the context."""
    return STAGES.get(name)(ctx)


def check_config(config: BuildConfig, out: Path) -> None:
    """Build every stage once, so a bad registry name or family parameter in the config is a
    `ConfigError` before any work starts (no backend is opened)."""
    ctx = make_context(config, out)
    for name in STAGE_ORDER:
        make_stage(name, ctx)


def input_paths(out: Path, config: BuildConfig, stage_name: str, shard: int) -> list[Path]:
    """The files shard `shard` of a stage is made from: none for the source stage, every shard of
    the stage before for a cross-shard stage, else the same shard of the stage before."""
    idx = STAGE_ORDER.index(stage_name)
    if idx == 0:
        return []
    prev = StageDir(out, STAGE_ORDER[idx - 1])
    if STAGES.get(stage_name).cross_shard:
        return [prev.shard(k) for k in range(num_shards(config))]
    return [prev.shard(shard)]


def _clean_temp(out: Path, stage_name: str) -> None:
    # Leftovers of a write killed half-way; never read, removed so they do not pile up.
    for folder in (out / stage_name, out / REJECTED / stage_name):
        if folder.exists():
            for tmp in folder.rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)


def collect(
    stage: Stage, records: list[Record], shard: int
) -> tuple[list[Record], list[Rejection], ShardCounts]:
    """Run `stage` on one shard's records and account for every row it yields.

    Raises `AssertionError` naming the stage and shard when an input row is lost or yielded twice,
    and `TypeError` when the stage yields something that is neither a Record nor a Rejection.
    """
    inputs = {r.id for r in records}
    seen: set[str] = set()
    kept: list[Record] = []
    dropped: list[Rejection] = []
    counts = ShardCounts(read=len(records))
    for item in stage.run(records, shard):
        if isinstance(item, Rejection):
            rid = item.record.id
            dropped.append(item)
            counts.reject(item.reason)
        elif isinstance(item, Record):
            rid = item.id
            kept.append(item)
            counts.written += 1
        else:
            raise TypeError(
                f"stage {stage.name} yielded a {type(item).__name__}; a stage yields Record or Rejection"
            )
        if rid not in inputs:
            counts.created += 1
        elif rid in seen:
            raise AssertionError(f"stage {stage.name} shard {shard} yielded row {rid} twice")
        else:
            seen.add(rid)
    lost = inputs - seen
    if lost:
        raise AssertionError(
            f"stage {stage.name} shard {shard} lost {len(lost)} row(s), e.g. {sorted(lost)[:3]}"
        )
    return kept, dropped, counts


_LLM_COUNTERS = (
    "requests",
    "retries",
    "failures",
    "rate_limited",
    "prompt_tokens",
    "completion_tokens",
    "cache_hits",
    "banned_resamples",
    "short_replies",
)


def _llm_extra(per_backend: dict[str, BackendUse]) -> dict[str, int]:
    total = BackendStats()
    for use in per_backend.values():
        total.merge(use.stats)
    return {f"llm_{k}": getattr(total, k) for k in _LLM_COUNTERS if getattr(total, k)}


def run_shard(ctx: StageContext, stage: Stage, shard: int) -> dict[str, Any]:
    """Run `stage` on shard `shard` unless already complete; return its marker info."""
    out, config = ctx.out, ctx.config
    key = stage_keys(config)[stage.name]
    sdir = StageDir(out, stage.name)
    paths = input_paths(out, config, stage.name, shard)
    digest = inputs_digest(paths)
    if sdir.is_complete(shard, key, digest):
        info = sdir.read_marker(shard) or {}
        info["skipped"] = True
        return info
    own = (
        [paths[shard]] if stage.cross_shard else paths
    )  # a cross-shard stage still writes shard k from shard k
    records = [r for p in own for r in read_records(p)]
    with shard_tally() as tally, collect_llm_stats() as per_backend:
        kept, dropped, counts = collect(stage, records, shard)
    counts.extra.update(tally)
    counts.extra.update(_llm_extra(per_backend))
    retry = tally.get(RETRYABLE, 0) > 0 or any(j.reason in TRANSIENT_REASONS for j in dropped)
    info = sdir.commit(
        shard,
        key,
        kept,
        dropped,
        counts,
        inputs=digest,
        retry=retry,
        llm={n: use.as_dict() for n, use in sorted(per_backend.items())},
    )
    info["skipped"] = False
    return info


def stage_needs_work(ctx: StageContext, stage_name: str) -> bool:
    """True when some shard of the stage is not complete under the current key and inputs."""
    key = stage_keys(ctx.config)[stage_name]
    sdir = StageDir(ctx.out, stage_name)
    n = num_shards(ctx.config)
    return not all(
        sdir.is_complete(k, key, inputs_digest(input_paths(ctx.out, ctx.config, stage_name, k)))
        for k in range(n)
    )


def prepare_stage(ctx: StageContext, stage: Stage) -> None:
    """Run a cross-shard stage's `prepare` over every input shard."""
    stage.prepare(input_paths(ctx.out, ctx.config, stage.name, 0))


def _backend_totals(markers: Iterable[dict[str, Any]]) -> dict[str, BackendUse]:
    totals: dict[str, BackendUse] = {}
    for m in markers:
        for name, entry in (m.get("llm") or {}).items():
            entry = dict(entry)
            caps = entry.pop("capabilities", {}) or {}
            use = totals.setdefault(name, BackendUse())
            use.stats.merge(BackendStats(**entry))
            use.capabilities.update(caps)
    return totals


def backend_summary(
    config: BuildConfig, markers: list[dict[str, Any]], out_dir: Path | None = None
) -> dict[str, Any]:
    """Per LLM backend of the config: its kind and model, the stages that use it, what its
    requests cost over the whole build (every shard's marker summed: requests, tokens in and out,
    retries, failures by cause) and what the server was found to support (served model, n,
    prefix continuation, logprobs)."""
    totals = _backend_totals(markers)
    probed = BackendHub(config, out_dir)._stored_capabilities() if out_dir is not None else {}
    out: dict[str, Any] = {}
    for name, cfg in sorted(config.llm.backends.items()):
        users = [s for s in STAGE_ORDER if name in STAGES.get(s).backends(config)]
        out[name] = {
            "kind": cfg.get("kind"),
            "model": cfg.get("model") or cfg.get("model_path"),
            "stages": users,
            "stats": totals[name].stats.as_dict() if name in totals else BackendStats().as_dict(),
            "capabilities": {
                **((probed.get(name) or {}).get("capabilities") or {}),
                **(totals[name].capabilities if name in totals else {}),
            },
        }
    return out


def curation_summary(out: Path) -> dict[str, Any] | None:
    """What the curate stage decided, for the manifest and the card: rows kept and dropped per
    reason, and the decontamination matches (benchmark, id, method, score) and template matches."""
    path = Path(out) / "curation" / "report.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    return {
        "rows": report.get("rows"),
        "kept": report.get("kept"),
        "reasons": report.get("reasons", {}),
        "decontamination": {
            "matches": report.get("contamination", []),
            "template_matches": report.get("templates", []),
        },
        "report": "curation/report.md",
    }


def write_corpus(ctx: StageContext) -> dict[str, Any]:
    """The build's last step, "corpus": export the corpus from the last stage, write
    `manifest.json` (stages in pipeline order) and the report; return the manifest."""
    out, config = ctx.out, ctx.config
    n = num_shards(config)
    last = StageDir(out, STAGE_ORDER[-1])
    corpus = write_subsets(iter_records(last.shard(k) for k in range(n)), out, config.corpus.rows_per_file)
    keys = stage_keys(config)
    stages: dict[str, Any] = {}
    markers: list[dict[str, Any]] = []
    for name in STAGE_ORDER:
        sdir = StageDir(out, name)
        total = ShardCounts()
        files: dict[str, str] = {}
        for k in range(n):
            info = sdir.read_marker(k)
            if info is None:
                raise RuntimeError(f"{name} shard {k} has no completion marker; the build did not finish")
            markers.append(info)
            total.add(info["counts"])
            files.update(info["files"])
        stages[name] = {
            "version": STAGES.get(name).version,
            "key": keys[name],
            "shards": n,
            "counts": total.as_dict(),
            "files": files,
        }
    manifest = {
        "name": config.name,
        "reasonmill_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "config_hash": config.config_hash(),
        "config": config.model_dump(mode="json"),
        "stage_order": list(STAGE_ORDER),
        "stages": stages,
        "rejections": {name: s["counts"]["reasons"] for name, s in stages.items() if s["counts"]["reasons"]},
        "llm": backend_summary(config, markers, out),
        "curation": curation_summary(out),
        "corpus": corpus,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    atomic_write_json(out / "manifest.json", manifest, sort_keys=False)
    write_report(out)
    return manifest


def build(
    config: BuildConfig,
    out: Path,
    progress: ProgressHook | None = None,
    endpoints: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Run the whole build in this process, in order, skipping finished shards; return the manifest.

    Holds the build folder's lock for the whole run (a second build into it refuses), starts the
    managed model servers once, and stops them when the build ends, however it ends.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with BuildLock(out):
        ctx = make_context(config, out, endpoints)
        try:
            ctx.backends.start()
            for name in STAGE_ORDER:
                _clean_temp(out, name)
                stage = make_stage(name, ctx)
                if stage.cross_shard and stage_needs_work(ctx, name):
                    prepare_stage(ctx, stage)
                for k in range(num_shards(config)):
                    info = run_shard(ctx, stage, k)
                    if progress:
                        progress(name, k, info)
            return write_corpus(ctx)
        finally:
            ctx.close()


def verify_manifest(out: Path) -> list[str]:
    """Problems found re-checking a finished build's files against its manifest (empty = intact)."""
    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    problems = []
    for stage in manifest["stages"].values():
        for rel, digest in stage["files"].items():
            p = out / rel
            if not p.exists():
                problems.append(f"{rel}: missing")
            elif file_sha256(p) != digest:
                problems.append(f"{rel}: checksum differs from manifest")
    for name, digest in manifest["corpus"]["files"].items():
        p = out / "corpus" / name
        if not p.exists() or file_sha256(p) != digest:
            problems.append(f"corpus/{name}: missing or changed")
    return problems


__all__ = [
    "build",
    "check_config",
    "collect",
    "input_paths",
    "make_stage",
    "num_shards",
    "prepare_stage",
    "run_shard",
    "stage_keys",
    "stage_needs_work",
    "verify_manifest",
    "write_corpus",
]
