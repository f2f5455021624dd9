"""Reading any dataset for `reasonmill curate`, and writing kept/rejected rows with a manifest.

Inputs (`read_input`), as one Arrow table whose columns are kept as they are:

- a reasonmill build folder (has `manifest.json`): its final corpus, `IN/corpus/records/*.parquet`
  when that folder exists, else `IN/corpus/*.parquet`;
- a Parquet file, or a JSONL/JSON-lines file (one object a line; a bad line is an error naming it);
- a folder saved by `datasets` (`save_to_disk`), or any folder `datasets.load_dataset` can read
  (Parquet, JSONL, CSV files; `split` picks the split when there are several);
- a folder of Parquet/JSONL files, read in name order.

Outputs (`write_outputs`): `OUT/kept/shard-NNNNN.parquet` and `OUT/rejected/shard-NNNNN.parquet`
(every input row in exactly one, with all its input columns; rejected rows add `reason` and
`detail`, or `curation_reason`/`curation_detail` when the input already has such columns), and
`OUT/manifest.json` with counts per reason and file checksums. Every file is written under a
temporary name and moved into place; stale shards of an earlier run are removed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from reasonmill.jsonl import read_jsonl_objects
from reasonmill.pipelines.curation.table import CurationInputError
from reasonmill.shards import atomic_write_json, atomic_write_table, file_sha256, shard_name


def _read_jsonl(path: Path) -> pa.Table:
    rows = read_jsonl_objects(path, CurationInputError)
    if not rows:
        raise CurationInputError(f"{path}: no rows")
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise CurationInputError(f"{path}: rows do not share column types ({exc})") from None


def _read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - a bad file is one clear line
        raise CurationInputError(f"{path} is not a readable Parquet file: {exc}") from None


def _concat(tables: list[pa.Table], where: Path) -> pa.Table:
    try:
        return pa.concat_tables(tables, promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise CurationInputError(f"{where}: files have different columns or types ({exc})") from None


def _read_file(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return _read_parquet(path)
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        return _read_jsonl(path)
    raise CurationInputError(f"{path}: unsupported file type (Parquet or JSONL)")


def _datasets_table(ds: Any, where: Path, split: str | None) -> pa.Table:
    from datasets import DatasetDict

    if isinstance(ds, DatasetDict):
        names = sorted(ds)
        if split is None:
            if len(names) != 1:
                raise CurationInputError(
                    f"{where}: several splits ({', '.join(names)}); choose one with --split"
                )
            split = names[0]
        if split not in ds:
            raise CurationInputError(f"{where}: no split {split!r}; splits: {', '.join(names)}")
        ds = ds[split]
    return ds.with_format("arrow")[:]


def input_kind(path: Path) -> str:
    """ "build", "parquet", "jsonl", "datasets_saved", "datasets_folder" or "files"."""
    if path.is_file():
        return "parquet" if path.suffix == ".parquet" else "jsonl"
    if (path / "manifest.json").is_file() and (path / "corpus").is_dir():
        return "build"
    if (
        (path / "dataset_info.json").is_file()
        or (path / "dataset_dict.json").is_file()
        or (path / "state.json").is_file()
    ):
        return "datasets_saved"
    files = [p for p in path.iterdir() if p.suffix in (".parquet", ".jsonl")] if path.is_dir() else []
    return "files" if files else "datasets_folder"


def read_input(path: Path, split: str | None = None) -> tuple[pa.Table, str]:
    """(table, kind) for any supported input (see the module doc)."""
    path = Path(path)
    if not path.exists():
        raise CurationInputError(f"{path} does not exist")
    kind = input_kind(path)
    if kind in ("parquet", "jsonl"):
        return _read_file(path), kind
    if kind == "build":
        folder = path / "corpus" / "records" if (path / "corpus" / "records").is_dir() else path / "corpus"
        files = sorted(folder.glob("*.parquet"))
        if not files:
            raise CurationInputError(f"{path}: a build folder without corpus files in {folder}")
        return _concat([_read_parquet(f) for f in files], folder), kind
    if kind == "files":
        files = sorted(p for p in path.iterdir() if p.suffix in (".parquet", ".jsonl"))
        return _concat([_read_file(f) for f in files], path), kind
    import datasets

    try:
        if kind == "datasets_saved":
            ds = datasets.load_from_disk(str(path))
        else:
            ds = datasets.load_dataset(str(path))
    except Exception as exc:  # noqa: BLE001 - any loader failure is one clear line
        raise CurationInputError(
            f"{path}: not a build folder, data file or dataset folder `datasets` can load ({exc})"
        ) from None
    table = _datasets_table(ds, path, split)
    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    return table, kind


def _write_rotated(table: pa.Table, folder: Path, rows_per_file: int) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for k, start in enumerate(range(0, max(table.num_rows, 1), rows_per_file)):
        path = folder / shard_name(k)
        atomic_write_table(path, table.slice(start, rows_per_file))
        files[path.name] = file_sha256(path)
    for stale in folder.glob("shard-*.parquet"):
        if stale.name not in files:
            stale.unlink()
    return files


def write_outputs(
    table: pa.Table,
    decisions: Any,
    out: Path,
    rows_per_file: int = 100_000,
    extra_manifest: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write kept/ and rejected/ shards and manifest.json; return the manifest."""
    out = Path(out)
    kept_mask = decisions["kept"].to_numpy(dtype=bool)
    if len(kept_mask) != table.num_rows:
        raise CurationInputError(f"decisions cover {len(kept_mask)} rows, the input has {table.num_rows}")
    score_cols = [c for c in decisions.columns if c.startswith("curation_") and c not in table.column_names]
    names = set(table.column_names)
    reason_col = "reason" if "reason" not in names else "curation_reason"
    detail_col = "detail" if "detail" not in names else "curation_detail"
    kept_idx = np.flatnonzero(kept_mask)
    rej_idx = np.flatnonzero(~kept_mask)
    kept = table.take(pa.array(kept_idx, type=pa.int64()))
    rejected = table.take(pa.array(rej_idx, type=pa.int64()))
    for col in score_cols:
        values = decisions[col].to_numpy(dtype=float)
        kept = kept.append_column(col, pa.array(values[kept_idx], type=pa.float64(), from_pandas=True))
        rejected = rejected.append_column(col, pa.array(values[rej_idx], type=pa.float64(), from_pandas=True))
    reasons = decisions["reason"].to_numpy(dtype=object)
    details = decisions["detail"].to_numpy(dtype=object)
    rejected = rejected.append_column(
        reason_col, pa.array([str(r) for r in reasons[rej_idx]], type=pa.string())
    )
    rejected = rejected.append_column(
        detail_col, pa.array([str(d) for d in details[rej_idx]], type=pa.string())
    )
    kept_files = _write_rotated(kept, out / "kept", rows_per_file)
    rej_files = _write_rotated(rejected, out / "rejected", rows_per_file)
    counts: dict[str, int] = {}
    for r in reasons[rej_idx]:
        counts[str(r)] = counts.get(str(r), 0) + 1
    manifest = {
        "rows": table.num_rows,
        "kept": len(kept_idx),
        "rejected": len(rej_idx),
        "reasons": dict(sorted(counts.items())),
        "reason_column": reason_col,
        "detail_column": detail_col,
        "files": {
            **{f"kept/{k}": v for k, v in kept_files.items()},
            **{f"rejected/{k}": v for k, v in rej_files.items()},
        },
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **(extra_manifest or {}),
    }
    atomic_write_json(out / "manifest.json", manifest)
    return manifest
