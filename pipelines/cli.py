"""The `reasonmill` command: build, inspect, list, verify.

    reasonmill build [CONFIG] --out DIR   run a build (defaults: the offline build, ./out)
    reasonmill inspect DIR                manifest, counts per stage and reason, sample rows
    reasonmill list                       registered generators, principles, teachers, verifiers
    reasonmill verify FILE                grade a JSONL/Parquet file of model outputs

Bad input (config, files) prints one clear line naming the field or file and exits with code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reasonmill.config import load_config
from reasonmill.errors import ReasonmillError
from reasonmill.pipelines.verify_file import verify_command

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Manufacture verified, difficulty-scored reasoning corpora.")
console = Console()


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)


@app.command()
def build(
    config: Annotated[Path | None, typer.Argument(help="YAML build config; omit for the default offline build.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (resumes if it holds an earlier run).")] = Path("out"),
    engine: Annotated[str, typer.Option(help="'prefect' (flow with one task per stage shard) or 'plain' (in-process).")] = "prefect",
    workers: Annotated[int, typer.Option(help="Concurrent shard tasks (Prefect thread or Dask workers).")] = 1,
    task_runner: Annotated[str, typer.Option(help="Prefect task runner: 'threads' or 'dask'.")] = "threads",
    address: Annotated[str | None, typer.Option(help="Dask scheduler address for task_runner=dask.")] = None,
) -> None:
    """Run a build: seeds → compose → distill → verify → retro_search → score → corpus."""
    from reasonmill.pipelines import runner
    from reasonmill.pipelines.stages import STAGE_ORDER

    try:
        cfg = load_config(config)
        for name in STAGE_ORDER:  # validates registry names in the config before any work
            runner.make_stage(name, cfg, out)
        n = runner.num_shards(cfg)
    except ReasonmillError as exc:
        _fail(exc)
    console.print(f"[bold]reasonmill build[/] {cfg.name} (config {cfg.config_hash()}) → {out}  [{n} shards × {len(STAGE_ORDER)} stages, engine={engine}]")
    with Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=console) as progress:
        bars = {name: progress.add_task(name, total=n, note="") for name in STAGE_ORDER}

        def hook(stage: str, shard: int, info: dict[str, Any]) -> None:
            c = info["counts"]
            progress.update(bars[stage], advance=1, note=f"kept {c['written']}, dropped {c['rejected']}" + (" (resumed)" if info.get("skipped") else ""))

        try:
            if engine == "plain":
                manifest = runner.build(cfg, out, progress=hook)
            elif engine == "prefect":
                from reasonmill.pipelines import flows

                flows.PROGRESS_HOOK[:] = [hook]
                manifest = flows.run_build(cfg, out, workers=workers, task_runner=task_runner, address=address)
            else:
                raise ReasonmillError(f"--engine must be 'prefect' or 'plain', got {engine!r}")
        except ReasonmillError as exc:
            _fail(exc)
    _summary(manifest, out)


def _summary(manifest: dict[str, Any], out: Path) -> None:
    table = Table(title=f"build summary — {out}")
    for col in ("stage", "read", "created", "kept", "rejected", "reasons"):
        table.add_column(col, justify="right" if col not in ("stage", "reasons") else "left")
    for name, s in manifest["stages"].items():
        c = s["counts"]
        reasons = ", ".join(f"{k}: {v}" for k, v in c["reasons"].items())
        table.add_row(name, str(c["read"]), str(c["created"]), str(c["written"]), str(c["rejected"]), reasons)
    console.print(table)
    corpus = manifest["corpus"]
    console.print(f"corpus: [bold]{corpus['rows']}[/] verified records in {out / 'corpus'} ({len(corpus['files'])} file(s)); preference pairs: {corpus['preference_pairs']}")


@app.command()
def inspect(
    out: Annotated[Path, typer.Argument(help="A build's output folder.")],
    rows: Annotated[int, typer.Option(help="Sample rows to show.")] = 3,
) -> None:
    """Show a build's manifest, counts per stage and rejection reason, and sample corpus rows."""
    import pyarrow.parquet as pq

    from reasonmill.pipelines.runner import verify_manifest

    mpath = out / "manifest.json"
    if not mpath.exists():
        _fail(ReasonmillError(f"{mpath} does not exist: not a finished reasonmill build"))
    try:
        manifest = json.loads(mpath.read_text())
    except ValueError as exc:
        _fail(ReasonmillError(f"{mpath} is not valid JSON: {exc}"))
    console.print(f"[bold]{manifest['name']}[/]  config {manifest['config_hash']}  schema v{manifest['schema_version']}  finished {manifest['finished_at']}")
    _summary(manifest, out)
    problems = verify_manifest(out)
    console.print("files: [green]all checksums match the manifest[/]" if not problems else "[red]files differ from the manifest:[/]\n  " + "\n  ".join(problems))
    files = sorted((out / "corpus").glob("*.parquet"))
    if files and rows > 0:
        table = pq.read_table(files[0]).slice(0, rows).to_pylist()
        for row in table:
            console.rule(f"{row['id']}  {row['source']}  level {row['level']}  difficulty {row['difficulty']:.2f}")
            console.print(f"[bold]Q:[/] {row['question']}")
            comp = row["completion"]
            console.print(f"[bold]trace[/] ({row['trace_tokens']} tokens): {comp[:400]}{' …' if len(comp) > 400 else ''}")
            console.print(f"[bold]answer:[/] {row['answer']}")


