"""Sharded Parquet on disk: atomic writes, validated reads, completion markers.

Layout of one stage of a build (datatrove's writer and executor habits):

    OUT/<stage>/shard-00000.parquet            records (RECORD_SCHEMA, zstd)
    OUT/rejected/<stage>/shard-00000.parquet   rejections with reasons (REJECTION_SCHEMA)
    OUT/<stage>/.done/shard-00000.json         completion marker: counts, checksums, keys

A stage's folder holds only its records (the marker folder is hidden), so
`datasets.load_dataset("parquet", data_dir=OUT/<stage>)` and `pyarrow.parquet.read_table(OUT/<stage>)`
load exactly the records; `OUT/rejected` loads every stage's rejections (one schema, a `stage`
column).

Every file goes to a temporary name and is `os.replace`d into place, and the marker is written
last, so a process killed at any moment leaves either a finished shard or nothing that counts.
A rerun trusts a shard only if its marker matches the stage key (stage version and the config it
depends on), the digest of the input it was made from, and the checksums of the files on disk;
and not when the marker says some rows failed for a reason a retry can cure (`retry`).
Files get the mode the user's umask gives (0644 by default), not the 0600 of temporary files.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reasonmill.errors import ReasonmillError, ShardError
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


class DiskFull(ReasonmillError, OSError):
    """The disk filled up while writing `path`; says how much is free and about how much is needed.

    Deterministic until space is freed, so nothing retries it.
    """

    def __init__(self, path: Path, need: int) -> None:
        self.path, self.need = Path(path), need
        try:
            free = shutil.disk_usage(self.path.parent if self.path.parent.exists() else "/").free
        except OSError:
            free = -1
        self.free = free
        super().__init__(
            errno.ENOSPC,
            f"no space left on the device writing {self.path}: {_mb(free)} free, about {_mb(need)} needed "
            "(free some space and rerun the same command to resume)",
        )

    def __str__(self) -> str:
        return str(self.args[1])


def _mb(n: int) -> str:
    return "unknown" if n < 0 else f"{n / 1e6:,.1f} MB"


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


def _file_mode() -> int:
    # The mode `open()` would give a new file under the process umask (read without changing it
    # where the platform can: /proc/self/status, else set-and-restore once at import).
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()


def _disk_full(exc: BaseException) -> bool:
    return (
        isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    ) or "No space left on device" in str(exc)


def atomic_write(path: Path, write: Callable[[str], None], size_hint: int = 0) -> None:
    """Call `write(tmp_path)`, fsync, then `os.replace` onto `path`: readers see the old file or
    the whole new one, never a part; a crash leaves only a hidden `.tmp` file behind. The file
    gets the umask's mode (temporary files are created 0600).

    A full disk is one `DiskFull` error naming the file, the free space and about how much the
    write needs (`size_hint`, bytes); nothing half-written is left, and a rerun after freeing
    space resumes.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        if _disk_full(exc):
            raise DiskFull(path, size_hint) from None
        raise
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException as exc:
        written = os.path.getsize(tmp) if os.path.exists(tmp) else 0
        if os.path.exists(tmp):
            os.unlink(tmp)
        if _disk_full(exc):
            raise DiskFull(path, max(size_hint, written)) from None
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), size_hint=len(data))


def atomic_write_json(path: Path, obj: Any, sort_keys: bool = True) -> None:
    """Write `obj` as indented JSON to `path` atomically (keys sorted unless `sort_keys` is False,
    for documents whose order means something, such as the manifest's stages in pipeline order)."""
    text = json.dumps(obj, indent=2, sort_keys=sort_keys, default=str) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def _write_parquet(table: pa.Table, where: str) -> None:
    if table.num_rows:
        pq.write_table(table, where, compression=COMPRESSION)
        return
    # An empty table as a file with its schema and no row group: `pq.write_table` would write one
    # row group of 0 rows, which `datasets` cannot read (it sizes its batches from the first group).
    pq.ParquetWriter(where, table.schema, compression=COMPRESSION).close()


def atomic_write_table(path: Path, table: pa.Table) -> None:
    """Write an Arrow table to a Parquet file atomically, zstd-compressed, schema kept (an empty
    table keeps its schema and loads as 0 rows everywhere, `datasets` included)."""
    atomic_write(path, lambda tmp: _write_parquet(table, tmp), size_hint=table.nbytes)


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
    """What one stage did to one shard: rows read, written, rejected (per reason), created.

    Filled by the runner from what the stage yielded (`reasonmill.pipelines.runner`), never by
    the stage itself; `extra` holds stage tallies that are not rows (`Stage.count`).
    """

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

    def add(self, other: dict[str, Any]) -> None:
        """Add the counts of a marker's `counts` dict (to total shards into a stage)."""
        self.read += other["read"]
        self.written += other["written"]
        self.rejected += other["rejected"]
        self.created += other["created"]
        for r, v in other["reasons"].items():
            self.reasons[r] = self.reasons.get(r, 0) + v
        for r, v in other.get("extra", {}).items():
            self.extra[r] = self.extra.get(r, 0) + v

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


