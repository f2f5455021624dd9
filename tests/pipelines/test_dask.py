"""Dask from the CLI: a LocalCluster started by `--workers N`, and an existing `dask scheduler` with
`dask worker`s at `--address` — the same corpus as the thread runner, progress on the console."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from reasonmill.pipelines.cli import app
from reasonmill.pipelines.runner import build

runner = CliRunner()

SMALL = {
    "name": "dask-small",
    "shard_rows": 30,
    "seeds": [{"generator": "arithmetic_chain", "count": 40}, {"generator": "linear_equation", "count": 40}],
    "compose": {"rules": [{"principle": "bridging", "count": 6, "hops": 2}]},
    "distill": {"samples": 2},
}


def _rows(out: Path) -> list[dict]:
    return [
        r
        for f in sorted((out / "corpus" / "records").glob("*.parquet"))
        for r in pq.read_table(f).to_pylist()
    ]


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    from reasonmill.config import validate_config

    out = tmp_path_factory.mktemp("plain") / "out"
    build(validate_config(SMALL), out)
    return out


@pytest.fixture
def cfg_file(tmp_path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


def test_cli_build_on_a_local_dask_cluster(tmp_path, cfg_file, plain):
    out = tmp_path / "dask"
    res = runner.invoke(
        app, ["build", str(cfg_file), "--out", str(out), "--task-runner", "dask", "--workers", "2"]
    )
    assert res.exit_code == 0, res.output[-3000:]
    assert "build summary" in res.output and "PicklingError" not in res.output
    assert _rows(out) == _rows(plain)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_build_on_an_existing_scheduler_address(tmp_path, cfg_file, plain):
    port = _free_port()
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    bin_dir = Path(sys.executable).parent
    sched = subprocess.Popen(
        [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [
            str(bin_dir / "dask"),
            "worker",
            f"tcp://127.0.0.1:{port}",
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--no-dashboard",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(f"tcp://127.0.0.1:{port}", timeout=5) as c:
                    if len(c.scheduler_info()["workers"]) >= 2:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the dask cluster did not come up"
            time.sleep(1)
        out = tmp_path / "remote"
        res = runner.invoke(
            app,
            [
                "build",
                str(cfg_file),
                "--out",
                str(out),
                "--task-runner",
                "dask",
                "--address",
                f"tcp://127.0.0.1:{port}",
            ],
        )
        assert res.exit_code == 0, res.output[-3000:]
        assert _rows(out) == _rows(plain)
    finally:
        for p in (worker, sched):
            os.killpg(p.pid, signal.SIGTERM)
        for p in (worker, sched):
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
