"""`reasonmill publish BUILD --repo NAMESPACE/NAME`: push a finished build to the Hugging Face Hub.

    reasonmill publish out --repo alice/arith-reasoning                 # create or update main
    reasonmill publish out --repo alice/arith-reasoning --private --revision nightly
    reasonmill publish out --repo alice/arith-reasoning --dry-run       # list, upload nothing

The token comes from `HF_TOKEN` or the user's `hf auth login`, and is never printed. The build is
re-checked against its manifest first; only what changed is uploaded, in one commit whose message
carries the config hash; an unchanged build makes no commit. `--dry-run` lists every file as new,
changed, deleted or unchanged and says what it compared against. Refusals print one line and exit
with code 2. See `reasonmill.pipelines.publish` for the rules.

The typer command is `publish_command`; `reasonmill.pipelines.cli` registers it as `publish`.
`python -m reasonmill.pipelines.publish_cmd publish ...` runs it on its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from reasonmill.errors import ReasonmillError
from reasonmill.pipelines.card import DEFAULT_LICENSE

STATUS_STYLE = {"new": "green", "changed": "yellow", "deleted": "red", "unchanged": "dim"}


def publish_command(
    build: Annotated[Path, typer.Argument(help="A finished build's output folder (holds manifest.json).")],
    repo: Annotated[
        str, typer.Option("--repo", help="Dataset repo on the Hub, NAMESPACE/NAME (created if missing).")
    ],
    private: Annotated[
        bool, typer.Option("--private", help="Create the repo private (refused if it exists and is public).")
    ] = False,
    revision: Annotated[
        str | None,
        typer.Option("--revision", help="Branch to commit to (created from main if missing); default main."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be uploaded; change nothing.")
    ] = False,
    license: Annotated[
        str, typer.Option("--license", help="License id for the dataset card.")
    ] = DEFAULT_LICENSE,
    show_unchanged: Annotated[
        bool, typer.Option("--show-unchanged", help="List unchanged files too (dry runs always do).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Publish a finished build to the Hugging Face Hub: corpus, curated subsets, manifest, report and card."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
    from rich.table import Table

    from reasonmill.pipelines.publish import publish

    console = Console(stderr=as_json)
    try:
        with Progress(
            TextColumn("checking files against manifest.json"),
            BarColumn(),
            DownloadColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("check", total=None)
            result = publish(
                build,
                repo,
                private=private,
                revision=revision,
                dry_run=dry_run,
                license=license,
                log=lambda line: console.print(line, highlight=False, soft_wrap=True),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except ReasonmillError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    verb = "would be" if dry_run else "were"
    table = Table(title=f"{'dry run: ' if dry_run else ''}{result.repo_id}@{result.revision}")
    table.add_column("file")
    table.add_column("status")
    table.add_column("bytes", justify="right")
    for c in result.changes:
        if c.status != "unchanged" or dry_run or show_unchanged:
            table.add_row(c.path, f"[{STATUS_STYLE[c.status]}]{c.status}[/]", str(c.size))
    console.print(table)
    console.print(result.compared, highlight=False)
    n_up, n_del = len(result.uploaded), len(result.paths("deleted"))
    n_same = len(result.paths("unchanged"))
    console.print(
        f"{n_up} file(s) {verb} uploaded ({result.bytes_uploaded} bytes), {n_del} {verb} deleted, {n_same} unchanged",
        highlight=False,
    )
    if dry_run:
        return
    if result.commit_oid:
        console.print(f"committed {result.commit_oid[:12]}: {result.commit_message}", highlight=False)
    else:
        console.print("nothing changed: no commit made", highlight=False)
    console.print(f"→ {result.url}", highlight=False)


def main() -> None:
    """Run `publish` as a one-command app (`python -m reasonmill.pipelines.publish_cmd publish …`)."""
    app = typer.Typer(add_completion=False, no_args_is_help=True)

    @app.callback()
    def _root() -> None:
        """reasonmill publish, standalone."""

    app.command("publish")(publish_command)
    app()


if __name__ == "__main__":
    main()
