"""One build per folder: an exclusive lock on `OUT/.lock` for as long as a build runs.

The lock is an `fcntl.flock` on the file, so the kernel releases it when the holding process
ends in any way (SIGKILL included): a lock left by a killed build is simply free, and the next
build takes it over. The file also says who holds it (pid, host, start time, command), so a
second build refuses with one line naming the holder instead of doing the work twice.

>>> with BuildLock(tmp_path):          # doctest: +SKIP
...     ...                            # build into tmp_path
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
from pathlib import Path
from typing import IO, Any

from reasonmill.errors import ReasonmillError

LOCK_FILE = ".lock"


class BuildLocked(ReasonmillError):
    """Another live process is building into the same folder."""


class BuildLock:
    """Exclusive lock of a build folder; a context manager (see the module docstring)."""

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / LOCK_FILE
        self._fh: IO[str] | None = None

    def holder(self) -> dict[str, Any]:
        """What the lock file says about its holder (may be stale when the lock is free)."""
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> BuildLock:
        """Take the lock or raise `BuildLocked` naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open while the build runs
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            h = self.holder()
            who = f"pid {h.get('pid', '?')} on {h.get('host', '?')} since {h.get('started', '?')}"
            raise BuildLocked(
                f"{self.path.parent} is being built by another process ({who}); wait for it or use another --out"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:500],
        }
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(info))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> BuildLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
