"""The server fixture's own promises, on a second server of the tiny model: it answers once
started, comes back on the same port after a SIGKILL, stops without leaving a process, and a
start-up that cannot succeed fails at once with the server's own words."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from .server import LlamaCppServer


def test_kill_restart_stop_leaves_no_process(tiny_model, tmp_path):
    # Server behaviour: GET /v1/models answers once the model is loaded; after SIGKILL the port
    # refuses connections; a restart on the same port serves again; SIGTERM ends it.
    server = LlamaCppServer(tiny_model.gguf, tmp_path / "server.log")
    try:
        server.start()
        assert server.get("/models")["data"][0]["id"] == server.alias
        pid = server.proc.pid
        server.kill()
        assert not server.alive()
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(server.url + "/models", timeout=2)
        server.start()
        assert server.proc.pid != pid and server.get("/models")["data"]
        assert server.starts == 2
    finally:
        server.stop()
    assert server.leftovers() == []
    assert [m for m, p, _ in server.requests() if p == "/v1/models"]  # the readiness checks were logged


def test_a_start_that_cannot_succeed_fails_fast_with_the_log(tmp_path):
    # Server behaviour: a model file llama.cpp cannot load makes the process exit during start-up.
    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(b"GGUF but not really")
    server = LlamaCppServer(bad, tmp_path / "server.log", startup_timeout_s=60)
    with pytest.raises(RuntimeError, match="exited with") as info:
        server.start()
    assert "=== start 1" in str(info.value)
    assert server.leftovers() == []
