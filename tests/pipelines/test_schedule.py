"""Scheduled builds that grow a dataset: a seed per scheduled time, a folder per run, a growing
corpus with dedup — against a real Prefect server started here on loopback (SQLite)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
import yaml
from datasets import load_dataset

from reasonmill.config import validate_config
from reasonmill.ids import text_fingerprint
from reasonmill.pipelines.runner import build
from reasonmill.pipelines.schedule import append_corpus, run_folder, run_seed

TINY = {
    "name": "nightly",
    "shard_rows": 50,
    "seeds": [{"generator": "arithmetic_chain", "count": 12}, {"generator": "linear_equation", "count": 12}],
    "compose": {"rules": []},
    "retro_search": {"enabled": False},
}


def _records(folder: Path) -> list[dict]:
    return [
        r
        for f in sorted((folder / "corpus" / "records").glob("*.parquet"))
        for r in pq.read_table(f).to_pylist()
    ]


def test_seed_and_folder_come_from_the_scheduled_time():
    t1 = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    t2 = t1 + dt.timedelta(days=1)
    assert run_seed(0, t1) == run_seed(0, t1) != run_seed(0, t2) != run_seed(1, t2)
    assert run_folder("runs/{date}-{time}", t1, 5) == "runs/2026-12-01-030000"
    assert run_folder("runs/{seed}", t1, 5) == "runs/5"


def test_append_grows_a_corpus_with_dedup(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    build(validate_config({**TINY, "seed": 1}), a)
    build(validate_config({**TINY, "seed": 2}), b)
    grow = tmp_path / "growing"
    first = append_corpus(a, grow)
    assert first["added"] == len(_records(a)) and first["duplicates"] == 0
    second = append_corpus(b, grow)
    assert second["added"] + second["duplicates"] == len(_records(b))
    assert append_corpus(b, grow) == second  # appending a run twice adds nothing
    rows = _records(grow)
    assert len(rows) == first["added"] + second["added"]
    assert len({text_fingerprint(r["question"]) for r in rows}) == len(rows)
    sft = load_dataset(str(grow), "sft", split="train", cache_dir=str(tmp_path / "hf"))
    assert sft.num_rows == len(rows)
    manifest = json.loads((grow / "manifest.json").read_text())
    assert [r["seed"] for r in manifest["runs"]] == [1, 2]
    # A run whose questions are all there already adds nothing and says so.
    again = tmp_path / "again"
    build(validate_config({**TINY, "seed": 1, "name": "other-name"}), again)
    assert append_corpus(again, grow)["duplicates"] == len(_records(again))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prefect_server(tmp_path):
    """A real `prefect server start` on loopback with its own SQLite database and a fast scheduler."""
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
        time.sleep(0.5)
    else:
        raise AssertionError("prefect server did not start: " + (tmp_path / "server.log").read_text()[-3000:])
    yield url, env
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


def test_a_served_schedule_grows_the_dataset_with_new_data_each_run(tmp_path, prefect_server):
    url, server_env = prefect_server
    cfg = tmp_path / "nightly.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    runs, grow = tmp_path / "runs", tmp_path / "growing"
    env = {
        **os.environ,
        "PREFECT_API_URL": url,
        "PREFECT_HOME": server_env["PREFECT_HOME"],
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reasonmill.pipelines.cli",
            "schedule",
            str(cfg),
            "--out",
            f"{runs}/{{timestamp}}",
            "--interval",
            "8",
            "--append-to",
            str(grow),
            "--name",
            "nightly-test",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        manifest: dict = {}
        while time.monotonic() < deadline:
            if (grow / "manifest.json").exists():
                manifest = json.loads((grow / "manifest.json").read_text())
                if len(manifest["runs"]) >= 2:
                    break
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(1)
        assert len(manifest.get("runs", [])) >= 2, (tmp_path / "serve.log").read_text()[-3000:]
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
        log.close()
    r1, r2 = manifest["runs"][:2]
    assert r1["seed"] != r2["seed"]
    ids1, ids2 = ({r["id"] for r in _records(Path(r["source"]))} for r in (r1, r2))
    assert ids1 and ids2 and not ids1 & ids2  # different data every run
    rows = _records(grow)
    assert (
        len({text_fingerprint(r["question"]) for r in rows})
        == len(rows)
        == sum(r["added"] for r in manifest["runs"])
    )
    assert r1["added"] > 0 and r2["added"] > 0
