"""The `reasonmill` command: build, inspect, list, verify, schedule.

    reasonmill build [CONFIG] --out DIR   run a build (defaults: the offline build, ./out)
    reasonmill inspect DIR                manifest, counts per stage and reason, sample rows, checks
    reasonmill list                       registered generators, principles, teachers, verifiers
    reasonmill verify FILE                grade a JSONL/Parquet file of model outputs

Bad input (config, files) prints one clear line naming the field or file and exits with code 2;
a stage that fails prints the same one line under either engine (Prefect's own logs go to
`OUT/logs/prefect.log`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reasonmill.config import load_config
from reasonmill.errors import ReasonmillError
from reasonmill.pipelines.curate_cmd import curate_command
from reasonmill.pipelines.publish_cmd import publish_command
from reasonmill.pipelines.train_cmd import eval_command, train_app
from reasonmill.pipelines.verify_file import verify_command

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Manufacture verified, difficulty-scored reasoning corpora.",
)
console = Console()

LARGE_PLAN_SHARDS = 2000
"""A build planning more shards than this asks for confirmation (skip it with --yes)."""


def _fail(exc: BaseException) -> None:
    # soft_wrap: a path in the message is never broken across lines
    console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
    raise typer.Exit(2)


def _one_line(exc: BaseException, out: Path | None = None) -> str:
    """The one line a failed build prints: the error, plus where the details are (Prefect)."""
    text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ReasonmillError) else str(exc)
    text = " ".join(text.split())[:1000]
    log = out / "logs" / "prefect.log" if out is not None else None
    return f"{text}" + (
        f" (details: {log})" if log is not None and log.exists() and log.stat().st_size else ""
    )


class _StageProgress:
    """Progress bars per stage with running totals (kept and dropped over the shards done so far)."""

    def __init__(self, progress: Progress, stages: tuple[str, ...], shards: int) -> None:
        self.progress = progress
        self.bars = {name: progress.add_task(name, total=shards, note="") for name in stages}
        self.totals = {name: [0, 0, 0] for name in stages}  # kept, dropped, resumed

    def __call__(self, stage: str, shard: int, info: dict[str, Any]) -> None:
        c = info["counts"]
        t = self.totals[stage]
        t[0] += c["written"]
        t[1] += c["rejected"]
        t[2] += bool(info.get("skipped"))
        note = f"kept {t[0]}, dropped {t[1]}" + (f" ({t[2]} resumed)" if t[2] else "")
        self.progress.update(self.bars[stage], advance=1, note=note)


@app.command()
def build(
    config: Annotated[
        Path | None, typer.Argument(help="YAML build config; omit for the default offline build.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (resumes if it holds an earlier run).")
    ] = Path("out"),
    engine: Annotated[
        str, typer.Option(help="'prefect' (flow with one task per stage shard) or 'plain' (in-process).")
    ] = "prefect",
    workers: Annotated[
        int, typer.Option(help="Concurrent shard tasks (Prefect threads or Dask worker processes).")
    ] = 1,
    task_runner: Annotated[str, typer.Option(help="Prefect task runner: 'threads' or 'dask'.")] = "threads",
    address: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://HOST:PORT) for --task-runner dask.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before a build of more than 2,000 shards.")
    ] = False,
) -> None:
    """Run a build: seeds → compose → distill → verify → retro_search → score → corpus."""
    from reasonmill.pipelines import runner
    from reasonmill.pipelines.stages import STAGE_ORDER

    try:
        cfg = load_config(config)
        runner.check_config(cfg, out)  # registry names and family parameters, before any work
        n = runner.num_shards(cfg)
    except ReasonmillError as exc:
        _fail(exc)
    if engine not in ("prefect", "plain"):
        _fail(ReasonmillError(f"--engine must be 'prefect' or 'plain', got {engine!r}"))
    if n > LARGE_PLAN_SHARDS and not yes:
        rows = sum(s.count for s in cfg.seeds)
        if not typer.confirm(
            f"This build plans {n:,} shards ({rows:,} seed rows × {len(STAGE_ORDER)} stages). Go on?",
            default=False,
        ):
            raise typer.Exit(1)
    console.print(
        f"[bold]reasonmill build[/] {cfg.name} (config {cfg.config_hash()}) → {out}  [{n} shards × {len(STAGE_ORDER)} stages, engine={engine}]"
    )
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        hook = _StageProgress(progress, STAGE_ORDER, n)
        try:
            if engine == "plain":
                manifest = runner.build(cfg, out, progress=hook)
            else:
                from reasonmill.pipelines import flows

                manifest = flows.run_build(
                    cfg, out, workers=workers, task_runner_kind=task_runner, address=address, progress=hook
                )
        except ReasonmillError as exc:
            progress.stop()
            _fail(ReasonmillError(_one_line(exc, out if engine == "prefect" else None)))
        except (OSError, AssertionError, RuntimeError, TypeError, ValueError) as exc:
            progress.stop()
            _fail(ReasonmillError(_one_line(exc, out if engine == "prefect" else None)))
    _summary(manifest, out)


def _summary(manifest: dict[str, Any], out: Path) -> None:
    table = Table(title=f"build summary — {out}")
    for col in ("stage", "read", "created", "kept", "rejected", "reasons"):
        table.add_column(col, justify="right" if col not in ("stage", "reasons") else "left")
    order = manifest.get("stage_order") or list(manifest["stages"])
    for name in order:
        c = manifest["stages"][name]["counts"]
        reasons = ", ".join(f"{k}: {v}" for k, v in c["reasons"].items())
        table.add_row(name, str(c["read"]), str(c["created"]), str(c["written"]), str(c["rejected"]), reasons)
    console.print(table)
    corpus = manifest["corpus"]
    console.print(
        f"corpus: [bold]{corpus['rows']}[/] verified records in {out / 'corpus'} ({len(corpus['files'])} file(s)); preference pairs: {corpus['preference_pairs']}"
    )


@app.command()
def inspect(
    out: Annotated[Path, typer.Argument(help="A build's output folder.")],
    rows: Annotated[int, typer.Option(help="Sample rows to show.")] = 3,
    verify: Annotated[
        bool, typer.Option("--verify", help="Also read every shard and check it against the schema.")
    ] = False,
) -> None:
    """Show a build's manifest, counts per stage and rejection reason, and sample corpus rows.

    Checks completion markers and file checksums against the manifest (with --verify, every
    shard's contents too) and exits with code 1 when any problem is found, listing every one.
    """
    from reasonmill.pipelines.inspection import build_problems, sample_rows

    mpath = out / "manifest.json"
    if not mpath.exists():
        _fail(ReasonmillError(f"{mpath} does not exist: not a finished reasonmill build"))
    try:
        manifest = json.loads(mpath.read_text())
    except ValueError as exc:
        _fail(ReasonmillError(f"{mpath} is not valid JSON: {exc}"))
    console.print(
        f"[bold]{manifest['name']}[/]  config {manifest['config_hash']}  schema v{manifest['schema_version']}  finished {manifest['finished_at']}"
    )
    _summary(manifest, out)
    problems = build_problems(out, manifest, deep=verify)
    if rows > 0:
        try:
            for row in sample_rows(out, manifest, rows):
                console.rule(
                    f"{row['id']}  {row['source']}  level {row['level']}  difficulty {row['difficulty']:.2f}"
                )
                console.print(f"[bold]Q:[/] {row['question']}")
                comp = row["completion"]
                console.print(
                    f"[bold]trace[/] ({row['trace_tokens']} tokens): {comp[:400]}{' …' if len(comp) > 400 else ''}"
                )
                console.print(f"[bold]answer:[/] {row['answer']}")
        except ReasonmillError as exc:
            problems.append(str(exc))
    if problems:
        console.print(f"[red]{len(problems)} problem(s):[/]\n  " + "\n  ".join(problems))
        raise typer.Exit(1)
    checked = "markers present" + (", every shard read against the schema" if verify else "")
    console.print(f"files: [green]all checksums match the manifest[/] ({checked})")


@app.command("list")
def list_cmd() -> None:
    """List the registered generators, composition principles, teachers, verifiers, backends and stages."""
    from reasonmill.generators import FAMILIES, PRINCIPLES, TEACHERS
    from reasonmill.llm import BACKENDS
    from reasonmill.pipelines.stages import STAGE_ORDER
    from reasonmill.verifiers import VERIFIERS

    table = Table(title="reasonmill registry")
    table.add_column("kind")
    table.add_column("name")
    table.add_column("what")
    for name, fam in FAMILIES.items():
        table.add_row(
            "generator", name, f"{fam.description} (answer kind: {fam.answer_kind}, levels 1–{fam.max_level})"
        )
    for name, p in PRINCIPLES.items():
        table.add_row("principle", name, p.description)
    for name, _ in TEACHERS.items():
        table.add_row("teacher", name, "")
    for name, v in VERIFIERS.items():
        table.add_row("verifier", name, f"kinds: {', '.join(v.kinds)}")
    for name, kind in BACKENDS.items():
        table.add_row("llm backend", name, (kind.config.__doc__ or "").strip().splitlines()[0])
    for name in STAGE_ORDER:
        table.add_row("stage", name, "")
    console.print(table)


@app.command()
def schedule(
    config: Annotated[
        Path | None, typer.Argument(help="YAML build config; omit for the default offline build.")
    ] = None,
    out: Annotated[
        str, typer.Option("--out", "-o", help="Per-run folder template: {date} {time} {timestamp} {seed}.")
    ] = "runs/{date}-{time}",
    cron: Annotated[
        str | None, typer.Option(help="Cron schedule, e.g. '0 3 * * *' (the default when no --interval).")
    ] = None,
    interval: Annotated[
        float | None, typer.Option(help="Run every this many seconds instead of on a cron schedule.")
    ] = None,
    append_to: Annotated[
        Path | None, typer.Option("--append-to", help="A growing corpus each run is merged into, with dedup.")
    ] = None,
    publish_repo: Annotated[
        str | None,
        typer.Option("--publish", help="Push each run (or the growing corpus) to this Hub dataset repo."),
    ] = None,
    name: Annotated[str, typer.Option(help="Deployment name.")] = "reasonmill-scheduled",
) -> None:
    """Serve scheduled builds that grow a dataset, as a Prefect deployment (needs a Prefect server).

    Each run takes its seed from its scheduled time (new data every run), builds into its own
    folder, and optionally joins a growing corpus (--append-to) and is published (--publish).
    Start a server with `prefect server start` and set PREFECT_API_URL (e.g.
    http://127.0.0.1:4200/api); Prefect's ephemeral mode cannot schedule. The process stays up and
    runs the flow on schedule.
    """
    if not os.environ.get("PREFECT_API_URL"):
        _fail(
            ReasonmillError(
                "schedules need a Prefect server: run `prefect server start` and set PREFECT_API_URL (ephemeral mode cannot schedule)"
            )
        )
    if cron is not None and interval is not None:
        _fail(ReasonmillError("give --cron or --interval, not both"))
    try:
        cfg = load_config(config)
    except ReasonmillError as exc:
        _fail(exc)
    from reasonmill.pipelines.schedule import run_folder, scheduled_build_flow

    try:
        run_folder(out, dt.datetime.now(dt.UTC), 0)  # check the template now, not at the first run
    except ReasonmillError as exc:
        _fail(exc)
    params = {
        "config_json": cfg.model_dump(mode="json"),
        "out_template": out,
        "append_to": str(append_to) if append_to else None,
        "publish_repo": publish_repo,
    }
    when: dict[str, Any] = {"interval": interval} if interval is not None else {"cron": cron or "0 3 * * *"}
    console.print(
        f"serving deployment [bold]{name}[/] ({', '.join(f'{k}={v}' for k, v in when.items())}); runs → {out}"
    )
    scheduled_build_flow.serve(name=name, parameters=params, **when)


app.command("verify")(verify_command)
app.command("publish")(publish_command)
app.command("curate")(curate_command)
app.add_typer(train_app, name="train")
app.command("eval")(eval_command)


def main() -> None:
    """Entry point that turns uncaught reasonmill errors into one clean line."""
    try:
        app()
    except ReasonmillError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
