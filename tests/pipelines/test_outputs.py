"""What a build folder gives a user: stage folders that load, readable file modes, progress totals."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from reasonmill.pipelines.runner import build
from reasonmill.pipelines.stages import STAGE_ORDER


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    from reasonmill.config import validate_config

    small = {
        "name": "outputs",
        "shard_rows": 40,
        "seeds": [
            {"generator": "arithmetic_chain", "count": 50},
            {"generator": "linear_equation", "count": 50},
        ],
        # Seeds composed away are rejections, so OUT/rejected has rows to load.
        "compose": {"rules": [{"principle": "bridging", "count": 30, "hops": 2}], "keep_seeds": False},
        "curate": {},  # dedup and decontamination with the defaults
    }
    path = tmp_path_factory.mktemp("outputs") / "out"
    build(validate_config(small), path)
    return path


@pytest.mark.parametrize("stage", STAGE_ORDER)
def test_each_stage_folder_loads_with_datasets_and_pyarrow(out, stage):
    n = sum(pq.read_metadata(f).num_rows for f in (out / stage).glob("shard-*.parquet"))
    ds = load_dataset("parquet", data_dir=str(out / stage), split="train")
    assert ds.num_rows == n and "problem" in ds.column_names and "reason" not in ds.column_names
    table = pq.read_table(out / stage)
    assert table.num_rows == n and "traces" in table.column_names


def test_rejections_load_together_with_their_stage(out):
    rejected = load_dataset("parquet", data_dir=str(out / "rejected"), split="train")
    assert rejected.num_rows > 0 and {"stage", "reason", "detail", "record"} <= set(rejected.column_names)
    assert set(rejected["stage"]) <= set(STAGE_ORDER)


def test_files_get_the_umask_mode(out):
    modes = {stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file() and p.name != ".lock"}
    assert modes == {0o644}, sorted(oct(m) for m in modes)


def test_a_stricter_umask_is_honoured(tmp_path):
    code = (
        "import os, sys; os.umask(0o027); from pathlib import Path; "
        "from reasonmill.shards import atomic_write_bytes; atomic_write_bytes(Path(sys.argv[1]), b'x')"
    )
    target = tmp_path / "f.bin"
    subprocess.run([sys.executable, "-c", code, str(target)], check=True)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640


def test_progress_shows_totals_over_shards():
    from rich.console import Console
    from rich.progress import Progress

    from reasonmill.pipelines.cli import _StageProgress

    with Progress(console=Console(file=open(os.devnull, "w"))) as progress:  # noqa: SIM115
        hook = _StageProgress(progress, ("seeds",), 3)
        for k, kept in enumerate((500, 500, 480)):
            hook("seeds", k, {"counts": {"written": kept, "rejected": 1}, "skipped": k == 0})
        task = progress.tasks[0]
    assert task.completed == 3 and task.fields["note"] == "kept 1480, dropped 3 (1 resumed)"


def test_manifest_lists_stages_in_pipeline_order(out):
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["stages"]) == list(STAGE_ORDER) == manifest["stage_order"]
