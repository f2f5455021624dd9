"""Where the public benchmark files live: one setting for tests, benchmarks and decontamination tools.

The files (MATH-500, GSM8K, AIME, AMC, the decontamination question list, labelled model solutions)
are never copied into the repository. Their folder is `$REASONMILL_BENCHMARKS` when set, else
`../shared/data/benchmarks` next to the checkout. A missing folder or file is an error that names
the path and the variable, never a silent skip: a test that reads benchmark data fails without it.

>>> benchmark_dir().name
'benchmarks'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reasonmill.errors import ReasonmillError

ENV_VAR = "REASONMILL_BENCHMARKS"
_REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = _REPO_ROOT.parent / "shared" / "data" / "benchmarks"


class BenchmarkDataMissing(ReasonmillError):
    """The benchmark folder or one of its files is not where the setting says."""


def benchmark_dir() -> Path:
    """The benchmark folder: `$REASONMILL_BENCHMARKS`, else `../shared/data/benchmarks` by the checkout."""
    value = os.environ.get(ENV_VAR)
    return Path(value).expanduser() if value else DEFAULT_DIR


def benchmark_file(name: str) -> Path:
    """Path of benchmark file `name`; raises `BenchmarkDataMissing` naming the path when absent."""
    path = benchmark_dir() / name
    if not path.is_file():
        raise BenchmarkDataMissing(
            f"benchmark file {path} not found (set {ENV_VAR} to the benchmarks folder)"
        )
    return path


def iter_benchmark_rows(name: str) -> Iterator[dict[str, Any]]:
    """The JSON rows of benchmark file `name` (JSONL), in file order."""
    with benchmark_file(name).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)
