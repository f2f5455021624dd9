"""`reasonmill verify FILE`: grade any file of model outputs and write the verdicts back.

Input: JSONL (`.jsonl`/`.json`, one object a line) or Parquet, rows with `gold`, `prediction`
(a bare answer or a whole model output) and optional `kind` (else `--kind`, default math).
Output: the same rows, every input field kept, plus `verdict_passed`, `verdict_reason`,
`verdict_verifier`, `verdict_detail` and `extracted_answer`, written atomically (temporary
name, then `os.replace`) in the input's format, by default next to it as `NAME.verified.EXT`.
Returns and prints a summary: rows, passed, accuracy, counts per reason and per kind.

    reasonmill verify outputs.jsonl --kind math --workers 2 --policy '{"percent": "fraction"}'

The typer command is `verify_command`; `reasonmill.pipelines.cli` registers it as `verify`.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from reasonmill.errors import ReasonmillError
from reasonmill.jsonl import read_jsonl_objects
from reasonmill.verifiers import VERIFIERS, CheckItem, VerifyPolicy, shared_pool
from reasonmill.verifiers.extract import extract_answer, extract_choice

VERDICT_FIELDS = (
    "verdict_passed",
    "verdict_reason",
    "verdict_verifier",
    "verdict_detail",
    "extracted_answer",
)


class VerifyFileError(ReasonmillError, ValueError):
    """The input file, a row in it, or the policy is unusable; the message names which."""


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL or Parquet file; errors name the file and line."""
    if not path.exists():
        raise VerifyFileError(f"{path} does not exist")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except Exception as exc:
            raise VerifyFileError(f"{path} is not a readable Parquet file: {exc}") from None
    return read_jsonl_objects(path, VerifyFileError)


def write_rows(rows: list[dict[str, Any]], out: Path) -> None:
    """Write rows as JSONL or Parquet (by `out`'s suffix) atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        if out.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), tmp, compression="zstd")
        else:
            with tmp.open("w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def default_out(path: Path) -> Path:
    """`answers.jsonl` -> `answers.verified.jsonl` (same folder, same format)."""
    return path.with_name(f"{path.stem}.verified{path.suffix}")


def load_policy(spec: str | None) -> VerifyPolicy:
    """A policy from inline JSON, a JSON/YAML file, or None for the defaults; errors name the field."""
    if not spec:
        return VerifyPolicy()
    text = (
        Path(spec).read_text(encoding="utf-8")
        if not spec.lstrip().startswith("{") and Path(spec).exists()
        else spec
    )
    try:
        import yaml

        data = yaml.safe_load(text)
    except Exception as exc:
        raise VerifyFileError(f"policy {spec!r} is not JSON/YAML: {exc}") from None
    if not isinstance(data, dict):
        raise VerifyFileError(f"policy {spec!r} must be a mapping of VerifyPolicy fields")
    try:
        return VerifyPolicy.model_validate(data)
    except Exception as exc:
        raise VerifyFileError(f"policy: {exc}") from None


def registered_kinds() -> list[str]:
    """Every answer kind some registered verifier accepts, and the verifiers' own names."""
    return sorted({k for name, v in VERIFIERS.items() for k in (*v.kinds, name)})


def verify_file(
    path: Path,
    out: Path | None = None,
    kind_default: str = "math",
    workers: int = 2,
    timeout_s: float = 10.0,
    policy: VerifyPolicy | None = None,
) -> dict[str, Any]:
    """Grade every row of `path`, write the rows with verdict fields to `out`, return a summary.

    Rows missing `gold` or `prediction` raise `VerifyFileError` naming the row; an unknown kind
    is an `unverifiable` verdict for that row, not an error.
    """
    known = registered_kinds()
    if kind_default not in known:
        raise VerifyFileError(f"unknown answer kind '{kind_default}'; registered kinds: {', '.join(known)}")
    path = Path(path)
    out = Path(out) if out else default_out(path)
    policy = policy or VerifyPolicy()
    rows = read_rows(path)
    items = []
    for i, row in enumerate(rows):
        for field in ("gold", "prediction"):
            if field not in row:
                raise VerifyFileError(
                    f"{path} row {i}: missing field '{field}' (rows need gold, prediction, optional kind)"
                )
        kind = row.get("kind") or kind_default
        pred = row["prediction"]
        items.append(CheckItem(str(kind), str(row["gold"]), None if pred is None else str(pred)))
    start = time.perf_counter()
    verdicts = shared_pool(workers, timeout_s, policy).check_many(items)
    seconds = time.perf_counter() - start
    for row, item, v in zip(rows, items, verdicts, strict=True):
        row.update(
            verdict_passed=v.passed,
            verdict_reason=v.reason,
            verdict_verifier=v.verifier,
            verdict_detail=v.detail,
            extracted_answer=(
                extract_choice(item.prediction, policy.choice_letters)
                if item.kind in ("choice", "multiple_choice")
                else extract_answer(item.prediction)
                if item.kind != "code"
                else None
            ),
        )
    write_rows(rows, out)
    passed = sum(v.passed for v in verdicts)
    by_kind: dict[str, Counter] = {}
    for item, v in zip(items, verdicts, strict=True):
        by_kind.setdefault(item.kind, Counter())["passed" if v.passed else "failed"] += 1
    return {
        "input": str(path),
        "output": str(out),
        "rows": len(rows),
        "passed": passed,
        "accuracy": round(passed / len(rows), 4) if rows else None,
        "reasons": dict(sorted(Counter(v.reason for v in verdicts if v.reason).items())),
        "kinds": {k: dict(c) for k, c in sorted(by_kind.items())},
        "seconds": round(seconds, 3),
    }


def verify_command(
    file: Annotated[
        Path, typer.Argument(help="JSONL or Parquet rows with gold, prediction and optional kind.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Where to write the graded rows (default: NAME.verified.EXT)."),
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            help="Answer kind for rows without one (an unknown kind is an error listing the registered ones)."
        ),
    ] = "math",
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    timeout: Annotated[
        float, typer.Option(help="Hard per-item timeout, seconds (a timeout is a verdict).")
    ] = 10.0,
    policy: Annotated[
        str | None,
        typer.Option(
            help='VerifyPolicy as inline JSON or a JSON/YAML file, e.g. \'{"percent": "fraction"}\'.'
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Grade a file of model outputs: write each row back with its verdict and print a summary."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    try:
        summary = verify_file(file, out, kind, workers, timeout, load_policy(policy))
    except ReasonmillError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(summary))
        return
    table = Table(title=f"reasonmill verify {summary['input']}")
    table.add_column("rows")
    table.add_column("passed")
    table.add_column("accuracy")
    table.add_column("not passed, by reason")
    acc = "-" if summary["accuracy"] is None else f"{summary['accuracy']:.2%}"
    reasons = ", ".join(f"{k}: {v}" for k, v in summary["reasons"].items()) or "-"
    table.add_row(str(summary["rows"]), str(summary["passed"]), acc, reasons)
    console.print(table)
    console.print(f"graded rows → {summary['output']}  ({summary['seconds']}s)")
