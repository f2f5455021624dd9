"""Reading JSON Lines files whose rows are objects, with one clear line per bad row.

Every user-facing reader of JSONL (`reasonmill verify-file`, `reasonmill curate`, `reasonmill
eval`, decontamination's benchmark files) reads through `read_jsonl_objects`, so a bad file says
the same thing everywhere: the file, the line number, and what is wrong there. Blank lines are
skipped; nothing is read lazily, so a bad line late in a file fails before any work starts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reasonmill.errors import ReasonmillError


def read_jsonl_objects(
    path: Path, error: Callable[[str], Exception] = ReasonmillError
) -> list[dict[str, Any]]:
    """The rows of the JSONL file `path`, each a JSON object, in file order.

    A line that is not JSON, or is JSON but not an object, raises `error(message)` with the
    message "PATH line N: ..." (the caller's own error type, so its command keeps its exit code).
    """
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{path} line {n}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise error(f"{path} line {n}: expected a JSON object")
            rows.append(row)
    return rows
