"""A `vllm_server` backend in a build: started once per replica for the whole build, shared by every
stage and shard, stopped at the end however the build ends, a start-up failure reported once.

The stand-in for `vllm serve` is the loopback server's CLI, which appends its pid to a file when it
starts, so the test counts starts and checks every server process is gone afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from reasonmill.config import validate_config
from reasonmill.errors import LLMServerError
from reasonmill.pipelines.runner import build

REPLY = "<think>\\nI add the numbers.\\n</think>\\n\\nThe answer is \\\\boxed{{0}}."  # {{ }}: the command is a format template


def _config(started: Path, replicas: int = 2, health: str = "/health", timeout: float = 60) -> dict:
    command = [
        sys.executable,
        "-m",
        "reasonmill.testing.loopback",
        "--port",
        "{port}",
        "--started-file",
        str(started),
        "--reply",
        REPLY,
    ]
    return {
        "name": "managed",
        "shard_rows": 8,
        "seeds": [{"generator": "arithmetic_chain", "count": 24}],  # 3 shards
        "compose": {"rules": []},
        "distill": {"backend": "served", "samples": 2},
        # keep the (wrong) traces so the student is asked too: two LLM stages, every shard
        "verify": {"require_passing_trace": False},
        "retro_search": {"enabled": False},
        "score": {"student": {"backend": "served", "k": 2}},
        "llm": {
            "backends": {
                "served": {
                    "kind": "vllm_server",
                    "model": "stand-in",
                    "command": command,
                    "replicas": replicas,
                    "health_path": health,
                    "startup_timeout_s": timeout,
                    "stop_timeout_s": 5,
                }
            }
        },
    }


def _pids(started: Path) -> list[int]:
    return [int(x) for x in started.read_text().split()] if started.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of ours would still answer kill(0); read its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_gone(pids: list[int], seconds: float = 15) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def test_one_server_per_replica_for_the_whole_build_and_none_left(tmp_path):
    started = tmp_path / "started.txt"
    manifest = build(validate_config(_config(started)), tmp_path / "out")
    pids = _pids(started)
    assert len(pids) == 2  # two replicas, once each: not once per stage or shard
    assert manifest["stages"]["distill"]["counts"]["extra"]["llm_requests"] > 0
    assert manifest["stages"]["score"]["counts"]["extra"]["llm_requests"] > 0
    assert manifest["llm"]["served"]["stages"] == ["distill", "score"]
    assert _wait_gone(pids) == []


def test_the_prefect_flow_also_starts_it_once(tmp_path):
    from reasonmill.pipelines.flows import run_build

    started = tmp_path / "started.txt"
    run_build(validate_config(_config(started, replicas=1)), tmp_path / "out", workers=2)
    pids = _pids(started)
    assert len(pids) == 1 and _wait_gone(pids) == []


def test_a_failing_start_up_is_reported_once_within_its_timeout(tmp_path):
    started = tmp_path / "started.txt"
    cfg = validate_config(_config(started, replicas=1, health="/not-served", timeout=3))
    t0 = time.monotonic()
    with pytest.raises(LLMServerError, match="not healthy") as err:
        build(cfg, tmp_path / "out")
    assert time.monotonic() - t0 < 15
    assert "last lines of" in str(err.value)
    assert len(_pids(started)) == 1  # started once, not retried
    assert _wait_gone(_pids(started)) == []


def test_no_server_outlives_a_sigkilled_build(tmp_path):
    started = tmp_path / "started.txt"
    cfg_file = tmp_path / "c.yaml"
    cfg = _config(started, replicas=2)
    cfg["llm"]["backends"]["served"]["command"] += ["--latency", "0.3"]  # slow enough to be killed mid-build
    cfg_file.write_text(yaml.safe_dump(cfg))
    code = "import sys; from reasonmill.config import load_config; from reasonmill.pipelines.runner import build; build(load_config(sys.argv[1]), sys.argv[2])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(cfg_file), str(tmp_path / "out")], start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_pids(started)) < 2:
        time.sleep(0.1)
    time.sleep(1.0)
    assert proc.poll() is None, "the build ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    pids = _pids(started)
    assert len(pids) == 2
    assert _wait_gone(pids) == [], "a managed server outlived its build"