MARKERS = ".done"
REJECTED = "rejected"


class StageDir:
    """One stage's files: record shards, rejection shards and completion markers."""

    def __init__(self, root: Path, stage: str) -> None:
        self.out = Path(root)
        self.root = self.out / stage
        self.stage = stage

    def shard(self, index: int) -> Path:
        """Path of record shard `index`."""
        return self.root / shard_name(index)

    def rejected(self, index: int) -> Path:
        """Path of rejection shard `index` (under OUT/rejected/<stage>/)."""
        return self.out / REJECTED / self.stage / shard_name(index)

    def marker(self, index: int) -> Path:
        """Path of the completion marker of shard `index`."""
        return self.root / MARKERS / shard_name(index).replace(".parquet", ".json")

    def state(self, name: str) -> Path:
        """Path of a file of cross-shard state this stage keeps (hidden beside its markers)."""
        return self.root / ".state" / name

    def _files(self, index: int) -> dict[str, Path]:
        return {
            f"{self.stage}/{shard_name(index)}": self.shard(index),
            f"{REJECTED}/{self.stage}/{shard_name(index)}": self.rejected(index),
        }

    def read_marker(self, index: int) -> dict[str, Any] | None:
        """The completion marker of shard `index` as a dict, or None when absent or unreadable."""
        try:
            info = json.loads(self.marker(index).read_text())
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) else None

    def problems(self, index: int, key: str | None = None, inputs: str | None = None) -> list[str]:
        """Why shard `index` cannot be trusted as finished (empty: it can).

        Checks the marker exists, matches `key` and the input digest `inputs` when given, and that
        every file it lists is on disk with its checksum.
        """
        info = self.read_marker(index)
        if info is None:
            return [f"{self.stage} shard {index}: no completion marker"]
        out = []
        if key is not None and info.get("key") != key:
            out.append(f"{self.stage} shard {index}: made under another config or stage version")
        if inputs is not None and info.get("inputs") != inputs:
            out.append(f"{self.stage} shard {index}: its input changed since it was made")
        for rel, digest in info.get("files", {}).items():
            p = self.out / rel
            if not p.exists():
                out.append(f"{rel}: missing")
            elif file_sha256(p) != digest:
                out.append(f"{rel}: checksum differs from its marker")
        return out

    def is_complete(self, index: int, key: str, inputs: str | None = None) -> bool:
        """True when shard `index` was finished under `key` from input `inputs`, its files are
        intact, and no row of it is waiting for a retry."""
        if self.problems(index, key, inputs):
            return False
        info = self.read_marker(index) or {}
        return not info.get("retry")

    def commit(
        self,
        index: int,
        key: str,
        records: list[Record],
        rejections: list[Rejection],
        counts: ShardCounts,
        **info: Any,
    ) -> dict[str, Any]:
        """Write shard `index`'s records and rejections, then its marker (last, so it proves both).

        `info` goes into the marker as is (the input digest, retry flags, per-backend LLM stats).
        """
        if not counts.balanced():
            raise AssertionError(f"stage {self.stage} shard {index} lost rows: {counts.as_dict()}")
        write_records(self.shard(index), records)
        write_rejections(self.rejected(index), rejections)
        files = {rel: file_sha256(p) for rel, p in self._files(index).items()}
        marker = {"key": key, "shard": index, "counts": counts.as_dict(), "files": files, **info}
        atomic_write_json(self.marker(index), marker)
        return marker

    def complete_indices(self) -> list[int]:
        """Indices of the shards that have a marker (not checked against a key)."""
        done = self.root / MARKERS
        if not done.exists():
            return []
        return sorted(int(p.stem.split("-")[1]) for p in done.glob("shard-*.json"))


def inputs_digest(paths: Iterable[Path]) -> str:
    """One digest of the files a shard was made from (their checksums, in order)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(file_sha256(p).encode() if Path(p).exists() else b"missing")
        h.update(b"\n")
    return h.hexdigest()


def iter_records(paths: Iterable[Path]) -> Iterator[Record]:
    """Records of several shards in order."""
    for p in paths:
        yield from read_records(p)
