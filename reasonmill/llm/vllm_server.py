"""vLLM as a managed server: start `vllm serve` as a subprocess, wait for health, talk HTTP, stop it.

Why a subprocess: vLLM pins torch, FastAPI and transformers versions that conflict with Prefect,
so it lives in its own virtual environment (typically on the GPU machine) and reasonmill only
runs its command. The command is the user's, as a list, with placeholders filled in:
`{port}`, `{host}`, `{model}`, `{replica}`. For example::

    {"kind": "vllm_server", "model": "Qwen/Qwen3-8B",
     "command": ["/opt/vllm-env/bin/vllm", "serve", "{model}", "--host", "{host}", "--port", "{port}"],
     "replicas": 2, "replica_env": [{"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": "1"}]}

Lifecycle (`ManagedServer`):
- `start()`: picks a free port unless one is given, starts the command in its own process group
  (vLLM forks engine and worker processes; stopping the group stops them all), stdout and
  stderr to a log file, then polls `GET {health_path}` (vLLM's `/health`; `/v1/models` works
  too) until it answers 200. If the process exits first, or `startup_timeout_s` passes,
  it raises `LLMServerError` with the exit code and the log's last lines, and cleans up.
- `stop()`: SIGTERM to the group, wait `stop_timeout_s`, then SIGKILL; idempotent, also run at
  interpreter exit; and a watchdog process beside each server stops it when the process that
  started it dies in any way (SIGKILL included), so a killed build leaves no GPU-holding orphan.

The backend (kind "vllm_server") starts `replicas` servers and serves requests through the
OpenAI-compatible backend with all of them as endpoints; `close()` stops them.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field

from reasonmill.errors import LLMServerError
from reasonmill.llm.base import BaseBackend
from reasonmill.llm.openai_compat import ClientOptions, OpenAICompatBackend, OpenAICompatConfig
from reasonmill.llm.registry import BACKENDS, BackendKind
from reasonmill.llm.types import Completion, Message, MessageLike, SamplingParams


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free now (a race with other binders is possible but rare)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


WATCHDOG = r"""
import os, signal, sys, time
pgid, grace = int(sys.argv[1]), float(sys.argv[2])
if sys.stdin.read() == "":
    # The process that started the server is gone (EOF without "stop"): take the server down.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                sys.exit(0)
            time.sleep(0.1)