@app.command("list")
def list_cmd() -> None:
    """List the registered generators, composition principles, teachers, verifiers and stages."""
    from reasonmill.generators import FAMILIES, PRINCIPLES, TEACHERS
    from reasonmill.pipelines.stages import STAGE_ORDER
    from reasonmill.verifiers import VERIFIERS

    table = Table(title="reasonmill registry")
    table.add_column("kind")
    table.add_column("name")
    table.add_column("what")
    for name, fam in FAMILIES.items():
        table.add_row("generator", name, f"{fam.description} (answer kind: {fam.answer_kind}, levels 1–{fam.max_level})")
    for name, p in PRINCIPLES.items():
        table.add_row("principle", name, p.description)
    for name, _ in TEACHERS.items():
        table.add_row("teacher", name, "")
    for name, v in VERIFIERS.items():
        table.add_row("verifier", name, f"kinds: {', '.join(v.kinds)}")
    for name in STAGE_ORDER:
        table.add_row("stage", name, "")
    console.print(table)


@app.command()
def schedule(
    config: Annotated[Path | None, typer.Argument(help="YAML build config; omit for the default offline build.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder each scheduled run resumes into.")] = Path("out"),
    cron: Annotated[str, typer.Option(help="Cron schedule, e.g. '0 3 * * *'.")] = "0 3 * * *",
    name: Annotated[str, typer.Option(help="Deployment name.")] = "reasonmill-scheduled",
) -> None:
    """Serve the build flow as a scheduled Prefect deployment (needs a Prefect server).

    Start one with `prefect server start` and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api);
    Prefect's ephemeral mode cannot schedule. The process stays up and runs the flow on schedule.
    """
    import os

    if not os.environ.get("PREFECT_API_URL"):
        _fail(ReasonmillError("schedules need a Prefect server: run `prefect server start` and set PREFECT_API_URL (ephemeral mode cannot schedule)"))
    try:
        cfg = load_config(config)
    except ReasonmillError as exc:
        _fail(exc)
    from reasonmill.pipelines.flows import build_flow

    build_flow.serve(name=name, cron=cron, parameters={"config_json": cfg.model_dump(mode="json"), "out": str(out)})


app.command("verify")(verify_command)


def main() -> None:
    """Entry point that turns uncaught reasonmill errors into one clean line."""
    try:
        app()
    except ReasonmillError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
