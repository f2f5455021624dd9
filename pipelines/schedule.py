"""Scheduled builds that grow a dataset: every run makes new data, and can join a growing corpus.

A scheduled run (`scheduled_build_flow`, served by `reasonmill schedule`) takes its seed from its
scheduled time (`run_seed`), so two runs never make the same items, and a retry of the same
scheduled run makes the same ones. It builds into its own folder from a template such as
`runs/{date}-{time}` (`run_folder`; placeholders {date} {time} {timestamp} {seed}), runs the usual
build flow there as a subflow, and then, optionally:

- `append_to`: merges the run's corpus into a growing corpus folder (`append_corpus`): rows whose
  normalised question is already there (from an earlier run, or twice in this one) are left out
  and counted as duplicates; the rest are added as this run's own files in every subset, so the
  folder keeps the corpus layout, its card declares the subsets, and `load_dataset` reads it;
- `publish_repo`: pushes the growing corpus (or the run's folder) to the Hub as one new commit.

The growing corpus has its own `manifest.json` (its files with checksums, and one entry per run:
seed, scheduled time, source folder, rows added, duplicates left out), written last and
atomically, so a run that dies half-way leaves the corpus as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from reasonmill.config import validate_config
from reasonmill.errors import ReasonmillError
from reasonmill.ids import text_fingerprint
from reasonmill.lock import BuildLock
from reasonmill.pipelines.corpus import SUBSETS, dataset_card_configs
from reasonmill.shards import atomic_write_json, atomic_write_table, file_sha256

GROWING_MANIFEST = "manifest.json"


def run_seed(base: int, when: dt.datetime) -> int:
    """The build seed of the run scheduled at `when` (a 48-bit number from the base seed and time)."""
    stamp = when.astimezone(dt.UTC).isoformat(timespec="seconds")
    return int(hashlib.sha256(f"{base}:{stamp}".encode()).hexdigest()[:12], 16)


def run_folder(template: str, when: dt.datetime, seed: int) -> str:
    """The run's output folder from `template` ({date}, {time}, {timestamp}, {seed})."""
    utc = when.astimezone(dt.UTC)
    try:
        return template.format(
            date=utc.strftime("%Y-%m-%d"),
            time=utc.strftime("%H%M%S"),
            timestamp=int(utc.timestamp()),
            seed=seed,
        )
    except (KeyError, IndexError) as exc:
        raise ReasonmillError(
            f"--out template {template!r}: unknown placeholder {exc}; use {{date}} {{time}} {{timestamp}} {{seed}}"
        ) from None


def _run_id(manifest: dict[str, Any]) -> str:
    # One run = one build config (its seed included): appending the same build again adds nothing.
    return f"run-{manifest['config']['seed']}-{manifest['config_hash'][:8]}"


def _subset_tables(run_out: Path) -> dict[str, pa.Table]:
    out = {}
    for name in SUBSETS:
        files = sorted((run_out / "corpus" / name).glob("shard-*.parquet"))
        if not files:
            raise ReasonmillError(
                f"{run_out / 'corpus' / name}: no shard files; the run's corpus is incomplete"
            )
        out[name] = pa.concat_tables([pq.read_table(f) for f in files])
    return out


def append_corpus(run_out: Path, target: Path) -> dict[str, Any]:
    """Merge the finished build in `run_out` into the growing corpus `target` (see the module
    docstring); returns the run's entry in the target's manifest. Appending the same run twice adds
    nothing the second time."""
    run_out, target = Path(run_out), Path(target)
    run_manifest = json.loads((run_out / "manifest.json").read_text())
    run_id = _run_id(run_manifest)
    with BuildLock(target):
        path = target / GROWING_MANIFEST
        manifest = (
            json.loads(path.read_text())
            if path.exists()
            else {
                "name": f"{run_manifest['name']} (growing)",
                "config_hash": run_manifest["config_hash"],
                "config": run_manifest["config"],
                "stages": {},
                "stage_order": [],
                "runs": [],
                "corpus": {
                    "subsets": {n: {"rows": 0, "files": {}} for n in SUBSETS},
                    "rows": 0,
                    "preference_pairs": 0,
                    "files": {},
                },
            }
        )
        done = next((r for r in manifest["runs"] if r["run"] == run_id), None)
        if done is not None:
            return done
        seen: set[str] = set()
        for rel in manifest["corpus"]["subsets"]["records"]["files"]:
            seen.update(
                text_fingerprint(q)
                for q in pq.read_table(target / rel, columns=["question"]).column("question").to_pylist()
            )
        tables = _subset_tables(run_out)
        keep: set[str] = set()
        duplicates = 0
        for rid, q in zip(
            tables["records"].column("id").to_pylist(),
            tables["records"].column("question").to_pylist(),
            strict=True,
        ):
            fp = text_fingerprint(q)
            if fp in seen:
                duplicates += 1
                continue
            seen.add(fp)
            keep.add(rid)
        for name, table in tables.items():
            mask = pa.array([rid in keep for rid in table.column("id").to_pylist()], pa.bool_())
            kept = table.filter(mask) if table.num_rows else table
            rel = f"corpus/{name}/{run_id}-shard-00000.parquet"
            atomic_write_table(target / rel, kept)
            digest = file_sha256(target / rel)
            sub = manifest["corpus"]["subsets"][name]
            sub["files"][rel] = digest
            sub["rows"] += kept.num_rows
            manifest["corpus"]["files"][rel.removeprefix("corpus/")] = digest
        manifest["corpus"]["rows"] = manifest["corpus"]["subsets"]["sft"]["rows"]
        manifest["corpus"]["preference_pairs"] = manifest["corpus"]["subsets"]["preference"]["rows"]
        entry = {
            "run": run_id,
            "seed": run_manifest["config"]["seed"],
            "source": str(run_out),
            "finished_at": run_manifest.get("finished_at"),
            "added": len(keep),
            "duplicates": duplicates,
        }
        manifest["runs"].append(entry)
        manifest["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest["configs"] = dataset_card_configs(manifest["corpus"])
        atomic_write_json(path, manifest, sort_keys=False)
        from reasonmill.pipelines.card import write_card

        write_card(target)
    return entry


@flow(name="reasonmill-scheduled-build", log_prints=False)
def scheduled_build_flow(
    config_json: dict[str, Any],
    out_template: str,
    append_to: str | None = None,
    publish_repo: str | None = None,
) -> dict[str, Any]:
    """One scheduled run: a seed from the scheduled time, a build into its own folder, then
    optionally append to a growing corpus and publish (see the module docstring)."""
    from reasonmill.pipelines.flows import build_flow

    when = flow_run.scheduled_start_time or dt.datetime.now(dt.UTC)
    if not isinstance(when, dt.datetime):
        when = dt.datetime.fromisoformat(str(when))
    base = validate_config(config_json)
    seed = run_seed(base.seed, when)
    config = base.model_copy(update={"seed": seed})
    out = run_folder(out_template, when, seed)
    Path(out).mkdir(parents=True, exist_ok=True)
    manifest = build_flow(config.model_dump(mode="json"), out)
    result: dict[str, Any] = {
        "out": out,
        "seed": seed,
        "scheduled": when.isoformat(),
        "rows": manifest["corpus"]["rows"],
    }
    if append_to:
        result["appended"] = append_corpus(Path(out), Path(append_to))
    if publish_repo:
        from reasonmill.pipelines.publish import publish

        res = publish(Path(append_to or out), publish_repo)
        result["published"] = res.as_dict()
    get_run_logger().info("scheduled run %s: %s", flow_run.name, result)
    return result
