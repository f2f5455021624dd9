"""Managed server lifecycle, with the loopback server standing in for `vllm serve`."""

from __future__ import annotations

import os
import sys
import time

import pytest

from reasonmill.errors import LLMServerError
from reasonmill.llm.registry import make_backend
from reasonmill.llm.types import SamplingParams
from reasonmill.llm.vllm_server import ManagedServer

from .conftest import user

STAND_IN = [
    sys.executable,
    "-m",
    "reasonmill.testing.loopback",
    "--host",
    "{host}",
    "--port",
    "{port}",
    "--model",
    "{model}",
    "--startup-delay",
    "0.3",
]


def gone(pid: int) -> bool:
    """True when no process `pid` exists (a zombie we reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_backend_starts_serves_and_stops_the_server(tmp_path):
    b = make_backend(
        {
            "kind": "vllm_server",
            "model": "tiny",
            "command": STAND_IN,
            "replicas": 2,
            "log_path": str(tmp_path / "server-{replica}.log"),
            "startup_timeout_s": 30,
        }
    )
    pids = [s.proc.pid for s in b.servers]
    try:
        out = b.generate([user(f"q{i}") for i in range(6)], SamplingParams())
        assert [r[0].text for r in out] == [f"echo 0: q{i}" for i in range(6)]
        assert out[0][0].model == "tiny"
        assert "loopback server on" in (tmp_path / "server-0.log").read_text()
        assert (tmp_path / "server-1.log").exists()
    finally:
        b.close()
    assert all(gone(p) for p in pids)
    b.close()  # idempotent


def test_command_that_exits_at_once_is_a_clear_error(tmp_path):
    cmd = [sys.executable, "-c", "import sys; print('CUDA out of memory'); sys.exit(3)"]
    with pytest.raises(LLMServerError, match=r"exited with code 3(.|\n)*CUDA out of memory"):
        ManagedServer(cmd, log_path=tmp_path / "log.txt").start()


def test_missing_executable_is_a_clear_error():
    with pytest.raises(LLMServerError, match="cannot run"):
        ManagedServer(["/nonexistent/vllm", "serve"]).start()


def test_never_healthy_times_out_and_leaves_no_process(tmp_path):
    server = ManagedServer(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        startup_timeout_s=1.0,
        log_path=tmp_path / "log.txt",
    )
    with pytest.raises(LLMServerError, match="not healthy"):
        server.start()
    assert server.proc is None


def test_stubborn_server_is_killed_after_the_grace_period(tmp_path):
    code = (
        "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "from reasonmill.testing.loopback import main; main(['--port', '{port}'])"
    )
    server = ManagedServer([sys.executable, "-c", code], stop_timeout_s=0.5, log_path=tmp_path / "log.txt")
    with server:
        pid = server.proc.pid
        assert server.running()
    t0 = time.monotonic()
    assert gone(pid)
    assert time.monotonic() - t0 < 5


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
                members.append(int(entry))
    return members


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
def test_children_of_the_server_are_stopped_too(tmp_path):
    # vLLM forks engine and worker processes; stopping must take the whole process group.
    cmd = ["sh", "-c", f"sleep 300 & exec {sys.executable} -m reasonmill.testing.loopback --port {{port}}"]
    server = ManagedServer(cmd, log_path=tmp_path / "log.txt").start()
    pgid = server.proc.pid
    assert len(_group_members(pgid)) == 2  # the server and its sleeping child
    server.stop()
    time.sleep(0.2)
    assert _group_members(pgid) == []
