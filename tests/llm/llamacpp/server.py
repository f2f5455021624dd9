"""One llama.cpp server process (`python -m llama_cpp.server`) on loopback, owned by a test.

`LlamaCppServer` starts the server on a fixed port with a small context, a fixed seed and one
thread, waits until GET /v1/models answers, and stops it (SIGTERM, then SIGKILL) so that no
process is left behind; `kill()` is the outage a test injects (SIGKILL, no goodbye) and `start()`
brings the server back on the same port, so backends configured with its URL reconnect.

Requests are counted from the server's own access log (uvicorn writes one line per request before
the reply goes out), so a count is what the real server received, not what a client believes it
sent; the log is appended across restarts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

_REQUEST_LINE = re.compile(r'"(GET|POST) (/[^ ]*) HTTP/1\.[01]" (\d{3})')


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaCppServer:
    """A llama-cpp-python server for `gguf` on 127.0.0.1:`port`, log in `log_path`."""

    def __init__(
        self,
        gguf: Path,
        log_path: Path,
        *,
        port: int | None = None,
        alias: str = "tiny-llama",
        n_ctx: int = 1024,
        seed: int = 1234,
        threads: int = 1,
        startup_timeout_s: float = 120.0,
    ) -> None:
        self.gguf, self.log_path = Path(gguf), Path(log_path)
        self.port = port or free_port()
        self.alias, self.n_ctx, self.seed, self.threads = alias, n_ctx, seed, threads
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []  # every process this object started, for the orphan checks
        self.starts = 0

    @property
    def url(self) -> str:
        """The OpenAI base URL, `http://127.0.0.1:PORT/v1`."""
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line."""
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.gguf),
            "--model_alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--seed",
            str(self.seed),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
            "--verbose",
            "False",
        ]

    def start(self) -> None:
        """Start the process and wait until it answers GET /v1/models (RuntimeError with the log's
        tail if it exits or does not answer within `startup_timeout_s`)."""
        if self.alive():
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start {self.starts + 1}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: a stop reaches everything it spawned
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.pids.append(self.proc.pid)
        self.starts += 1
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"llama.cpp server exited with {self.proc.returncode} during start-up:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(
            f"llama.cpp server did not answer in {self.startup_timeout_s}s:\n{self.log_tail()}"
        )

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL after `grace_s`, reap; idempotent."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(grace_s)
        _signal_group(self.proc.pid, signal.SIGKILL)  # anything left in its group
        self.proc = None

    def kill(self) -> None:
        """SIGKILL the server (an outage: in-flight requests see the connection drop)."""
        if self.proc is not None and self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def kill_after(self, n_posts: int, poll_s: float = 0.005, timeout_s: float = 300.0) -> threading.Event:
        """SIGKILL the server from a watcher thread once it has logged `n_posts` more POSTs than
        now; the returned event is set when it did (the watcher gives up after `timeout_s`)."""
        done, target = threading.Event(), self.posts() + n_posts
        deadline = time.monotonic() + timeout_s

        def watch() -> None:
            while self.alive() and time.monotonic() < deadline:
                if self.posts() >= target:
                    self.kill()
                    done.set()
                    return
                time.sleep(poll_s)

        threading.Thread(target=watch, name="llamacpp-killer", daemon=True).start()
        return done

    def leftovers(self) -> list[int]:
        """Pids (or process groups) this object started that still exist: [] means no orphan."""
        left = []
        for pid in self.pids:
            for probe in (os.kill, os.killpg):
                try:
                    probe(pid, 0)
                except ProcessLookupError:
                    continue
                except PermissionError:
                    pass
                if not _is_zombie(pid):
                    left.append(pid)
                    break
        return left

    # -- what the server saw -------------------------------------------------------------------

    def log_text(self) -> str:
        """The whole log (all starts)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        """The log's last lines."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request the server logged, in order."""
        return [(m, p, int(s)) for m, p, s in _REQUEST_LINE.findall(self.log_text())]

    def posts(self, path: str | None = None) -> int:
        """How many POSTs (to `path`, or to any path) the server logged."""
        return sum(1 for m, p, _ in self.requests() if m == "POST" and (path is None or p == path))

    # -- raw HTTP, for the observation tests -----------------------------------------------------

    def post(self, path: str, body: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        """POST `body` as JSON to `/v1{path}` and return the decoded reply (HTTPError raises)."""
        req = urllib.request.Request(
            self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def get(self, path: str) -> dict[str, Any]:
        """GET `/v1{path}`, decoded."""
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.loads(r.read())

    def tokenize(self, text: str) -> list[int]:
        """The server's own tokenization of `text` (POST /extras/tokenize; special tokens parsed)."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/extras/tokenize",
            json.dumps({"input": text}).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return list(json.loads(r.read())["tokens"])

    def __enter__(self) -> LlamaCppServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