"""
"""A tiny reaper beside each managed server: it waits on a pipe from the process that started the
server and, if that process dies without saying "stop" (SIGKILL included), stops the server's
process group, so no GPU-holding server outlives its build."""


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class ManagedServer:
    """One server subprocess with a health check; use as a context manager or start()/stop()."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        model: str = "",
        host: str = "127.0.0.1",
        port: int | None = None,
        health_path: str = "/health",
        startup_timeout_s: float = 900.0,
        stop_timeout_s: float = 30.0,
        log_path: str | Path | None = None,
        env: dict[str, str] | None = None,
        replica: int = 0,
    ) -> None:
        if not command:
            raise LLMServerError("the server command is empty")
        self.host, self.port = host, port or free_port(host)
        fill = {"port": str(self.port), "host": host, "model": model, "replica": str(replica)}
        self.command = [part.format(**fill) for part in command]
        self.health_path = health_path
        self.startup_timeout_s, self.stop_timeout_s = startup_timeout_s, stop_timeout_s
        if log_path is None:
            log_path = Path(tempfile.gettempdir()) / f"reasonmill-server-{os.getpid()}-{self.port}.log"
        self.log_path = Path(str(log_path).format(**fill))
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of this server."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> ManagedServer:
        """Start the process and block until healthy (raises `LLMServerError` otherwise)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps writing after we return
        try:
            self.proc = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        except OSError as e:
            log.close()
            raise LLMServerError(f"cannot run {self.command[0]!r}: {e}") from None
        log.close()
        atexit.register(self.stop)
        # In its own session too, so a kill of the build's process group does not take it along.
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(self.proc.pid), str(self.stop_timeout_s)],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
        url = f"http://{self.host}:{self.port}{self.health_path}"
        deadline = time.monotonic() + self.startup_timeout_s
        with httpx.Client(timeout=5.0) as client:
            while True:
                code = self.proc.poll()
                if code is not None:
                    self.stop()
                    raise LLMServerError(
                        f"server command exited with code {code} before becoming healthy: "
                        f"{' '.join(self.command)}\nlast lines of {self.log_path}:\n{_tail(self.log_path)}"
                    )
                try:
                    if client.get(url).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise LLMServerError(
                        f"server not healthy at {url} after {self.startup_timeout_s:g} s; "
                        f"last lines of {self.log_path}:\n{_tail(self.log_path)}"
                    )
                time.sleep(0.25)

    def running(self) -> bool:
        """Is the process alive?"""
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL after `stop_timeout_s`; idempotent."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        if proc.poll() is None:
            self._signal(proc, signal.SIGTERM)
            try:
                proc.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)
                proc.wait(10)
        # Children that ignored SIGTERM while the leader exited: make sure the group is gone.
        self._signal(proc, signal.SIGKILL)
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            try:
                assert watchdog.stdin is not None
                watchdog.stdin.write(b"stop")
                watchdog.stdin.close()
            except (OSError, ValueError):
                pass
            watchdog.wait(10)

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> ManagedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class VllmServerConfig(ClientOptions):
    """Config of kind "vllm_server": the command that serves the model, and the client options."""

    # How the server is run (not what it answers): operational, left out of resume keys.
    _RUN: ClassVar[frozenset[str]] = frozenset(
        {
            "host",
            "port",
            "replicas",
            "replica_env",
            "env",
            "health_path",
            "startup_timeout_s",
            "stop_timeout_s",
            "log_path",
        }
    )
    operational: ClassVar[frozenset[str]] = ClientOptions.operational | _RUN
    # Not client options: what the server is, and how it is run.
    server_fields: ClassVar[frozenset[str]] = _RUN | {"kind", "model", "command"}

    kind: Literal["vllm_server"] = "vllm_server"
    model: str
    command: list[str] = Field(
        default_factory=lambda: ["vllm", "serve", "{model}", "--host", "{host}", "--port", "{port}"],
        description="argv with {model} {host} {port} {replica} placeholders",
    )
    host: str = "127.0.0.1"
    port: int | None = Field(
        None, description="fixed port of replica 0 (replica i uses port + i); default: free ports"
    )
    replicas: int = Field(1, ge=1)
    replica_env: list[dict[str, str]] = Field(default_factory=list, description="extra env per replica")
    env: dict[str, str] = Field(default_factory=dict)
    health_path: str = "/health"
    startup_timeout_s: float = Field(900.0, gt=0)
    stop_timeout_s: float = Field(30.0, gt=0)
    log_path: str | None = Field(None, description="log file; may use {replica} and {port}")

    def servers(self) -> list[ManagedServer]:
        """One (not yet started) `ManagedServer` per replica."""
        out = []
        for i in range(self.replicas):
            env = {**self.env, **(self.replica_env[i] if i < len(self.replica_env) else {})}
            out.append(
                ManagedServer(
                    self.command,
                    model=self.model,
                    host=self.host,
                    port=self.port + i if self.port else None,
                    health_path=self.health_path,
                    startup_timeout_s=self.startup_timeout_s,
                    stop_timeout_s=self.stop_timeout_s,
                    log_path=self.log_path,
                    env=env,
                    replica=i,
                )
            )
        return out

    def client_config(self, base_urls: list[str]) -> OpenAICompatConfig:
        """The "openai" config that talks to running servers at `base_urls` with these options."""
        options = self.model_dump(exclude=set(self.server_fields))
        return OpenAICompatConfig(model=self.model, base_url=base_urls, **options)


def start_servers(config: VllmServerConfig) -> list[ManagedServer]:
    """Start every replica and wait until all are healthy; on any failure stop the ones started."""
    servers = config.servers()
    try:
        for server in servers:
            server.start()
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers


class VllmServerBackend(BaseBackend):
    """Starts the servers, then behaves as an "openai" backend over them; `close()` stops them.

    A build does not use this class directly: it starts the servers of a `vllm_server` backend
    once (`start_servers`) and shares them between stages and shards through "openai" clients
    (`VllmServerConfig.client_config`); this class is the same thing for a single user.
    """

    def __init__(self, config: VllmServerConfig) -> None:
        self.config = config
        self.model_id = config.model
        self.banned_max_tries = config.banned_max_tries
        self.servers = start_servers(config)
        try:
            self.client = OpenAICompatBackend(config.client_config([s.base_url for s in self.servers]))
        except BaseException:
            for s in self.servers:
                s.stop()
            raise
        self.stats = self.client.stats

    def generate(
        self, conversations: Sequence[Sequence[MessageLike]], sampling: SamplingParams
    ) -> list[list[Completion]]:
        """See `OpenAICompatBackend.generate`."""
        return self.client.generate(conversations, sampling)

    def _continue(
        self,
        conversations: list[list[Message]],
        prefixes: list[str],
        sampling: SamplingParams,
        banned: Sequence[str],
    ) -> list[list[Completion]]:
        return self.client._continue(conversations, prefixes, sampling, banned)

    def capabilities(self, probe: bool = True) -> dict[str, Any]:
        """See `OpenAICompatBackend.capabilities`."""
        return self.client.capabilities(probe)

    def probe(self, prefix: bool = True) -> dict[str, Any]:
        """See `OpenAICompatBackend.probe`."""
        return self.client.probe(prefix)

    def adopt(self, capabilities: dict[str, Any]) -> None:
        """See `OpenAICompatBackend.adopt`."""
        self.client.adopt(capabilities)

    def close(self) -> None:
        """Close the client and stop every server; idempotent."""
        try:
            self.client.close()
        finally:
            for s in self.servers:
                s.stop()


BACKENDS.register("vllm_server", BackendKind(VllmServerConfig, VllmServerBackend))
