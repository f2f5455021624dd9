"""Run a build's stages over shards: plain functions, the same ones the Prefect flow calls.

Every stage writes shard k from the previous stage's shard k (seeds create them), so shards are
independent units of work: `run_shard` reads its input, runs the stage, checks that every row is
accounted for, and commits atomically with a completion marker. Rerunning skips shards whose
marker matches the stage's resume key (the chain of stage versions and config sections up to this
stage), so a build killed at any moment and rerun writes exactly the corpus an uninterrupted build
writes. `build` runs everything in-process, in order; `reasonmill.pipelines.flows` runs the same
calls as Prefect tasks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reasonmill import __version__
from reasonmill.config import BuildConfig
from reasonmill.pipelines.export import export_corpus
from reasonmill.pipelines.report import write_report
from reasonmill.pipelines.stages import STAGE_ORDER
from reasonmill.pipelines.stages.base import STAGES, SourceStage, Stage
from reasonmill.schema import SCHEMA_VERSION
from reasonmill.shards import (
    ShardCounts,
    StageDir,
    atomic_write_json,
    file_sha256,
    iter_records,
    read_records,
)

ProgressHook = Callable[[str, int, dict[str, Any]], None]


def make_stage(name: str, config: BuildConfig, out: Path) -> Stage:
    """Instantiate stage `name` for this build (stages that need more context get it here)."""
    cls = STAGES.get(name)
    if name == "compose":
        stage = cls(config, num_input_shards=num_shards(config))
    elif name == "score":
        stage = cls(config, state_dir=Path(out) / name)
    else:
        stage = cls(config)
    stage.out = Path(out)  # LLM stages keep their request cache in the build folder
    return stage


_NUM_SHARDS: dict[str, int] = {}


def num_shards(config: BuildConfig) -> int:
    """Shards per stage: fixed by the seed plan, then one output shard per input shard.

    Memoised per config hash: the seed plan of a large build takes a moment to lay out.
    """
    key = config.config_hash()
    if key not in _NUM_SHARDS:
        stage = STAGES.get("seeds")(config)
        assert isinstance(stage, SourceStage)
        _NUM_SHARDS[key] = stage.num_shards()
    return _NUM_SHARDS[key]


def stage_keys(config: BuildConfig) -> dict[str, str]:
    """Resume key of each stage: its own part chained after every upstream stage's part."""
    keys, chain = {}, ""
    for name in STAGE_ORDER:
        chain = f"{chain}|{STAGES.get(name).key_part(config)}"
        keys[name] = chain
    return keys


def _clean_temp(folder: Path) -> None:
    # Leftovers of a write killed half-way; never read, removed so they do not pile up.
    if folder.exists():
        for tmp in folder.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def run_shard(out: Path, config: BuildConfig, stage_name: str, shard: int, stage: Stage | None = None) -> dict[str, Any]:
    """Run `stage_name` on shard `shard` unless already complete; return its marker info."""
    out = Path(out)
    key = stage_keys(config)[stage_name]
    sdir = StageDir(out, stage_name)
    if sdir.is_complete(shard, key):
        info = sdir.read_marker(shard)
        info["skipped"] = True
        return info
    stage = stage or make_stage(stage_name, config, out)
    idx = STAGE_ORDER.index(stage_name)
    records = [] if idx == 0 else read_records(StageDir(out, STAGE_ORDER[idx - 1]).shard(shard))
    counts = ShardCounts()
    kept, dropped = [], []
    for item in stage.run(records, shard, counts):
        (dropped if hasattr(item, "stage") and hasattr(item, "record") else kept).append(item)
    info = sdir.commit(shard, key, kept, dropped, counts)
    info["skipped"] = False
    return info


def prepare_stage(out: Path, config: BuildConfig, stage_name: str, stage: Stage | None = None) -> Stage:
    """Run a stage's cross-shard `prepare` over its complete input shards (instantiating the stage
    unless one is given) and return the stage."""
    out = Path(out)
    stage = stage or make_stage(stage_name, config, out)
    idx = STAGE_ORDER.index(stage_name)
    if idx > 0:
        prev = StageDir(out, STAGE_ORDER[idx - 1])
        stage.prepare(out, [prev.shard(k) for k in range(num_shards(config))])
    return stage


def stage_needs_work(out: Path, config: BuildConfig, stage_name: str) -> bool:
    """True when some shard of the stage is not complete under the current key."""
    key = stage_keys(config)[stage_name]
    sdir = StageDir(Path(out), stage_name)
    return not all(sdir.is_complete(k, key) for k in range(num_shards(config)))


def finish(out: Path, config: BuildConfig) -> dict[str, Any]:
    """Export the corpus from the last stage and write `manifest.json`; return the manifest."""
    out = Path(out)
    last = StageDir(out, STAGE_ORDER[-1])
    n = num_shards(config)
    corpus = export_corpus(iter_records(last.shard(k) for k in range(n)), out, config.export.rows_per_file)
    keys = stage_keys(config)
    stages: dict[str, Any] = {}
    for name in STAGE_ORDER:
        sdir = StageDir(out, name)
        total = ShardCounts()
        files: dict[str, str] = {}
        for k in range(n):
            info = sdir.read_marker(k)
            c = info["counts"]
            total.read += c["read"]
            total.written += c["written"]
            total.rejected += c["rejected"]
            total.created += c["created"]
            for r, v in c["reasons"].items():
                total.reasons[r] = total.reasons.get(r, 0) + v
            for r, v in c.get("extra", {}).items():
                total.extra[r] = total.extra.get(r, 0) + v
            files.update({f"{name}/{rel}": digest for rel, digest in info["files"].items()})
        stages[name] = {"version": STAGES.get(name).version, "key": keys[name], "shards": n, "counts": total.as_dict(), "files": files}
    manifest = {
        "name": config.name,
        "reasonmill_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "config_hash": config.config_hash(),
        "config": config.model_dump(mode="json"),
        "stages": stages,
        "rejections": {name: s["counts"]["reasons"] for name, s in stages.items() if s["counts"]["reasons"]},
        "corpus": corpus,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    atomic_write_json(out / "manifest.json", manifest)
    write_report(out)
    return manifest


def build(config: BuildConfig, out: Path, progress: ProgressHook | None = None) -> dict[str, Any]:
    """Run the whole build in this process, in order, skipping finished shards; return the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = num_shards(config)
    for name in STAGE_ORDER:
        _clean_temp(out / name)
        stage = prepare_stage(out, config, name) if stage_needs_work(out, config, name) else None
        for k in range(n):
            info = run_shard(out, config, name, k, stage)
            if progress:
                progress(name, k, info)
    return finish(out, config)


def verify_manifest(out: Path) -> list[str]:
    """Problems found re-checking a finished build's files against its manifest (empty = intact)."""
    import json

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


__all__ = ["build", "finish", "make_stage", "num_shards", "prepare_stage", "run_shard", "stage_keys", "stage_needs_work", "verify_manifest"]
