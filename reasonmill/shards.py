"""Sharded Parquet on disk: atomic writes, validated reads, completion markers.

Layout of one stage of a build (datatrove's writer and executor habits):

    OUT/<stage>/shard-00000.parquet            records (RECORD_SCHEMA, zstd)
    OUT/<stage>/rejected/shard-00000.parquet   rejections with reasons (REJECTION_SCHEMA)
    OUT/<stage>/_done/shard-00000.json         completion marker: counts, checksums, stage key

Every file goes to a temporary name and is `os.replace`d into place, and the marker is written
last, so a process killed at any moment leaves either a finished shard or nothing that counts.
A rerun trusts a shard only if its marker matches the stage key (stage version + config hash) and
the checksums of the files on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reasonmill.errors import ShardError
from reasonmill.records import Record, Rejection
from reasonmill.schema import (
    RECORD_SCHEMA,
    REJECTION_SCHEMA,
    records_to_table,
    rejections_to_table,
    row_to_record,
    row_to_rejection,
    validate_table,
)

COMPRESSION = "zstd"


def shard_name(index: int) -> str:
    """The file name of shard `index`: shard-00000.parquet."""
    return f"shard-{index:05d}.parquet"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call `write(tmp_path)`, fsync, then `os.replace` onto `path`: readers see the old file or
    the whole new one, never a part; a crash leaves only a hidden `.tmp` file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8"))


def atomic_write_table(path: Path, table: pa.Table) -> None:
    """Write an Arrow table to a Parquet file atomically, zstd-compressed, schema kept."""
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression=COMPRESSION))


def _read_validated(path: Path, schema: pa.Schema) -> pa.Table:
    if not path.exists():
        raise ShardError(str(path), "file does not exist")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ShardError(str(path), f"not a readable Parquet file ({exc})") from None
    validate_table(table, schema, str(path))
    return table


def read_records(path: Path) -> list[Record]:
    """Read and validate a record shard; a corrupt or foreign file raises `ShardError` naming it."""
    table = _read_validated(Path(path), RECORD_SCHEMA)
    out = []
    for i, row in enumerate(table.to_pylist()):
        try:
            out.append(row_to_record(row))
        except (ValueError, TypeError, KeyError) as exc:
            raise ShardError(str(path), f"cannot decode row ({exc})", row=i) from None
    return out


def read_rejections(path: Path) -> list[Rejection]:
    """Read and validate a rejection shard."""
    table = _read_validated(Path(path), REJECTION_SCHEMA)
    return [row_to_rejection(row) for row in table.to_pylist()]


def write_records(path: Path, records: list[Record]) -> None:
    """Write records to one shard atomically."""
    atomic_write_table(Path(path), records_to_table(records))


def write_rejections(path: Path, rejections: list[Rejection]) -> None:
    """Write rejections to one shard atomically."""
    atomic_write_table(Path(path), rejections_to_table(rejections))


@dataclass
class ShardCounts:
    """What one stage did to one shard: rows read, written, rejected (per reason), created."""

    read: int = 0
    written: int = 0
    rejected: int = 0
    created: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    # Stage-specific tallies that are not rows (e.g. composition redraws).
    extra: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        """Count one rejection under `reason`."""
        self.rejected += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict form for markers and the manifest."""
        return {
            "read": self.read,
            "written": self.written,
            "rejected": self.rejected,
            "created": self.created,
            "reasons": dict(sorted(self.reasons.items())),
            "extra": dict(sorted(self.extra.items())),
        }

    def balanced(self) -> bool:
        """Every row read (plus rows a stage creates) ended as an output or a rejection."""
        return self.read + self.created == self.written + self.rejected


class StageDir:
    """One stage's folder: shard paths, rejection paths and completion markers."""

    def __init__(self, root: Path, stage: str) -> None:
        self.root = Path(root) / stage
        self.stage = stage

    def shard(self, index: int) -> Path:
        """Path of record shard `index`."""
        return self.root / shard_name(index)

    def rejected(self, index: int) -> Path:
        """Path of rejection shard `index`."""
        return self.root / "rejected" / shard_name(index)

    def marker(self, index: int) -> Path:
        """Path of the completion marker of shard `index`."""
        return self.root / "_done" / shard_name(index).replace(".parquet", ".json")

    def is_complete(self, index: int, key: str) -> bool:
        """True when shard `index` was finished under stage key `key` and its files are intact."""
        m = self.marker(index)
        if not m.exists():
            return False
        try:
            info = json.loads(m.read_text())
        except ValueError:
            return False
        if info.get("key") != key:
            return False
        for rel, digest in info.get("files", {}).items():
            p = self.root / rel
            if not p.exists() or file_sha256(p) != digest:
                return False
        return True

    def read_marker(self, index: int) -> dict[str, Any]:
        """The completion marker of shard `index` as a dict."""
        return json.loads(self.marker(index).read_text())

    def commit(self, index: int, key: str, records: list[Record], rejections: list[Rejection], counts: ShardCounts) -> dict[str, Any]:
        """Write shard `index`'s records and rejections, then its marker (last, so it proves both)."""
        if not counts.balanced():
            raise AssertionError(f"stage {self.stage} shard {index} lost rows: {counts.as_dict()}")
        write_records(self.shard(index), records)
        write_rejections(self.rejected(index), rejections)
        files = {
            shard_name(index): file_sha256(self.shard(index)),
            f"rejected/{shard_name(index)}": file_sha256(self.rejected(index)),
        }
        info = {"key": key, "shard": index, "counts": counts.as_dict(), "files": files}
        atomic_write_json(self.marker(index), info)
        return info

    def complete_indices(self) -> list[int]:
        """Indices of the shards that have a marker (not checked against a key)."""
        done = self.root / "_done"
        if not done.exists():
            return []
        return sorted(int(p.stem.split("-")[1]) for p in done.glob("shard-*.json"))


def iter_records(paths: Iterable[Path]) -> Iterator[Record]:
    """Records of several shards in order."""
    for p in paths:
        yield from read_records(p)
