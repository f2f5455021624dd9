"""Checks behind `reasonmill inspect`: is a finished build whole, and what do its rows look like.

`build_problems` lists every problem it finds (never stops at the first): a stage shard without
its completion marker, a file missing or not matching the checksum in the manifest or its marker,
a corpus file missing or changed; with `deep`, every shard is also read and checked against the
schema (a truncated or foreign file is named). `sample_rows` reads the first corpus rows and turns
an unreadable file into one error naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reasonmill.errors import ReasonmillError, ShardError
from reasonmill.shards import StageDir, file_sha256, read_records, read_rejections


def _check_file(out: Path, rel: str, digest: str, problems: list[str]) -> None:
    p = out / rel
    if not p.exists():
        problems.append(f"{rel}: missing")
    elif file_sha256(p) != digest:
        problems.append(f"{rel}: checksum differs from the manifest")


def build_problems(out: Path, manifest: dict[str, Any], deep: bool = False) -> list[str]:
    """Every problem found in build folder `out` against its `manifest` (empty: the build is whole)."""
    out = Path(out)
    problems: list[str] = []
    for name in manifest.get("stage_order") or list(manifest["stages"]):
        stage = manifest["stages"][name]
        sdir = StageDir(out, name)
        for k in range(stage["shards"]):
            info = sdir.read_marker(k)
            if info is None:
                problems.append(
                    f"{name} shard {k}: completion marker missing or unreadable ({sdir.marker(k).relative_to(out)})"
                )
                continue
            if info.get("key") != stage["key"]:
                problems.append(
                    f"{name} shard {k}: marker was written under another config than the manifest's"
                )
            problems.extend(p for p in sdir.problems(k) if "checksum differs" in p and p not in problems)
        for rel, digest in stage["files"].items():
            _check_file(out, rel, digest, problems)
            if deep and (out / rel).exists():
                try:
                    (read_rejections if rel.startswith("rejected/") else read_records)(out / rel)
                except ShardError as exc:
                    problems.append(str(exc))
    corpus = manifest.get("corpus", {})
    for name, digest in corpus.get("files", {}).items():
        _check_file(out, f"corpus/{name}", digest, problems)
        if deep and (out / "corpus" / name).exists():
            try:
                pq.read_table(out / "corpus" / name)
            except (pa.ArrowException, OSError) as exc:
                problems.append(f"corpus/{name}: not a readable Parquet file ({exc})")
    for name, digest in corpus.get("preference_files", {}).items():
        _check_file(out, f"preference/{name}", digest, problems)
    return problems


def sample_rows(out: Path, manifest: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The first `n` rows of the corpus's analysis subset (`corpus/records/`); an unreadable file
    raises one error naming it."""
    files = sorted(f for f in manifest.get("corpus", {}).get("files", {}) if f.startswith("records/"))
    if not files:
        return []
    path = Path(out) / "corpus" / files[0]
    try:
        return pq.read_table(path).slice(0, n).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise ReasonmillError(
            f"{path}: not a readable Parquet file ({' '.join(str(exc).split())[:300]})"
        ) from None
