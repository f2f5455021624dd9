"""`reasonmill curate IN --out OUT [CONFIG]`: curate any dataset — dedup, decontaminate, select.

IN is a reasonmill build folder (its final corpus), a Parquet or JSONL file, a folder of them, or
a folder `datasets` can load. `--column question=problem` (repeatable) maps the standard columns
(`question`, `answer`, `completion`, `id`; defaults the same names; an id is made from the content
when there is none). CONFIG is a `CurationConfig` as a YAML/JSON file or inline JSON (defaults:
exact + near + semantic dedup and decontamination, no selector).

Writes `OUT/kept/*.parquet` and `OUT/rejected/*.parquet` (every input row in exactly one, all its
columns; rejected rows add `reason` and `detail`), `OUT/manifest.json` (rows per reason, files)
and `OUT/report/` (report.md, report.html, report.json, plots). Embeddings are cached in
`OUT/cache/` (or `--cache-dir`), so a rerun embeds nothing again.

    reasonmill curate openr1.jsonl --out curated -c question=problem -c completion=generations \\
        '{"selectors": [{"name": "select2reason"}]}'

The typer command is `curate_command`; `reasonmill.pipelines.cli` registers it as `curate`.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from reasonmill.errors import ReasonmillError


def parse_columns(specs: list[str] | None) -> dict[str, str]:
    """`["question=problem", ...]` → `{"question": "problem"}`; a malformed spec is an error."""
    from reasonmill.pipelines.curation.table import NUMERIC, STANDARD, CurationInputError

    out: dict[str, str] = {}
    for spec in specs or []:
        std, sep, col = spec.partition("=")
        std, col = std.strip(), col.strip()
        if not sep or not std or not col:
            raise CurationInputError(f"--column {spec!r}: expected STANDARD=COLUMN, e.g. question=problem")
        if std not in STANDARD + NUMERIC:
            raise CurationInputError(
                f"--column {spec!r}: {std!r} is not a curation column; known: {', '.join(STANDARD + NUMERIC)}"
            )
        out[std] = col
    return out


def curate(
    src: Path,
    out: Path,
    config: Any = None,
    columns: dict[str, str] | None = None,
    cache_dir: Path | None = None,
    split: str | None = None,
    rows_per_file: int = 100_000,
    progress: Any = None,
) -> dict[str, Any]:
    """Run curation on `src` and write `out` (see the module doc); return the manifest."""
    from reasonmill.pipelines.curation import load_curation_config, plan_curation
    from reasonmill.pipelines.curation.files import read_input, write_outputs

    cfg = load_curation_config(config)
    start = time.perf_counter()
    table, kind = read_input(Path(src), split)
    out = Path(out)
    cache = Path(cache_dir) if cache_dir is not None else out / "cache"
    plan = plan_curation(table, cfg, mapping=columns or {}, cache_dir=cache, progress=progress)
    files_report = plan.report.write(out / "report")
    config_json = cfg.model_dump(mode="json")
    manifest = write_outputs(
        table,
        plan.decisions,
        out,
        rows_per_file,
        {
            "input": str(src),
            "input_kind": kind,
            "columns": columns or {},
            "config": config_json,
            "config_hash": hashlib.sha256(json.dumps(config_json, sort_keys=True).encode()).hexdigest()[:16],
            "contamination_matches": len(plan.report.contamination),
            "template_matches": len(plan.report.templates),
            "report": [str(p.relative_to(out)) for p in files_report],
            "seconds": round(time.perf_counter() - start, 3),
            "timings": plan.report.timings,
        },
    )
    return manifest


def curate_command(
    src: Annotated[
        Path,
        typer.Argument(
            metavar="IN", help="Build folder, Parquet/JSONL file or folder, or a folder `datasets` can load."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder: kept/, rejected/, manifest.json, report/.")
    ],
    config: Annotated[
        str | None,
        typer.Argument(
            metavar="[CONFIG]",
            help="CurationConfig as a YAML/JSON file or inline JSON (default: dedup + decontamination).",
        ),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            "-c",
            help="Map a standard column: question=problem, completion=generations, answer=..., id=... (repeatable).",
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Embedding and index cache (default OUT/cache).")
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Split to read from a dataset folder with several.")
    ] = None,
    rows_per_file: Annotated[int, typer.Option(help="Rows per output Parquet file.")] = 100_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Curate a dataset: exact/near/semantic dedup, decontamination, selection; kept and rejected rows."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    console = Console(stderr=as_json)
    try:
        columns = parse_columns(column)
        with Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=as_json,
        ) as bar:
            tasks: dict[str, Any] = {}

            def progress(step: str, done: int, total: int) -> None:
                if step not in tasks:
                    tasks[step] = bar.add_task(step, total=total)
                bar.update(tasks[step], completed=done, total=total)

            manifest = curate(src, out, config, columns, cache_dir, split, rows_per_file, progress)
    except ReasonmillError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(manifest))
        return
    table = Table(title=f"reasonmill curate {src}")
    for col in ("rows", "kept", "rejected", "by reason", "benchmark matches", "template matches"):
        table.add_column(col)
    reasons = ", ".join(f"{k}: {v}" for k, v in manifest["reasons"].items()) or "-"
    table.add_row(
        str(manifest["rows"]),
        str(manifest["kept"]),
        str(manifest["rejected"]),
        reasons,
        str(manifest["contamination_matches"]),
        str(manifest["template_matches"]),
    )
    console.print(table)
    console.print(
        f"kept → {out / 'kept'}, rejected → {out / 'rejected'}, report → {out / 'report' / 'report.md'}  ({manifest['seconds']}s)"
    )
